"""Command-line glue shared by ``hpccache flush``, ``hpccache flush-file`` and ``hpccache demo``:
options -> resolver, input source and sinks; run with Ctrl-C handling; summary and exit code.

``build_resolver`` is the single place that decides how input paths are named: ``--ip`` +
``--export``, ``--cache NAME`` (namespace and client paths through a CacheLayout) or client
paths alone (the mount table), one branch each (details in ``hpccache_cli.cli.flush.naming``).
It returns a :class:`~hpccache_cli.cli.flush.values.Naming`: the resolver for the engine and
the locator for ``--fallback``, so the shard wrapper and the fallback each take their own part.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hpccache_cli.cli.flush.interrupts import Interrupted, Interrupts
from hpccache_cli.cli.flush.naming import cache_resolver, check_naming, local_resolver
from hpccache_cli.cli.flush.no_input import NothingToRead, make_engine
from hpccache_cli.cli.flush.progress import make_console_sink, summary_text
from hpccache_cli.cli.flush.records import check_outputs_of, open_records
from hpccache_cli.cli.flush.sites import ExportSites
from hpccache_cli.cli.flush.values import QUIET, FlushRequest, Naming
from hpccache_cli.errors import (
    EXIT_AZURE,
    EXIT_INTERRUPTED,
    EXIT_UNREACHABLE,
    UsageError,
    fill_fields,
)
from hpccache_cli.flush.addresses import check_ip
from hpccache_cli.flush.errors import FlushOptionError
from hpccache_cli.flush.export_guard import ExportGuard
from hpccache_cli.flush.inputs import PathSource, StrippedSource, open_source
from hpccache_cli.flush.leftovers import remove_own
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.results import FlushSummary, Outcome
from hpccache_cli.flush.sinks import (
    JsonlReport,
    LiveOutput,
    MultiSink,
    RecordFile,
    Sink,
)
from hpccache_cli.nfs.options import ClientOptions
from hpccache_cli.pipelines.text import plural

if TYPE_CHECKING:  # the engine (asyncio, the NFS client) is imported when there is input;
    # the fallback's code with --fallback
    from hpccache_cli.cli.flush.fallback import FallbackReport, TargetFallback
    from hpccache_cli.cli.flush.fallback_outputs import HeldOutputs
    from hpccache_cli.flush.engine import FlushEngine


def split_ips(values: Sequence[str]) -> list[str]:
    """``--ip a --ip b,c`` -> ``[a, b, c]`` (commas allowed for scripts), each checked to be
    an IP address before anything is sent (see :mod:`hpccache_cli.flush.addresses`)."""
    out = [check_ip(v.strip()) for value in values for v in value.split(",") if v.strip()]
    return list(dict.fromkeys(out))


def build_resolver(request: FlushRequest) -> Naming:
    """How input paths are named, from the options. One branch per way of naming a cache."""
    ips = split_ips(request.ips)
    check_naming(request, ips)
    if request.cache or request.cache_id:
        return cache_resolver(request)  # namespace and client paths, layout from Azure
    if ips or request.export:
        # Named as fields: flush-file says SERVER and EXPORT (cli/flags.py COMMAND_FLAGS)
        if not ips:
            raise FlushOptionError("{export} needs the cache's mount addresses: give {ips} "
                                   "(each mount address, or several separated by commas)",
                                   fields=("export", "ips"), hint="missing")
        if not request.export:
            raise FlushOptionError("{ips} needs the junction to flush under: give {export} "
                                   "(a namespace path of the cache, such as /NAS_12_exp5)",
                                   fields=("ips", "export"), hint="missing")
        resolver = ExportResolver(ips, request.export, request.path_kind,
                                  option_names=request.options.option_names)
        return Naming(resolver, ExportSites(resolver))
    return local_resolver(request)  # client paths: each file's mount says where


def _fallback(request: FlushRequest, naming: Naming) -> TargetFallback | None:
    """``--fallback``'s sink (its code is imported only when asked for), else None."""
    if request.fallback is None:
        return None
    from hpccache_cli.cli.flush.fallback import fallback_for

    return fallback_for(request, naming)


def _unreachable_hint(request: FlushRequest) -> str:
    """What to check when no mount address answered, for the way the cache was named."""
    if request.cache or request.cache_id:
        return ("check that this machine can reach the cache's mount addresses (hpccache cache "
                "show) and the port options; --refresh re-reads them from Azure")
    if request.ips:
        return fill_fields("check {ips} and the port options", ("ips",),
                           request.options.option_names)
    return "check the NFS mounts of these paths (hpccache path) and the port options"


