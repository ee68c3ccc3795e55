"""Engine sinks for the pipeline building blocks: Azure DevOps logging commands, JUnit, shard.

The building blocks in :mod:`hpccache_cli.pipelines` know nothing of the engine (they take any
:class:`~hpccache_cli.pipelines.FileResultLike`); these thin adapters give them what only the
engine has: the live :class:`FlushSummary` (done/total for the progress percentage, the
run's wall-clock time for the JUnit suite) and the moment the run ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hpccache_cli.flush.outputs import OutputFile
from hpccache_cli.flush.results import FileResult, FlushSummary
from hpccache_cli.flush.sinks import Sink
from hpccache_cli.pipelines import is_failure, outcome_of
from hpccache_cli.pipelines.vso import PipelineLog

if TYPE_CHECKING:  # the JUnit writer is imported by --junit runs alone
    from hpccache_cli.pipelines.junit import JUnitReport

#: A file that needed this many write-back starts (the first one included) is a retry storm:
#: the back end kept refusing or failing its write-back, and it is worth a warning even when
#: it finally succeeded. 3 = at least two restarts; one restart is routine.
RETRY_STORM_ATTEMPTS = 3


class PipelineLogSink(Sink):
    """``##vso[...]`` logging commands: an issue per failed or skipped file (capped, see
    :class:`PipelineLog`), a warning per retry storm, and the progress percentage.

    Progress needs the total: from the start when the input's records were counted (a
    regular ``--from-file``), else only once the whole input has been read, because a
    percentage of the paths known so far would run backwards as more arrive
    (``find | hpccache flush``).
    """

    #: Under ``--fallback target-flush`` its per-file errors wait for the fallback (as the
    #: report's lines do), so a file a target flush wrote back leaves no stale ##vso error.
    record = True

    def __init__(self, log: PipelineLog, *, storm_attempts: int = RETRY_STORM_ATTEMPTS) -> None:
        # Not ``self.log``: that would hide Sink.log(), which the engine calls for run events
        # (a retry, an address that does not answer) and which must stay a method.
        self.pipeline_log = log
        self.storm_attempts = storm_attempts
        self.summary: FlushSummary | None = None

    def attach(self, summary: FlushSummary) -> None:
        self.summary = summary

    def emit(self, result: FileResult) -> None:
        self.pipeline_log.on_result(result)
        # A failed file already has its error, which says how many attempts it took.
        if result.attempts >= self.storm_attempts and not is_failure(outcome_of(result)):
            self.pipeline_log.retry_storm(result.path, result.attempts)
        s = self.summary
        if s is not None:
            self.pipeline_log.progress(s.done, s.total_estimate)

    def finish(self, summary: FlushSummary, allow_partial: bool) -> int:
        """The last progress, unlisted-issue counts, output variables and, with
        ``allow_partial`` and failures, SucceededWithIssues; PipelineLog's exit code."""
        if summary.input_complete:
            self.pipeline_log.progress(summary.done, summary.total)
        counts: dict[str, int] = dict(summary.counts)
        counts["total"] = summary.total
        return self.pipeline_log.finish(counts, allow_partial)


class JUnitSink(Sink):
    """``--junit FILE``: one test case per result; the file is written when the run closes
    its sinks, also after a failure or an interrupt (what did finish is worth publishing),
    as the other records are (:class:`~hpccache_cli.flush.outputs.OutputFile`: beside the
    target and renamed; a FIFO's reader waited for a bounded time, ``on_wait`` told,
    a signal during it (``signals``: the caller's count) cutting it short)."""

    record = True

    def __init__(self, report: JUnitReport, *, on_wait: Callable[[str], None] | None = None,
                 signals: Callable[[], int] | None = None) -> None:
        self.report = report
        self.label = f"--junit {report.path}"
        self.summary: FlushSummary | None = None
        self.on_wait = on_wait
        self.signals = signals

    def attach(self, summary: FlushSummary) -> None:
        self.summary = summary

    def emit(self, result: FileResult) -> None:
        self.report.add(result)

    def close(self) -> None:
        # The engine's own run time when it has one (it stops the clock before the sinks
        # close); else the report's clock since it was opened.
        seconds = self.summary.seconds if self.summary is not None else 0.0
        out = OutputFile.open(self.report.path, "--junit", on_wait=self.on_wait,
                              signals=self.signals)
        try:
            self.report.close(seconds if seconds > 0 else None,
                              write=lambda text: out.write(text.encode("utf-8")))
            out.commit()
        finally:
            out.abandon()  # (nothing after a commit)

    def abandon(self) -> None:
        self.report.close(write=lambda _text: None)  # drop the test cases: nothing published


class ShardMark(Sink):
    """Marks the run's summary as shard ``k`` of ``n``, so the summary (text and ``-o json``)
    says which share this was and how many input paths were left to the other jobs."""

    def __init__(self, k: int, n: int) -> None:
        self.shard = (k, n)

    def attach(self, summary: FlushSummary) -> None:
        summary.shard = self.shard


__all__ = ["RETRY_STORM_ATTEMPTS", "JUnitSink", "PipelineLogSink", "ShardMark"]
