"""``hpccache copy``: everything but the options (those are in ``copy_cmd``).

DEST is named exactly as a flush names its paths, so the flush command's own pieces do the
work (``hpccache_cli.cli.flush.runner``: the resolver for ``--cache``/``--ip``/client paths,
the report and failed-list files, the pipeline hooks, one-line errors); only the engine
(:class:`hpccache_cli.flush.copy.CopyEngine`) and the summary's wording differ.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from hpccache_cli.cli.flush.progress import make_console_sink
from hpccache_cli.errors import UsageError
from hpccache_cli.flush.resolve import Target
from hpccache_cli.flush.results import COPY_OUTCOMES, FileResult, FlushSummary, Outcome
from hpccache_cli.flush.sinks import LiveOutput, MultiSink, RecordFile, Sink
from hpccache_cli.jobs.flush.interrupts import (
    Interrupts,
    run_command,
    run_until_stopped,
)
from hpccache_cli.jobs.flush.job import settle_outputs, unreachable_line
from hpccache_cli.jobs.flush.naming import build_resolver
from hpccache_cli.jobs.flush.records import check_outputs_of, open_records
from hpccache_cli.jobs.flush.streams import announce, quiet_stream, say
from hpccache_cli.jobs.flush.values import QUIET, FlushRequest
from hpccache_cli.pipelines.text import plural

if TYPE_CHECKING:
    pass


class _NoInput:
    """The copy reads no path list: nothing for an output file to clobber (``fd`` None)."""

    fd = None


def destination(request: FlushRequest, dest: str) -> Target:
    """DEST as a Target (a usage error, exit 2, when it names no place on the cache)."""
    naming = build_resolver(request)
    resolved = naming.resolver.resolve(os.fsencode(dest))
    if isinstance(resolved, FileResult):
        raise UsageError(f"DEST {dest}: {resolved.reason}")
    if not isinstance(resolved, Target):  # (no shard wrapper here: never OUTSIDE_SHARD)
        raise UsageError(f"DEST {dest}: not a place on the cache")
    # ``/JUNCTION/x`` under --export /JUNCTION reads as the namespace path (rel): a DEST need
    # not exist yet, so the "look both up" rule of the flush cannot decide; --path-kind can.
    return Target(resolved.addresses, resolved.export, resolved.rel)


def execute_copy(request: FlushRequest, sources: list[str], dest: str, *, flush: bool,
                 chunks: int, shard: tuple[int, int] | None = None) -> int:
    """Run a copy command line; print the summary; return the exit code. SIGINT, SIGTERM and
    SIGHUP are handled from here to the end, as the flush handles them
    (:func:`~hpccache_cli.jobs.flush.interrupts.run_command`)."""
    return run_command("file was copied",
                       lambda interrupts: _execute(request, sources, dest, flush, chunks, shard,
                                                   interrupts))


def _execute(request: FlushRequest, sources: list[str], dest: str, flush: bool, chunks: int,
             shard: tuple[int, int] | None, interrupts: Interrupts) -> int:
    request.options.validate()
    on_input = check_outputs_of(request, _NoInput())  # type: ignore[arg-type]
    target = destination(request, dest)
    pipeline = request.pipeline
    extra = (pipeline.open_sinks(request.report, request.failed_to, on_wait=announce,
                                 signals=interrupts.count) if pipeline else [])
    records: list[RecordFile] = []
    try:
        open_records(request, on_input, records, on_wait=announce, signals=interrupts.count)
        interrupts.hold()  # outputs open: a signal now stops the run, and records it
    except BaseException:
        MultiSink(extra).abandon()
        MultiSink(records).abandon()
        raise
    console = make_console_sink(request.verbosity)
    sinks: list[Sink] = ([s if s.record else LiveOutput(s) for s in extra] + [*records]
                         + [LiveOutput(console)])
    outputs = MultiSink(sinks)
    select = None
    if shard is not None and shard[1] > 1:
        from hpccache_cli.pipelines.shard import in_shard

        k, n = shard

        def select(ns: bytes) -> bool:
            return in_shard(ns, k, n)

    import asyncio

    from hpccache_cli.flush.copy import CopyEngine

    engine = CopyEngine(target, request.options, outputs, flush=flush, select=select,
                        chunks_per_file=chunks)
    try:
        paths = [os.fsencode(s) for s in sources]
        summary = asyncio.run(run_until_stopped(lambda: engine.run(paths), engine.request_stop,
                                                interrupts))
    finally:
        outputs.close()
    if interrupts.received:
        summary.interrupted = True  # (also a signal after the engine, while closing)
    problems = settle_outputs(request, outputs, records, summary)
    code = summary.exit_code
    if pipeline is not None:
        try:
            code = pipeline.finish(summary, code)
        except (OSError, ValueError):
            quiet_stream(sys.stderr if pipeline.commands_to_stderr else sys.stdout)
    _print(request, summary, flush, code, target)
    unreachable = unreachable_line(request, summary, code)
    if unreachable:
        say(unreachable, err=True)
        return code
    for line in problems:
        say(f"hpccache: error: {line}", err=True)
    if not problems and summary.interrupted:
        say(f"hpccache: interrupted: {plural(summary.count(Outcome.UNFINISHED), 'path')} "
            "unfinished; run the same command again to resume"
            + (f" (listed in {request.failed_to})" if request.failed_to else ""), err=True)
    return code


def where(target: Target) -> str:
    """The destination as a namespace-style path, for the summary."""
    export = os.fsdecode(target.export).rstrip("/")
    rel = os.fsdecode(target.rel)
    return f"{export}/{rel}" if rel else export or "/"


def summary_text(summary: FlushSummary, flush: bool, target: Target,
                 extras: dict[str, str]) -> str:
    s = summary
    lines = [f"copy of {plural(s.total, 'path')} to {where(target)} in {s.seconds:.2f} s "
             f"({s.rate:,.0f} files/s, {s.mb_per_second:,.1f} MB/s)"]
    lines.append("  " + "   ".join(f"{o.value}: {s.count(o):,}" for o in COPY_OUTCOMES
                                    if s.count(o) or o is not Outcome.UNFINISHED))
    back = ("each file copied was written back to its storage target" if flush else
            "in the cache, not written back yet (--no-flush: the cache writes them back on "
            "its schedule, or run hpccache flush)")
    lines.append(f"  data: {s.bytes_copied:,} bytes" + (f"; {back}" if s.bytes_copied else ""))
    if s.reasons:
        kinds = ", ".join(f"{k} {n:,}" for k, n in s.reasons.most_common(6))
        lines.append(f"  failures by kind: {kinds}")
    if s.interrupted:
        lines.append("  interrupted: run the same command again to resume (identical files "
                     "are skipped)")
    if s.shard is not None:
        lines.append(f"  shard {s.shard[0]}/{s.shard[1]}: the other shards' files are left "
                     "to them")
    lines += [f"  {key}: {value}" for key, value in extras.items()]
    return "\n".join(lines)


def _print(request: FlushRequest, summary: FlushSummary, flush: bool, code: int,
           target: Target) -> None:
    extras = {k: v for k, v in (("report", request.report),
                                ("failed list", request.failed_to)) if v}
    if request.output != "text" or request.query:
        data: dict[str, Any] = summary.to_dict()
        data["destination"] = where(target)
        data["flushed"] = flush
        data["report"] = request.report
        data["failed_list"] = request.failed_to
        data["exit_code"] = code
        from hpccache_cli.cli.output.summary import summary_output

        text = summary_output(data, request.output, request.query)
        if text:
            say(text.rstrip("\n"))
    elif request.verbosity > QUIET:
        try:
            say(summary_text(summary, flush, target, extras))
        except (OSError, ValueError):
            quiet_stream(sys.stdout)


__all__ = ["destination", "execute_copy", "summary_text"]
