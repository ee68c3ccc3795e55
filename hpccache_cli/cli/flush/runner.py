"""Command-line glue shared by ``hpccache flush``, ``hpccache flush-file`` and ``hpccache demo``:
options -> resolver, input source and sinks; run with Ctrl-C handling; summary and exit code.

``build_resolver`` is the single place that decides how input paths are named: ``--ip`` +
``--export``, ``--cache NAME`` (namespace and client paths through a CacheLayout) or client
paths alone (the mount table), one branch each (details in ``hpccache_cli.cli.flush.naming``).
It returns a :class:`~hpccache_cli.cli.flush.values.Naming`: the resolver for the engine and
the locator for ``--fallback``, so the shard wrapper and the fallback each take their own part.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable, Sequence

from hpccache_cli.cli.flush.fallback import (
    ExportSites,
    FallbackReport,
    TargetFallback,
    fallback_for,
)
from hpccache_cli.cli.flush.fallback_outputs import HeldOutputs, spill_dir_for
from hpccache_cli.cli.flush.naming import cache_resolver, check_naming, local_resolver
from hpccache_cli.cli.flush.progress import make_console_sink, summary_text
from hpccache_cli.cli.flush.values import QUIET, FlushRequest, Naming
from hpccache_cli.errors import EXIT_UNREACHABLE, UsageError
from hpccache_cli.flush.engine import FlushEngine
from hpccache_cli.flush.inputs import PathSource, StrippedSource, open_source
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.results import FlushSummary, Outcome
from hpccache_cli.flush.sinks import FailedList, JsonlReport, MultiSink, Sink
from hpccache_cli.nfs.client import ClientOptions
from hpccache_cli.pipelines.text import plural


def split_ips(values: Sequence[str]) -> list[str]:
    """``--ip a --ip b,c`` -> ``[a, b, c]`` (commas allowed for scripts)."""
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return list(dict.fromkeys(out))


def build_resolver(request: FlushRequest) -> Naming:
    """How input paths are named, from the options. One branch per way of naming a cache."""
    ips = split_ips(request.ips)
    check_naming(request, ips)
    if request.cache or request.cache_id:
        return cache_resolver(request)  # namespace and client paths, layout from Azure
    if ips or request.export:
        if not ips:
            raise UsageError("--export needs the cache's mount addresses: add --ip ADDRESS "
                             "(repeat it for each mount address)")
        if not request.export:
            raise UsageError("--ip needs the junction to flush under: add --export "
                             "/NAMESPACE_PATH (as flush_file.py's EXPORT argument)")
        resolver = ExportResolver(ips, request.export)
        return Naming(resolver, ExportSites(resolver))
    return local_resolver(request)  # client paths: each file's mount says where


def _unreachable_hint(request: FlushRequest) -> str:
    """What to check when no mount address answered, for the way the cache was named."""
    if request.cache or request.cache_id:
        return ("check that this machine can reach the cache's mount addresses (hpccache cache "
                "show) and the port options; --refresh re-reads them from Azure")
    if request.ips:
        return "check --ip and the port options"
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


def _open_sinks(request: FlushRequest, console: Sink | None) -> list[Sink]:
    sinks: list[Sink] = []
    try:
        if request.report:
            sinks.append(JsonlReport(open(request.report, "w", encoding="utf-8")))  # noqa: SIM115
        if request.failed_to:
            sinks.append(FailedList(open(request.failed_to, "wb"), request.separator))  # noqa: SIM115
    except OSError as exc:
        for sink in sinks:
            sink.close()
        raise UsageError(f"cannot write {exc.filename}: {exc.strerror}") from None
    if console is not None:
        sinks.append(console)
    return sinks


async def run_engine(engine: FlushEngine, source: PathSource) -> FlushSummary:
    """Run with SIGINT/SIGTERM turned into ``engine.request_stop()`` (the second stops input
    reading too), so an interrupted run still writes its report and failed list."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, engine.request_stop)
            installed.append(sig)
    try:
        return await engine.run(source)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        source.close()


def _run(
    engine: FlushEngine, source: PathSource, fallback: TargetFallback | None,
    held: HeldOutputs | None,
) -> tuple[FlushSummary, FallbackReport | None]:
    """Run the engine, close the live sinks, run the fallback; then, whatever happened, write
    the held-back records (a failure to write them is the run's output error, exit 2)."""
    summary: FlushSummary | None = None
    report = None
    try:
        try:
            summary = asyncio.run(run_engine(engine, source))
        finally:
            engine.sink.close()
        report = fallback.run(summary) if fallback is not None else None
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
    """Run a flush command line; print the summary; return the exit code."""
    request.options.validate()
    source = _open_source(request)  # bad input is reported before any Azure call
    try:
        naming = naming or build_resolver(request)
        fallback = fallback_for(request, naming)  # None unless --fallback; takes the locator
        pipeline = request.pipeline  # hpccache_cli.cli.flush.pipeline_run: its three hooks
        extra = (pipeline.open_sinks(request.report, request.failed_to)
                 if pipeline is not None else [])
        resolver = pipeline.wrap(naming.resolver) if pipeline is not None else naming.resolver
    except BaseException:
        source.close()
        raise
    if console is None:
        console = make_console_sink(request.verbosity)
    sinks = extra + _open_sinks(request, console)
    held = None
    if fallback is not None:  # the records wait for it: hpccache_cli.cli.flush.fallback_outputs
        junit = pipeline.junit if pipeline is not None else None
        held = HeldOutputs([s for s in sinks if s.record], fallback,
                           spill_dir_for([request.report, request.failed_to, junit]))
        sinks = [s for s in sinks if not s.record] + [held]
    engine = FlushEngine(resolver, request.options, MultiSink(sinks))
    summary, report = _run(engine, source, fallback, held)
    # After a fallback, the files it wrote back count as flushed (as the records say them).
    code = summary.exit_code if report is None else report.settle(summary)
    if pipeline is not None:  # output variables; --allow-partial turns 1 into 0
        code = pipeline.finish(summary, code)
    if finish is not None:
        finish(summary)
    else:
        print_summary(request, summary, report, code)
    if summary.unreachable and code == EXIT_UNREACHABLE:
        print(f"hpccache: error: cache unreachable: {summary.unreachable_reason}; "
              f"{_unreachable_hint(request)}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if summary.output_error or summary.input_error:
        print(f"hpccache: error: {summary.output_error or summary.input_error}",
              file=sys.stderr)
    elif summary.interrupted:
        print(f"hpccache: interrupted: {plural(summary.count(Outcome.UNFINISHED), 'path')} "
              "unfinished"
              + (f" (listed in {request.failed_to})" if request.failed_to else ""),
              file=sys.stderr)
    return code


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
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    elif request.verbosity > QUIET:
        lines = [] if fallback is None else fallback.lines(summary)
        sys.stdout.write(summary_text(summary, extras) + "".join(f"\n  {x}" for x in lines)
                         + "\n")
    sys.stdout.flush()
