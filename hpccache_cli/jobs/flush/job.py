"""One flush, from a :class:`FlushRequest` to a :class:`FlushOutcome`: input source, naming,
records, pipeline sinks, the engine under signal handling, ``--fallback``, the exit code.

Why here and not in the command: the same run serves ``hpccache flush``, ``flush-file``,
``demo`` and a Python caller, and only the first three have a command line. The command
builds the request, passes its console (a factory: the Rich bar is made only when the run
gets that far, as before) and renders the outcome; what the run itself must say while it runs
(a wait on a FIFO's reader, a name a record could not hold) goes to ``notice`` (stderr by
default).

``on_outcome`` is called with the outcome while the run's signal handling is still in place
and before this run's temporary files are removed, so a signal during the summary is noted,
not a traceback: the command prints its summary there (:mod:`hpccache_cli.cli.flush.runner`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hpccache_cli.errors import (
    EXIT_AZURE,
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    UsageError,
    fill_fields,
)
from hpccache_cli.flush.export_guard import ExportGuard
from hpccache_cli.flush.inputs import PathSource, StrippedSource, open_source
from hpccache_cli.flush.leftovers import remove_own
from hpccache_cli.flush.results import FlushSummary, Outcome
from hpccache_cli.flush.sinks import JsonlReport, LiveOutput, MultiSink, RecordFile, Sink
from hpccache_cli.jobs.flush.interrupts import Interrupted, Interrupts
from hpccache_cli.jobs.flush.naming import build_resolver
from hpccache_cli.jobs.flush.no_input import NothingToRead, make_engine
from hpccache_cli.jobs.flush.records import check_outputs_of, open_records
from hpccache_cli.jobs.flush.streams import announce, quiet_stream, to_stderr
from hpccache_cli.jobs.flush.values import FlushRequest, Naming
from hpccache_cli.pipelines.text import plural

if TYPE_CHECKING:  # the engine (asyncio, the NFS client) is imported when there is input;
    # the fallback's code with --fallback
    from hpccache_cli.flush.engine import FlushEngine
    from hpccache_cli.jobs.flush.fallback import FallbackReport, TargetFallback
    from hpccache_cli.jobs.flush.fallback_outputs import HeldOutputs

#: Where the run's lines go while it runs (each a whole line, ``hpccache: ...``).
Notice = Callable[[str], None]


@dataclass
class FlushOutcome:
    """What one flush came to: the ``summary`` (counts, and each result if a sink collected
    them), the ``exit_code`` the command line exits with (docs/DEVELOPING.md "Exit codes"),
    the ``fallback``'s report, and why it ended as it did.

    ``messages()`` are the lines the command prints after its summary, in its order; a Python
    caller reads the fields instead.
    """

    request: FlushRequest
    summary: FlushSummary
    exit_code: int
    fallback: FallbackReport | None = None
    #: With --cache and no mount address answering: the cache's state from Azure (stopped,
    #: upgrading, ...), which makes the exit code 3 instead of 4.
    cause: str | None = None
    #: The records' write errors (each makes the exit code 2).
    problems: list[str] = field(default_factory=list)
    #: The first signal the run handled ("" none).
    signal: str = ""
    #: A signal came before any file was flushed: nothing was written, no summary.
    stopped_before_run: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def messages(self) -> list[str]:
        """The lines said after the summary (on stderr), as the command line says them."""
        s, request = self.summary, self.request
        if self.stopped_before_run:
            return [f"hpccache: interrupted ({self.signal}) before any file was flushed: no "
                    "output was written, old files are as they were"]
        if self.cause:
            return [f"hpccache: error: {self.cause}"]
        unreachable = unreachable_line(request, s, self.exit_code)
        if unreachable:
            return [unreachable]
        lines = [f"hpccache: error: {line}" for line in self.problems]
        if s.input_error:
            lines.append(f"hpccache: error: {s.input_error}")
        if not self.problems and not s.input_error and s.interrupted:
            by = f" ({self.signal})" if self.signal not in ("", "SIGINT") else ""
            lines.append(f"hpccache: interrupted{by}: "
                         f"{plural(s.count(Outcome.UNFINISHED), 'path')} unfinished"
                         + (f" (listed in {request.failed_to})" if request.failed_to else ""))
        return lines


def unreachable_line(request: FlushRequest, summary: FlushSummary, code: int) -> str | None:
    """The one error line of a run whose cache never answered (exit 4), with what to check;
    None otherwise. Said instead of any other problem line (flush, refresh and copy)."""
    if summary.unreachable and code == EXIT_UNREACHABLE:
        return (f"hpccache: error: cache unreachable: {summary.unreachable_reason}; "
                f"{unreachable_hint(request)}")
    return None


def unreachable_hint(request: FlushRequest) -> str:
    """What to check when no mount address answered, for the way the cache was named."""
    if request.cache or request.cache_id:
        return ("check that this machine can reach the cache's mount addresses (hpccache cache "
                "show) and the port options; --refresh re-reads them from Azure")
    if request.ips:
        return fill_fields("check {ips} and the port options", ("ips",),
                           request.options.option_names)
    return "check the NFS mounts of these paths (hpccache path) and the port options"


def open_request_source(request: FlushRequest) -> PathSource:
    """The request's paths as a source: its ``paths``, its ``from_file`` or stdin (not a
    terminal). Bad input is a ``UsageError`` before anything else is done."""
    if not request.paths and request.from_file is None and sys.stdin.isatty():
        raise UsageError("no paths given: name them as arguments, with --from-file FILE, or "
                         "pipe them in (e.g. find ... -print0 | hpccache flush -0 ...)")
    if request.paths and request.from_file is not None:
        raise UsageError("give paths as arguments or with --from-file, not both")
    try:
        source, _label = open_source(request.paths, request.from_file, request.separator)
    except OSError as exc:
        raise UsageError(f"cannot read --from-file {request.from_file}: {exc.strerror}") from None
    return StrippedSource(source) if request.strip else source


def fallback_sink(request: FlushRequest, naming: Naming) -> TargetFallback | None:
    """``--fallback``'s sink (its code is imported only when asked for), else None."""
    if request.fallback is None:
        return None
    from hpccache_cli.jobs.flush.fallback import fallback_for

    return fallback_for(request, naming)


