"""``hpccache refresh``: everything but the options (those are in ``refresh_cmd``).

The refresh names paths, reads its input and writes its records exactly as the flush does, so
it calls the flush command's own pieces (``hpccache_cli.jobs.flush``: naming, input,
outputs, summary printing) instead of copying them; only the engine differs
(:class:`hpccache_cli.flush.refresh.RefreshEngine`) and the usage-model rule below.

Usage models: with ``--cache`` the layout says each storage target's model, so the refresh can
say how often the cache already verifies each target by itself and skip the paths of targets
that verify every 30 s or more often (``--force`` refreshes them anyway). Named any other way
(``--ip``/``--export``, client paths) the model is unknown and every path is refreshed.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from hpccache_cli.cli.flush.progress import make_console_sink, one_line
from hpccache_cli.flush.inputs import known_empty
from hpccache_cli.flush.results import REFRESH_OUTCOMES, FlushSummary, Outcome
from hpccache_cli.flush.sinks import LiveOutput, MultiSink, RecordFile, Sink
from hpccache_cli.jobs.flush.interrupts import (
    Interrupts,
    run_command,
    run_until_stopped,
)
from hpccache_cli.jobs.flush.job import open_request_source, settle_outputs, unreachable_line
from hpccache_cli.jobs.flush.naming import build_resolver
from hpccache_cli.jobs.flush.records import check_outputs_of, open_records
from hpccache_cli.jobs.flush.streams import announce, quiet_stream, say
from hpccache_cli.jobs.flush.values import QUIET, VERBOSE, FlushRequest
from hpccache_cli.pipelines.text import plural
from hpccache_cli.usage_models import duration

if TYPE_CHECKING:
    from hpccache_cli.flush.resolve import Target
    from hpccache_cli.layout import CacheLayout

#: A target that verifies its back end this often, or more, needs no refresh.
OFTEN_ENOUGH_S = 30


@dataclass
class TargetNotes:
    """The usage model of each storage target the input touched (``--cache`` only), and the
    skip rule that follows from it."""

    layout: CacheLayout | None
    force: bool
    verbose: bool
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)

    def skip(self, target: Target) -> str | None:
        if self.layout is None:
            return None
        junction = self.layout.junction_for(os.fsdecode(target.export) or "/")
        if junction is None:
            return None
        model = junction.model
        often = model.verify_known and model.verify_seconds is not None \
            and model.verify_seconds <= OFTEN_ENOUGH_S
        skipped = often and not self.force
        name = junction.storage_target
        if name not in self.seen:
            self.seen[name] = {
                "storage_target": name, "junction": junction.namespace_path,
                "usage_model": junction.usage_model or model.name,
                "verification": model.verification(),
                "verify_seconds": model.verify_seconds if model.verify_known else None,
                "skipped": skipped,
            }
            if self.verbose:
                say(f"hpccache: {self.line(self.seen[name])}", err=True)
        if not skipped:
            return None
        return (f"storage target {name} (usage model {junction.usage_model}) "
                f"{model.verification()}: no refresh needed (--force refreshes anyway)")

    @staticmethod
    def line(info: dict[str, Any]) -> str:
        text = (f"storage target {info['storage_target']} ({info['junction']}): usage model "
                f"{info['usage_model'] or 'not reported'}, {info['verification']}")
        if info["skipped"]:
            text += ": no refresh needed, its paths are skipped (--force refreshes them)"
        elif info["verify_seconds"] is not None and info["verify_seconds"] <= OFTEN_ENOUGH_S:
            text += " (refreshed anyway: --force)"
        return text


def execute_refresh(request: FlushRequest, *, force: bool, shard: tuple[int, int] | None,
                    shard_note: str | None) -> int:
    """Run a refresh command line; print the summary; return the exit code. SIGINT, SIGTERM
    and SIGHUP are handled from here to the end, as the flush handles them
    (:func:`~hpccache_cli.jobs.flush.interrupts.run_command`)."""
    return run_command("path was refreshed",
                       lambda interrupts: _execute(request, force, shard, shard_note,
                                                   interrupts))


def _execute(request: FlushRequest, force: bool, shard: tuple[int, int] | None,
             shard_note: str | None, interrupts: Interrupts) -> int:
    request.options.validate()
    # The flush's --force (targets that do not cache writes) is always on here: read caching
    # is where a back-end change matters most. Our own --force is about verification.
    naming_request = replace(request, force=bool(request.cache or request.cache_id))
    source = open_request_source(request)
    try:
        on_input = check_outputs_of(request, source)
        naming = build_resolver(naming_request)
        resolver = naming.resolver
        if shard is not None:
            from hpccache_cli.jobs.flush.shard_resolve import ShardResolver

            resolver = ShardResolver(resolver, *shard)
    except BaseException:
        source.close()
        raise
    if shard_note and request.verbosity >= VERBOSE:
        say(f"hpccache: {shard_note}", err=True)
    notes = TargetNotes(naming.arm.layout if naming.arm is not None else None, force,
                        request.verbosity >= VERBOSE)
    records: list[RecordFile] = []
    try:
        open_records(request, on_input, records, on_wait=announce, signals=interrupts.count)
        interrupts.hold()  # outputs open: a signal now stops the run, and records it
    except BaseException:
        source.close()
        MultiSink(records).abandon()
        raise
    console = make_console_sink(request.verbosity)
    sinks: list[Sink] = [*records, LiveOutput(console)]
    if shard is not None:
        from hpccache_cli.jobs.flush.pipeline_sinks import ShardMark

        sinks.insert(0, ShardMark(*shard))
    outputs = MultiSink(sinks)
    try:
        if known_empty(source):  # nothing to refresh: no engine, event loop or NFS client
            summary = FlushSummary(mode="refresh", input_complete=True)
            outputs.attach(summary)
        else:
            import asyncio

            from hpccache_cli.flush.refresh import RefreshEngine

            engine = RefreshEngine(resolver, request.options, outputs, skip=notes.skip)
            summary = asyncio.run(run_until_stopped(
                lambda: engine.run(source), engine.request_stop, interrupts))
    finally:
        source.close()
        outputs.close()
    if interrupts.received:
        summary.interrupted = True  # (also a signal after the engine, while closing)
    problems = settle_outputs(request, outputs, records, summary)
    code = summary.exit_code
    _print(request, summary, notes, code)
    unreachable = unreachable_line(request, summary, code)
    if unreachable:
        say(unreachable, err=True)
        return code
    for line in problems:
        say(f"hpccache: error: {line}", err=True)
    if summary.input_error:
        say(f"hpccache: error: {summary.input_error}", err=True)
    return code


def summary_text(summary: FlushSummary, notes: TargetNotes, extras: dict[str, str]) -> str:
    s = summary
    lines = [f"refresh of {plural(s.total, 'path')} in {s.seconds:.2f} s"]
    lines.append("  " + "   ".join(f"{o.value}: {s.count(o):,}" for o in REFRESH_OUTCOMES
                                    if s.count(o) or o is not Outcome.UNFINISHED))
    if s.reasons:
        kinds = ", ".join(f"{k} {n:,}" for k, n in s.reasons.most_common(6))
        lines.append(f"  failures by kind: {kinds}")
    for info in notes.seen.values():
        lines.append(f"  {one_line(notes.line(info))}")
    if notes.layout is None and s.total:
        lines.append("  usage models: not known without Azure (name the cache with --cache "
                     "to see them, and to skip targets that verify every "
                     f"{duration(OFTEN_ENOUGH_S)})")
    if s.interrupted:
        lines.append("  interrupted: unfinished paths are listed in --failed-to, if given")
    if s.shard is not None:
        lines.append(f"  shard {s.shard[0]}/{s.shard[1]}: "
                     f"{plural(s.outside_shard, 'more input path')} left to the other shards")
    lines += [f"  {key}: {value}" for key, value in extras.items()]
    return "\n".join(lines)


def _print(request: FlushRequest, summary: FlushSummary, notes: TargetNotes,
           code: int) -> None:
    extras = {k: v for k, v in (("report", request.report),
                                ("failed list", request.failed_to)) if v}
    if request.output != "text" or request.query:
        data = summary.to_dict()
        data["report"] = request.report
        data["failed_list"] = request.failed_to
        data["targets"] = list(notes.seen.values())
        data["exit_code"] = code
        from hpccache_cli.cli.output.summary import summary_output

        text = summary_output(data, request.output, request.query)
        if text:
            say(text.rstrip("\n"))
    elif request.verbosity > QUIET:
        try:
            say(summary_text(summary, notes, extras))
        except (OSError, ValueError):
            quiet_stream(sys.stdout)


__all__ = ["OFTEN_ENOUGH_S", "TargetNotes", "execute_refresh", "summary_text"]