def client_options(
    *,
    portmap_port: int | None = None,
    mount_port: int | None = None,
    nfs_port: int | None = None,
    uid: int | None = None,
    gid: int | None = None,
    privileged_port: bool = False,
) -> ClientOptions:
    """ClientOptions from the port/auth flags (None = the default: portmapper, caller's ids)."""
    opts = ClientOptions()
    for name, value, lo, hi in (("portmap-port", portmap_port, 1, 65535),
                                ("mount-port", mount_port, 1, 65535),
                                ("nfs-port", nfs_port, 1, 65535),
                                ("uid", uid, 0, 2**32 - 1), ("gid", gid, 0, 2**32 - 1)):
        if value is not None and not lo <= value <= hi:
            raise UsageError(f"--{name} must be between {lo} and {hi}, not {value}")
    if portmap_port is not None:
        opts.portmap_port = portmap_port
    opts.mount_port = mount_port
    opts.nfs_port = nfs_port
    if uid is not None:
        opts.uid = uid
    if gid is not None:
        opts.gid = gid
    opts.privileged_port = privileged_port
    return opts


def _open_source(request: FlushRequest) -> PathSource:
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


def _announce(text: str) -> None:
    """A wait on an output (a FIFO's reader), said at once on stderr."""
    say(f"hpccache: {text}", err=True)


async def run_engine(engine: FlushEngine, source: PathSource,
                     interrupts: Interrupts | None = None) -> FlushSummary:
    """Run with SIGINT, SIGTERM and SIGHUP turned into ``engine.request_stop()`` (the second
    stops input reading too), so an interrupted run still writes its report and failed list
    (:mod:`hpccache_cli.cli.flush.interrupts`)."""
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