async def run_engine(engine: FlushEngine, source: PathSource,
                     interrupts: Interrupts | None = None) -> FlushSummary:
    """Run with SIGINT, SIGTERM and SIGHUP turned into ``engine.request_stop()`` (the second
    stops input reading too), so an interrupted run still writes its report and failed list
    (:mod:`hpccache_cli.jobs.flush.interrupts`)."""
    import asyncio

    loop = asyncio.get_running_loop()
    own = interrupts is None
    if interrupts is None:  # (a caller without its own: handled for this run only)
        interrupts = Interrupts().install()
        interrupts.hold()
    interrupts.route(loop, engine.request_stop)
    try:
        return await engine.run(source)
    finally:
        interrupts.unroute(loop)
        if own:
            interrupts.restore()
        source.close()


def run_and_settle(
    engine: FlushEngine | NothingToRead, source: PathSource, fallback: TargetFallback | None,
    held: HeldOutputs | None, on_input: Sequence[RecordFile] = (),
    guard: ExportGuard | None = None, interrupts: Interrupts | None = None,
) -> tuple[FlushSummary, FallbackReport | None]:
    """Run the engine, close the live sinks, run the fallback; then, whatever happened, write
    the held-back records (a failure to write them is the run's output error, exit 2).

    A record file that is also the input replaces it only if the input was read to the end:
    otherwise the paths not read would be lost with the old list, which still holds them."""
    summary: FlushSummary | None = None
    report = None
    try:
        try:
            if isinstance(engine, NothingToRead):
                summary = engine.run(source)
            else:
                import asyncio

                summary = asyncio.run(run_engine(engine, source, interrupts))
        finally:
            if summary is None or not summary.input_complete:
                for sink in on_input:
                    sink.keep_old("is also the input, which was not read to the end: left "
                                  "as it was (it still lists every path not done)")
            engine.sink.close()
        if interrupts is not None and interrupts.received:
            summary.interrupted = True  # (also a signal after the engine: no fallback then)
        if guard is not None:
            guard.check()  # --export names no junction: exit 2, before any fallback
        if fallback is not None and interrupts is not None:
            with interrupts.abortable():  # Ctrl-C, SIGTERM, SIGHUP: as Ctrl-C always did
                report = fallback.run(summary)
        else:
            report = fallback.run(summary) if fallback is not None else None
        if report is not None and held is not None:  # a Succeeded target flush: check files
            from hpccache_cli.jobs.flush.fallback_verify import verify_covered

            assert fallback is not None  # (report came from it)
            verify_covered(held, fallback, report, summary, engine.options)
            held.note = report.unverified
    finally:
        if held is not None:
            try:
                held.release()
            except OSError as exc:  # (if the run itself failed, its error is the one to see)
                if summary is not None and not summary.output_error:
                    summary.output_error = f"cannot write results: {exc}"
    assert summary is not None  # asyncio.run returned
    return summary, report


def run(
    request: FlushRequest,
    *,
    console: Sink | Callable[[], Sink] | None = None,
    sinks: Sequence[Sink] = (),
    naming: Naming | None = None,
    notice: Notice = to_stderr,
    on_outcome: Callable[[FlushOutcome], None] | None = None,
) -> FlushOutcome:
    """Run one flush; return its outcome (the exit code included).

    ``console`` shows progress (a sink, or a factory called once the outputs are checked);
    ``sinks`` get every result too (``CallbackSink(on_result)`` for a Python caller);
    ``naming`` replaces :func:`~hpccache_cli.jobs.flush.naming.build_resolver`'s (``demo``).
    Bad options or input raise a ``UsageError`` (or an Azure error with ``--cache``) before
    any file is flushed.

    SIGINT, SIGTERM and SIGHUP are handled from here to the end, from the main thread
    (:mod:`hpccache_cli.jobs.flush.interrupts`); whatever the ending, no temporary output file
    of this run is left behind (:func:`hpccache_cli.flush.leftovers.remove_own`).
    """
    interrupts = Interrupts().install()
    try:
        outcome = _run(request, console, sinks, naming, notice, interrupts)
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome
    except Interrupted:
        if interrupts.started:
            raise  # (the fallback's own handling missed it: the plain Ctrl-C line, exit 130)
        stopped = FlushOutcome(request, FlushSummary(interrupted=True), EXIT_INTERRUPTED,
                               signal=interrupts.first, stopped_before_run=True)
        if on_outcome is not None:
            on_outcome(stopped)
        return stopped
    finally:
        remove_own()  # (before the handlers go: a signal now must not cut it short)
        interrupts.restore()


