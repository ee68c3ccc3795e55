"""What a person sees while a flush runs, and the summary at the end.

On a terminal: a live bar (files done/total, rate, failures, ETA) drawn by ``rich``, with
failures printed above it. Otherwise (logs, CI, pipes): plain lines, one per failure, a
progress line every ``every`` seconds, and with ``-v`` one line per path. ``-q`` shows only
failures. Paths are shown with undecodable bytes as ``\\xNN`` so odd names never crash output.
"""

from __future__ import annotations

import os
import re
import sys
import time
from datetime import datetime
from typing import IO, Any

from hpccache_cli.flush.results import (
    OK_OUTCOMES,
    FileResult,
    FlushSummary,
    Outcome,
    display_path,
)
from hpccache_cli.flush.sinks import Sink
from hpccache_cli.jobs.flush.values import NORMAL, VERBOSE
from hpccache_cli.pipelines.text import plural

# Control characters (C0, DEL, C1, Unicode line breaks) that a file name or a reason quoting
# one may hold: written raw they would split a log line (a name "x\n##vso[...]" would forge
# an Azure DevOps logging command) or send terminal escape sequences.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` as one printable line: control characters become ``\\xNN``/``\\uNNNN``."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
        else f"\\u{ord(m.group()):04x}", text)


def _line(result: FileResult) -> str:
    text = f"{result.outcome.value} {display_path(result.path)}"
    if result.reason:
        text += f": {result.reason}"
    if result.outcome in (Outcome.FLUSHED, Outcome.FAILED):
        text += f" ({result.seconds:.3f} s)"
    return one_line(text)


def progress_line(s: FlushSummary) -> str:
    """``progress: 1,200 of 10,817 done (11%), 3 failed``; "of 1,200+" while the input is
    still arriving from a pipe and its length is unknown, or while ``--recursive`` is still
    listing directories (", listing 2 directories": more files may come)."""
    total = s.total_estimate
    listing = f", listing {plural(s.listing, 'directory', 'directories')}" if s.listing else ""
    data = f", {s.bytes_copied / 1e6:,.1f} MB copied" if s.mode == "copy" else ""
    if total is None:
        return f"progress: {s.done:,} of {s.total:,}+ done, {s.failed:,} failed{data}{listing}"
    approx = "" if s.input_complete else "~"
    percent = s.done * 100 // total if total else 100
    return (f"progress: {s.done:,} of {approx}{total:,} done ({percent}%), "
            f"{s.failed:,} failed{data}")


def _is_problem(result: FileResult) -> bool:
    return result.outcome in (Outcome.FAILED,)


class PlainProgress(Sink):
    """Line output for logs and pipes."""

    def __init__(self, verbosity: int = NORMAL, stream: IO[str] | None = None,
                 every: float = 10.0) -> None:
        self.verbosity = verbosity
        self.stream = stream or sys.stderr
        self.every = every
        self._next = time.monotonic() + every
        self.summary: FlushSummary | None = None

    def attach(self, summary: FlushSummary) -> None:
        self.summary = summary

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")

    def emit(self, result: FileResult) -> None:
        verbosity = self.verbosity
        if verbosity >= VERBOSE or result.outcome is Outcome.FAILED:  # (as _is_problem)
            self._write(_line(result))
        self.tick()

    def tick(self) -> None:
        """The progress line when one is due: after a result, and from the engine's
        heartbeat while no file finishes (a long write-back, a busy cache)."""
        if self.verbosity >= NORMAL and self.summary is not None:
            now = time.monotonic()
            if now >= self._next:
                self._next = now + self.every
                self._write(progress_line(self.summary))

    def log(self, message: str) -> None:
        if self.verbosity >= VERBOSE:
            self._write(f"note: {one_line(message)}")

    def notice(self, message: str) -> None:
        """A long wait, announced: with the progress line when one is due, so a run where
        no file finishes still shows one every ``every`` seconds (docs/pipelines.md)."""
        if self.verbosity < NORMAL:
            return
        self._write(f"note: {one_line(message)}")
        self.tick()

    def close(self) -> None:
        self.stream.flush()


