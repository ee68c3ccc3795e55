"""The run of ``hpccache amlfs export`` under SIGINT, SIGTERM and SIGHUP, in flush's phases
(:mod:`hpccache_cli.jobs.flush.interrupts`):

* **before** the records are open (option checks, Azure and Blob look-ups, a FIFO output
  waiting for its reader): a signal ends the command with one line, exit 130, no output
  written and the old files as they were;
* **during** the export (``lfs`` queueing and waits, or Azure's archive job): a signal stops
  it as Ctrl-C does, and every file still gets exactly one record (``unfinished`` for those
  not done, saying where their export stands), exit 130;
* **after** it (closing the records, a JUnit FIFO's reader): a signal is only noted, so the
  records are closed whole.

Why: a Slurm job gets SIGTERM at its time limit, an ssh drop sends SIGHUP; left to their
default action they ended the run with no record at all and the previous run's failed list
in place.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hpccache_cli.errors import EXIT_AZURE, UserError
from hpccache_cli.jobs.flush.interrupts import (
    Interrupted,
    Interrupts,
    run_command,
)
from hpccache_cli.jobs.flush.streams import announce, say


@dataclass(frozen=True)
class ExportCall:
    """What the command line asked for, after its own checks."""

    targets: list[Any]
    where: Any
    via: str
    wait: bool
    timeout: float
    retries: int
    hsm: Any  # the HSM side (lfs); None with --via archive-job
    report: str | None
    failed_to: str | None
    null: bool


def file_result(r: Any) -> Any:
    """A library result as flush's record: exported -> flushed, current -> clean, ..."""
    from hpccache_cli.flush.results import FileResult, Outcome

    outcome = {"exported": Outcome.FLUSHED, "current": Outcome.CLEAN,
               "queued": Outcome.STARTED, "unfinished": Outcome.UNFINISHED}.get(
        r.outcome, Outcome.FAILED)
    return FileResult(os.fsencode(r.target.path), outcome, r.reason, r.seconds, r.attempts,
                      r.kind)


def open_sinks(call: ExportCall, pipeline: Any, interrupts: Interrupts) -> Any:
    """--report, --failed-to and the pipeline's sinks; a FIFO's wait for its reader is
    announced and ended by a signal. Whatever is open is abandoned if this does not end."""
    from hpccache_cli.errors import UsageError
    from hpccache_cli.flush.outputs import OutputFile, check_outputs
    from hpccache_cli.flush.sinks import FailedList, JsonlReport, MultiSink

    report, failed_to = call.report, call.failed_to
    check_outputs([(o, p) for o, p in (("--report", report), ("--failed-to", failed_to),
                                        ("--junit", pipeline.junit)) if p], None)
    sinks: list[Any] = []
    waits: dict[str, Any] = {"on_wait": announce, "signals": interrupts.count}
    try:
        if report:
            sinks.append(JsonlReport(OutputFile.open(report, "--report", **waits)))
        if failed_to:
            sinks.append(FailedList(OutputFile.open(failed_to, "--failed-to", **waits),
                                    b"\0" if call.null else b"\n"))
        sinks += pipeline.open_sinks(report, failed_to, **waits)
    except OSError as exc:
        MultiSink(sinks).abandon()
        raise UsageError(f"cannot write {report if len(sinks) == 0 else failed_to}: "
                         f"{exc.strerror or exc}") from None
    except BaseException:
        MultiSink(sinks).abandon()
        raise
    return MultiSink(sinks)


def run_export(prepare: Callable[[], tuple[ExportCall, Any]], az: Any,
               json_output: bool) -> int:
    """The whole command: ``prepare`` (its checks and look-ups: what to export, and the
    pipeline run), then the export; returns the exit code."""
    def body(interrupts: Interrupts) -> int:
        call, pipeline = prepare()
        return _run(call, pipeline, az.settings(), az, json_output, interrupts)

    return run_command("file was exported", body)


def _run(call: ExportCall, pipeline: Any, settings: Any, az: Any, json_output: bool,
         interrupts: Interrupts) -> int:
    from hpccache_cli.flush.results import FlushSummary
    from hpccache_cli.lustre.export import ExportResult, signals_held

    summary = FlushSummary(mode="export", results=None)
    summary.total = len(call.targets)
    sinks = open_sinks(call, pipeline, interrupts)
    sinks.attach(summary)
    ended: set[int] = set()  # id() of each target with its record

    def emit(r: Any) -> None:
        if id(r.target) in ended:
            return
        with signals_held():  # a record goes to every sink or to none
            ended.add(id(r.target))
            fr = file_result(r)
            summary.add(fr)
            sinks.emit(fr)

    began = time.monotonic()
    interrupts.hold()  # the records are open: from here a signal ends each file, once
    azure_error: UserError | None = None
    try:
        with interrupts.abortable():  # the export stops as by Ctrl-C (KeyboardInterrupt)
            if interrupts.received:  # (one came while the records were opened)
                raise Interrupted(interrupts.received[0])
            summary.interrupted = _export(call, settings, az, emit)
    except KeyboardInterrupt:
        summary.interrupted = True
    except UserError as exc:  # Azure refused, lost or timed out the archive job: every file
        azure_error = exc     # not ended yet fails with its words, then the line, exit 3
    for t in call.targets:  # (signals are only noted now: this cannot be cut short)
        if azure_error is not None:
            emit(ExportResult(t, "failed", "azure" if azure_error.exit_code == EXIT_AZURE
                              else "error", str(azure_error)))
        else:
            emit(ExportResult(t, "unfinished", "interrupted", "interrupted before its "
                              "export began"))
    summary.seconds = time.monotonic() - began
    summary.input_complete = True
    sinks.close()
    if interrupts.received:
        summary.interrupted = True  # (also a signal while the records were closed)
    problems = sinks.problems()
    for p in problems:
        say(f"hpccache: error: {p}", err=True)
    if problems:
        summary.output_error = problems[0]
    c = summary.counts
    line = (f"{summary.total} file(s): {c.get('flushed', 0)} exported, {c.get('clean', 0)} "
            f"already current, {c.get('started', 0)} queued, {c.get('failed', 0)} failed"
            + (f", {c['unfinished']} unfinished" if c.get("unfinished") else "")
            + (f" ({', '.join(f'{k} {v}' for k, v in summary.reasons.most_common())})"
               if summary.reasons else ""))
    say(line, err=True)
    if json_output:
        sys.stdout.write(json.dumps(summary.to_dict(), indent=2) + "\n")
    code = int(pipeline.finish(summary, summary.exit_code))
    if azure_error is not None and not problems:
        raise azure_error  # (its one line and exit code, after the records are written)
    return code


def _export(call: ExportCall, settings: Any, az: Any, emit: Any) -> bool:
    """Export every target (``emit`` each end); True if a signal stopped it."""
    if call.via == "lfs":
        from hpccache_cli.lustre.export import ExportOptions, export_files

        run = export_files(call.targets, call.hsm, call.where.fs.container,
                           ExportOptions(timeout=call.timeout, retries=call.retries,
                                         wait=call.wait, poll=settings.polling_interval), emit)
        return run.interrupted
    from hpccache_cli.cli.amlfs_export_job import export_by_job

    return export_by_job(call.targets, call.where, az, call.timeout, emit)