def _run(
    request: FlushRequest,
    console: Sink | Callable[[], Sink] | None,
    more: Sequence[Sink],
    naming: Naming | None,
    notice: Notice,
    interrupts: Interrupts,
) -> FlushOutcome:
    request.options.validate()
    source = open_request_source(request)  # bad input is reported before any Azure call
    on_wait = announce if notice is to_stderr else (lambda text: notice(f"hpccache: {text}"))
    try:
        on_input = check_outputs_of(request, source)  # before any output is opened
        naming = naming or build_resolver(request)
        fallback = fallback_sink(request, naming)  # None unless --fallback; takes the locator
        pipeline = request.pipeline  # hpccache_cli.jobs.flush.pipeline_run: its three hooks
        extra = (pipeline.open_sinks(request.report, request.failed_to, on_wait=on_wait,
                                     signals=interrupts.count)
                 if pipeline is not None else [])
        resolver = pipeline.wrap(naming.resolver) if pipeline is not None else naming.resolver
    except BaseException:
        source.close()
        raise
    live = [*more] + ([] if console is None else
                      [console if isinstance(console, Sink) else console()])
    records: list[RecordFile] = []
    try:
        open_records(request, on_input, records, on_wait=on_wait, signals=interrupts.count)
        interrupts.hold()  # outputs open: a signal now stops the run, and records it
    except BaseException:
        source.close()
        MultiSink(extra).abandon()
        MultiSink(records).abandon()
        raise
    sinks = ([s if s.record else LiveOutput(s) for s in extra] + records
             + [LiveOutput(s) for s in live])
    held = None
    if fallback is not None:  # the records wait for it: hpccache_cli.jobs.flush.fallback_outputs
        from hpccache_cli.jobs.flush.fallback_outputs import HeldOutputs, spill_dir_for

        junit = pipeline.junit if pipeline is not None else None
        held = HeldOutputs([s for s in sinks if s.record], fallback,
                           spill_dir_for([request.report, request.failed_to, junit]))
        sinks = [s for s in sinks if not s.record] + [held]
    outputs = MultiSink(sinks)
    guard = ExportGuard(outputs) if request.export else None
    engine = make_engine(source, resolver, request.options, guard or outputs)
    if guard is not None:
        guard.stop = engine.request_stop
    summary, report = run_and_settle(
        engine, source, fallback, held,
        [s for s in records if s.label.split(" ", 1)[0] in on_input], guard, interrupts)
    problems = settle_outputs(request, outputs, records, summary, notice)
    # After a fallback, the files it wrote back count as flushed (as the records say them).
    code = summary.exit_code if report is None else report.settle(summary)
    cause = None
    if summary.unreachable and code == EXIT_UNREACHABLE:
        from hpccache_cli.jobs.flush.cache_state import unreachable_cause

        cause = unreachable_cause(naming)  # a stopped/upgrading cache is not a network problem
        code = EXIT_AZURE if cause else code
    if pipeline is not None:  # output variables; --allow-partial turns 1 into 0
        try:
            code = pipeline.finish(summary, code)
        except (OSError, ValueError):  # its logging commands' stream is gone: not the run
            quiet_stream(sys.stderr if pipeline.commands_to_stderr else sys.stdout)
    return FlushOutcome(request, summary, code, report, cause, problems, interrupts.first)


def settle_outputs(request: FlushRequest, outputs: MultiSink, records: Sequence[RecordFile],
                   summary: FlushSummary, notice: Notice = to_stderr) -> list[str]:
    """The outputs' write errors (one line each) and notes, after the run: any write error,
    or a failed path no record holds, makes the run's exit code 2 ("results unwritable")."""
    problems = outputs.problems()
    report_ok = any(isinstance(s, JsonlReport) and not s.error for s in records)
    for note in outputs.notes():  # names the failed list cannot hold
        if report_ok:
            if request.only_errors:  # held by the report: a warning, and az's flag says none
                continue
            notice(f"hpccache: warning: {note}; they are in --report {request.report} (with "
                   "path_b64)")
        else:
            problems.append(f"{note}, and no --report holds them: add --report FILE (its "
                            "lines carry such names, with path_b64)")
    if summary.output_error:
        problems.insert(0, summary.output_error)
    if problems:
        summary.output_error = "; ".join(problems)
    return problems