class RichProgress(Sink):
    """The live bar for a terminal (stderr); failures and -v lines print above it."""

    def __init__(self, verbosity: int = NORMAL, label: str = "flush") -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.verbosity = verbosity
        self.console = Console(file=sys.stderr, highlight=False)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[failed]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
            refresh_per_second=8,
        )
        self.task = self.progress.add_task(label, total=None, rate="", failed="")
        self.summary: FlushSummary | None = None
        self._started = time.monotonic()
        self._last = 0.0

    def attach(self, summary: FlushSummary) -> None:
        self.summary = summary
        self._started = time.monotonic()
        self.progress.start()

    def _update(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.summary is None or (not force and now - self._last < 0.1):
            return
        self._last = now
        s = self.summary
        elapsed = max(now - self._started, 1e-6)
        failed = f"[red]{s.failed} failed[/]" if s.failed else "0 failed"
        self.progress.update(
            self.task,
            completed=s.done,
            total=s.total_estimate,  # known from the start for a regular --from-file
            rate=f"{s.done / elapsed:,.0f} files/s" + (
                f", {s.bytes_copied / 1e6 / elapsed:,.1f} MB/s" if s.mode == "copy" else ""),
            failed=failed,
        )

    def emit(self, result: FileResult) -> None:
        if self.verbosity >= VERBOSE or _is_problem(result):
            from rich.markup import escape

            style = "red" if _is_problem(result) else "dim"
            self.progress.console.print(f"[{style}]{escape(_line(result))}[/]")
        self._update()

    def log(self, message: str) -> None:
        if self.verbosity >= VERBOSE:
            from rich.markup import escape

            self.progress.console.print(f"[yellow]note:[/] {escape(one_line(message))}")

    def notice(self, message: str) -> None:
        from rich.markup import escape

        self.progress.console.print(f"[yellow]note:[/] {escape(one_line(message))}")
        self._update(force=True)

    def tick(self) -> None:
        self._update()  # the rate and ETA move on while files wait

    def close(self) -> None:
        self._update(force=True)
        self.progress.stop()


class FlushFileLog(Sink):
    """flush_file.py's output, for ``hpccache flush-file``: timestamped lines on stderr, one
    per file, failures containing ``ERROR`` (scripts grep for it), a total at the end."""

    def __init__(self, verbose: bool = False, stream: IO[str] | None = None) -> None:
        self.verbose = verbose
        self.stream = stream or sys.stderr

    def _write(self, text: str) -> None:
        stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        # One physical line per event, whatever the name holds: a newline in a file name must
        # not split a line that scripts grep for ERROR, nor forge a pipeline logging command.
        self.stream.write(f"{stamp}: {one_line(text)}\n")

    def emit(self, result: FileResult) -> None:
        path = display_path(result.path)
        if result.outcome is Outcome.FLUSHED:
            self._write(f"Flushed {path} in {result.seconds:.6f}sec")
        elif result.outcome is Outcome.CLEAN:
            self._write(f"Flushed {path} in {result.seconds:.6f}sec (already clean)")
        elif result.outcome in OK_OUTCOMES:
            self._write(f"Skipped {path}: {result.reason}")
        else:
            self._write(f"ERROR {result.outcome.value} {path}: {result.reason}")

    def log(self, message: str) -> None:
        if self.verbose:
            self._write(message)

    def notice(self, message: str) -> None:
        self._write(message)

    def finish(self, summary: FlushSummary) -> None:
        self._write(f"Total elapsed time {summary.seconds:.6f}")
        errors = sum(n for o, n in summary.counts.items() if Outcome(o) not in OK_OUTCOMES)
        if errors:
            self._write(f"{errors} ERRORS encountered. grep ERROR in output for details.")
        self.stream.flush()


def make_console_sink(verbosity: int, tty: bool | None = None) -> Sink:
    """Rich bar on a terminal (unless -q), plain lines otherwise.

    Never a bar in Azure Pipelines (``TF_BUILD=True``), even when the agent gives the step a
    terminal: its redraws would be noise in the kept log, and the step's progress is shown by
    ``##vso[task.setprogress]`` instead (:mod:`hpccache_cli.jobs.flush.pipeline_sinks`).
    """
    if tty is None:
        from hpccache_cli.pipelines.term import is_interactive  # (flush-file never asks)
        from hpccache_cli.pipelines.vso import detect

        tty = is_interactive(sys.stderr) and not detect(os.environ)
    if tty and verbosity >= NORMAL:
        return RichProgress(verbosity)
    return PlainProgress(verbosity)


def summary_text(summary: FlushSummary, extras: dict[str, Any] | None = None) -> str:
    """The human summary printed at the end of a run."""
    s = summary
    what = "status of" if s.status_only else "flush of"
    lines = [f"{what} {plural(s.total, 'path')} in {s.seconds:.2f} s ({s.rate:,.0f} files/s)"]
    parts = [f"{o.value}: {s.count(o):,}" for o in Outcome
             if s.count(o) or o in (Outcome.FLUSHED, Outcome.CLEAN, Outcome.FAILED)]
    lines.append("  " + "   ".join(parts))
    if s.reasons:
        kinds = ", ".join(f"{k} {n:,}" for k, n in s.reasons.most_common(6))
        lines.append(f"  failures by kind: {kinds}")
    if s.interrupted:
        lines.append("  interrupted: unfinished paths are listed in --failed-to, if given"
                     + ("" if s.input_complete else "; the input was not read to its end"))
    if s.input_error:
        lines.append(f"  input: {s.input_error}")
    if s.shard is not None:
        lines.append(f"  shard {s.shard[0]}/{s.shard[1]}: "
                     f"{plural(s.outside_shard, 'more input path')} "
                     f"{'belongs' if s.outside_shard == 1 else 'belong'} to the other shards "
                     "(not flushed or counted here)")
    for key, value in (extras or {}).items():
        lines.append(f"  {key}: {value}")
    return "\n".join(lines)
