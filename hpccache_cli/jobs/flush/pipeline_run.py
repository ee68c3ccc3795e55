"""What ``hpccache flush`` does for pipelines and scripts besides flushing: ``--shard``,
``--junit``, Azure DevOps logging commands (``TF_BUILD``) and ``--allow-partial``.

One object, built from the command line, hooks into :func:`hpccache_cli.jobs.flush.job.run`
at three points, so the runner stays a list of steps and this logic lives in one place:

1. :meth:`PipelineRun.wrap` the resolver (``--shard``: other jobs' paths are dropped);
2. :meth:`PipelineRun.open_sinks` before the run (the JUnit file's directory is checked
   here, before any file is flushed);
3. :meth:`PipelineRun.finish` after it, which writes the output variables and decides the
   exit code.

Logging commands go to stdout, except with a machine format (any ``-o`` but text, or
``--query``): stdout then holds only the summary (scripts parse it) and the commands go to
stderr, which the agent scans just the same.
``flush-file`` and ``demo`` do not build a PipelineRun: flush-file's output must stay
flush_file.py's, and the demo is not a pipeline step.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hpccache_cli.errors import EXIT_OK, EXIT_SOME_FAILED
from hpccache_cli.flush.resolve import Resolver
from hpccache_cli.flush.results import FlushSummary
from hpccache_cli.flush.sinks import Sink
from hpccache_cli.jobs.flush.pipeline_sinks import JUnitSink, PipelineLogSink, ShardMark
from hpccache_cli.jobs.flush.shard_resolve import ShardResolver
from hpccache_cli.pipelines.guard import command_stream
from hpccache_cli.pipelines.schedulers import read_pbs_range_with_qstat
from hpccache_cli.pipelines.shard import find_shard
from hpccache_cli.pipelines.text import display_name
from hpccache_cli.pipelines.vso import PipelineLog, detect


@dataclass
class PipelineRun:
    """The pipeline options of one flush run (see the module docstring for the hooks)."""

    junit: str | None = None  # --junit FILE
    shard: tuple[int, int] | None = None  # --shard K/N or auto, parsed: (k, n)
    log_commands: bool = False  # TF_BUILD=True and no --no-pipeline-log
    allow_partial: bool = False  # failed files: exit 0 (+ SucceededWithIssues in a pipeline)
    commands_to_stderr: bool = False  # a machine -o (or --query): stdout is the summary's
    shard_note: str | None = None  # what --shard auto read (printed with -v)
    _log: PipelineLogSink | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_options(
        cls,
        *,
        junit: str | None,
        shard: str | None,
        pipeline_log: bool,
        allow_partial: bool,
        json_output: bool,  # any machine format on stdout (-o but text, --query): not only json
        environ: Mapping[str, str],
    ) -> PipelineRun:
        """From the command line and the environment; a bad ``--shard`` is a UsageError
        (exit 2) here, before any input is read."""
        found = (find_shard(shard, environ, read_pbs_range_with_qstat)
                 if shard is not None else None)
        return cls(
            junit=junit,
            shard=(found.k, found.n) if found is not None else None,
            shard_note=(found.describe() if found is not None and shard is not None
                        and shard.strip().lower() == "auto" else None),
            log_commands=pipeline_log and detect(environ),
            allow_partial=allow_partial,
            commands_to_stderr=json_output,
        )

    def wrap(self, resolver: Resolver) -> Resolver:
        """The resolver the engine uses: with ``--shard``, one that drops other jobs' paths.

        Only the engine gets it: ``--fallback`` places failed files with the locator of the
        same :class:`~hpccache_cli.jobs.flush.values.Naming`, never through this wrapper.
        """
        if self.shard is None:
            return resolver
        return ShardResolver(resolver, *self.shard)

    def open_sinks(self, report: str | None = None, failed_to: str | None = None, *,
                   on_wait: Callable[[str], None] | None = None,
                   signals: Callable[[], int] | None = None) -> list[Sink]:
        """The sinks for this run. Opening the JUnit report fails at once (UsageError, exit 2)
        when its directory cannot be written, so a typo costs seconds, not a whole run.

        ``report`` and ``failed_to`` (--report, --failed-to) are only named in the line that
        counts the failures over the cap of listed issues: they, and --junit, hold them all.
        ``on_wait`` and ``signals`` are the JUnit file's (written at the end): see
        :class:`~hpccache_cli.jobs.flush.pipeline_sinks.JUnitSink`.
        """
        sinks: list[Sink] = []
        if self.shard is not None:
            sinks.append(ShardMark(*self.shard))
        if self.junit:
            from hpccache_cli.pipelines.junit import JUnitReport  # (only --junit needs it)

            sinks.append(JUnitSink(JUnitReport(self.junit), on_wait=on_wait,
                                   signals=signals))
        if self.log_commands:
            stream = sys.stderr if self.commands_to_stderr else sys.stdout
            # Past the TF_BUILD guard that neutralises every other "##vso[" (pipelines.guard).
            outputs = [(opt, name) for opt, name in (
                ("--report", report), ("--junit", self.junit), ("--failed-to", failed_to))
                if name]
            listed_in = ", ".join(f"{opt} {display_name(name)}" for opt, name in outputs)
            self._log = PipelineLogSink(
                PipelineLog(command_stream(stream), listed_in=listed_in))
            sinks.append(self._log)
        return sinks

    def finish(self, summary: FlushSummary, code: int) -> int:
        """Write the output variables (and SucceededWithIssues); return the run's exit code.

        ``--allow-partial`` turns exit 1 (some files failed or were not finished) into 0, in
        a pipeline marking the step "succeeded with issues". Every other code stands:
        interrupted 130, unreachable 4, bad input 2 still fail the step, so no
        SucceededWithIssues is written for them.
        """
        partial = self.allow_partial and code == EXIT_SOME_FAILED
        if self._log is not None:
            self._log.finish(summary, partial)
        return EXIT_OK if partial else code


__all__ = ["PipelineRun"]