def _run(
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
            from hpccache_cli.cli.flush.fallback_verify import verify_covered

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


def execute(
    request: FlushRequest,
    *,
    console: Sink | None = None,
    finish: Callable[[FlushSummary], None] | None = None,
    naming: Naming | None = None,
) -> int:
    """Run a flush command line; print the summary; return the exit code.

    SIGINT, SIGTERM and SIGHUP are handled from here to the end
    (:mod:`hpccache_cli.cli.flush.interrupts`); whatever the ending, no temporary output file
    of this run is left behind (:func:`hpccache_cli.flush.leftovers.remove_own`)."""
    interrupts = Interrupts().install()
    try:
        return _execute(request, console, finish, naming, interrupts)
    except Interrupted:
        if interrupts.started:
            raise  # (the fallback's own handling missed it: the plain Ctrl-C line, exit 130)
        say(f"hpccache: interrupted ({interrupts.first}) before any file was "
            "flushed: no output was written, old files are as they were", err=True)
        return EXIT_INTERRUPTED
    finally:
        remove_own()  # (before the handlers go: a signal now must not cut it short)
        interrupts.restore()


def _execute(
    request: FlushRequest,
    console: Sink | None,
    finish: Callable[[FlushSummary], None] | None,
    naming: Naming | None,
    interrupts: Interrupts,
) -> int:
    request.options.validate()
    source = _open_source(request)  # bad input is reported before any Azure call
    try:
        on_input = check_outputs_of(request, source)  # before any output is opened
        naming = naming or build_resolver(request)
        fallback = _fallback(request, naming)  # None unless --fallback; takes the locator
        pipeline = request.pipeline  # hpccache_cli.cli.flush.pipeline_run: its three hooks
        extra = (pipeline.open_sinks(request.report, request.failed_to, on_wait=_announce,
                                     signals=interrupts.count)
                 if pipeline is not None else [])
        resolver = pipeline.wrap(naming.resolver) if pipeline is not None else naming.resolver
    except BaseException:
        source.close()
        raise
    if console is None:
        console = make_console_sink(request.verbosity)
    records: list[RecordFile] = []
    try:
        open_records(request, on_input, records, on_wait=_announce,
                     signals=interrupts.count)
        interrupts.hold()  # outputs open: a signal now stops the run, and records it
    except BaseException:
        source.close()
        MultiSink(extra).abandon()
        MultiSink(records).abandon()
        raise
    sinks = [s if s.record else LiveOutput(s) for s in extra] + records + [LiveOutput(console)]
    held = None
    if fallback is not None:  # the records wait for it: hpccache_cli.cli.flush.fallback_outputs
        from hpccache_cli.cli.flush.fallback_outputs import HeldOutputs, spill_dir_for

        junit = pipeline.junit if pipeline is not None else None
        held = HeldOutputs([s for s in sinks if s.record], fallback,
                           spill_dir_for([request.report, request.failed_to, junit]))
        sinks = [s for s in sinks if not s.record] + [held]
    outputs = MultiSink(sinks)
    guard = ExportGuard(outputs) if request.export else None
    engine = make_engine(source, resolver, request.options, guard or outputs)
    if guard is not None:
        guard.stop = engine.request_stop
    summary, report = _run(engine, source, fallback, held,
                           [s for s in records if s.label.split(" ", 1)[0] in on_input], guard,
                           interrupts)
    problems = _settle_outputs(request, outputs, records, summary)
    # After a fallback, the files it wrote back count as flushed (as the records say them).
    code = summary.exit_code if report is None else report.settle(summary)
    cause = None
    if summary.unreachable and code == EXIT_UNREACHABLE:
        from hpccache_cli.cli.flush.cache_state import unreachable_cause

        cause = unreachable_cause(naming)  # a stopped/upgrading cache is not a network problem
        code = EXIT_AZURE if cause else code
    if pipeline is not None:  # output variables; --allow-partial turns 1 into 0
        try:
            code = pipeline.finish(summary, code)
        except (OSError, ValueError):  # its logging commands' stream is gone: not the run
            quiet_stream(sys.stderr if pipeline.commands_to_stderr else sys.stdout)
    if finish is not None:
        try:
            finish(summary)
        except (OSError, ValueError, AttributeError):  # its console is gone: the run is not
            quiet_stream(sys.stderr)
    else:
        print_summary(request, summary, report, code)
    if cause:
        say(f"hpccache: error: {cause}", err=True)
        return code
    if summary.unreachable and code == EXIT_UNREACHABLE:
        say(f"hpccache: error: cache unreachable: {summary.unreachable_reason}; "
            f"{_unreachable_hint(request)}", err=True)
        return EXIT_UNREACHABLE
    for line in problems:
        say(f"hpccache: error: {line}", err=True)
    if summary.input_error:
        say(f"hpccache: error: {summary.input_error}", err=True)
    if not problems and not summary.input_error and summary.interrupted:
        by = f" ({interrupts.first})" if interrupts.first not in ("", "SIGINT") else ""
        say(f"hpccache: interrupted{by}: {plural(summary.count(Outcome.UNFINISHED), 'path')} "
            "unfinished"
            + (f" (listed in {request.failed_to})" if request.failed_to else ""), err=True)
    return code


def _settle_outputs(request: FlushRequest, outputs: MultiSink, records: Sequence[RecordFile],
                    summary: FlushSummary) -> list[str]:
    """The outputs' write errors (one line each) and notes, after the run: any write error,
    or a failed path no record holds, makes the run's exit code 2 ("results unwritable")."""
    problems = outputs.problems()
    report_ok = any(isinstance(s, JsonlReport) and not s.error for s in records)
    for note in outputs.notes():  # names the failed list cannot hold
        if report_ok:
            say(f"hpccache: warning: {note}; they are in --report {request.report} (with "
                "path_b64)", err=True)
        else:
            problems.append(f"{note}, and no --report holds them: add --report FILE (its "
                            "lines carry such names, with path_b64)")
    if summary.output_error:
        problems.insert(0, summary.output_error)
    if problems:
        summary.output_error = "; ".join(problems)
    return problems


def say(text: str, *, err: bool = False) -> None:
    """Print a line to stdout or stderr; a closed or broken stream is silenced (no traceback,
    no 'Exception ignored' at exit) and the run's exit code stays what it was."""
    stream = sys.stderr if err else sys.stdout
    try:
        stream.write(text + "\n")
        stream.flush()
    except (OSError, ValueError, AttributeError):
        quiet_stream(stream)


def quiet_stream(stream: object) -> None:
    """Point a broken stream's descriptor at /dev/null, so the interpreter's last flush of it
    succeeds (a failed flush at exit prints a traceback and changes the exit code to 120)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fd = stream.fileno()  # type: ignore[attr-defined]
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


def print_summary(request: FlushRequest, summary: FlushSummary,
                  fallback: FallbackReport | None = None, code: int | None = None) -> None:
    extras: dict[str, str] = {}
    if request.report:
        extras["report"] = request.report
    if request.failed_to:
        extras["failed list"] = request.failed_to
    if request.output == "json":
        # A fixed key set (README, "-o json"): absent things are null, not missing keys.
        data = summary.to_dict()
        data["report"] = request.report
        data["failed_list"] = request.failed_to
        data["fallback"] = fallback.to_dict(summary) if fallback is not None else None
        if code is not None:
            data["exit_code"] = code
        say(json.dumps(data, indent=2))
    elif request.verbosity > QUIET:
        lines = [] if fallback is None else fallback.lines(summary)
        say(summary_text(summary, extras) + "".join(f"\n  {x}" for x in lines))
