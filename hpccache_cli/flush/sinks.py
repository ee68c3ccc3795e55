"""Where results go as they happen: report file, failed list, caller callbacks.

Sinks are synchronous and cheap (buffered writes) because they run on the event loop for
every path. Nothing here keeps results: a million paths stream straight to disk.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence

from hpccache_cli.errors import UserError
from hpccache_cli.flush.outputs import OutputFile
from hpccache_cli.flush.results import RETRY_OUTCOMES, FileResult, FlushSummary


class Sink:
    """Base sink: every hook is optional."""

    #: True for a sink that records each path's final outcome in a file (``--report``,
    #: ``--failed-to``, ``--junit``): under ``--fallback`` the runner holds back the failures a
    #: target flush may cover and gives them to it after the fallback, with what it did (see
    #: ``hpccache_cli.jobs.flush.fallback_outputs``). Consoles and log commands are live: not
    #: records.
    record = False
    #: How messages name this sink's output ("--report FILE"); empty for consoles.
    label = ""

    def attach(self, summary: FlushSummary) -> None:
        """Called once before the run with the live summary (progress reads counters)."""

    def emit(self, result: FileResult) -> None:
        """One path's final outcome."""

    def log(self, message: str) -> None:
        """A run-level event worth showing with -v (address down, restarts, ...)."""

    def notice(self, message: str) -> None:
        """A run-level event every console shows, not only -v: a long wait announced (the
        cache answers "busy, try later"), so a run is never silent for minutes."""

    def tick(self) -> None:
        """Called every few seconds while the run goes on, whether or not files finish (a
        progress line is due even when every file waits)."""

    def close(self) -> None:
        """The run ended (normally or not): flush files."""

    def abandon(self) -> None:
        """The sink failed part-way: release it without publishing a partial file."""

    def problems(self) -> list[str]:
        """One line per output this sink could not write completely (run exit 2)."""
        return []

    def notes(self) -> list[str]:
        """Warnings for the user about what this sink could not hold (not write errors)."""
        return []


def describe(exc: BaseException) -> str:
    """``[Errno 28] No space left on device``: the errno and its text, without a file name
    (the caller names the option and file)."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"[Errno {exc.errno}] {exc.strerror}"
    return f"{type(exc).__name__}: {exc}"


class MultiSink(Sink):
    """Hands every event to each sink, and lets each one fail on its own: a sink that raises
    is set aside (its partial file abandoned, the failure kept for :meth:`problems`) and the
    others still get every result. Nothing raises out of it, so one bad output never stops
    the run nor takes the other outputs with it."""

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)
        self._failed: list[str] = []
        self._active = list(self.sinks)  # those not failed (a copy: emit may remove)

    def _live(self) -> list[Sink]:
        return self._active

    def _broke(self, sink: Sink, exc: Exception) -> None:
        self._active = [s for s in self._active if s is not sink]
        if isinstance(exc, UserError):
            self._failed.append(str(exc))
        else:
            self._failed.append(f"cannot write {sink.label or type(sink).__name__}: "
                                f"{describe(exc)}")
        with contextlib.suppress(Exception):
            sink.abandon()

    def attach(self, summary: FlushSummary) -> None:
        for sink in self.sinks:
            sink.attach(summary)

    def emit(self, result: FileResult) -> None:
        for sink in self._active:
            try:
                sink.emit(result)
            except Exception as exc:
                self._broke(sink, exc)

    def log(self, message: str) -> None:
        for sink in self._live():
            try:
                sink.log(message)
            except Exception as exc:
                self._broke(sink, exc)

    def notice(self, message: str) -> None:
        for sink in self._live():
            try:
                sink.notice(message)
            except Exception as exc:
                self._broke(sink, exc)

    def tick(self) -> None:
        for sink in self._live():
            try:
                sink.tick()
            except Exception as exc:
                self._broke(sink, exc)

    def close(self) -> None:
        for sink in self._live():
            try:
                sink.close()
            except Exception as exc:  # close every file even if one fails
                self._broke(sink, exc)

    def abandon(self) -> None:
        for sink in self._live():
            with contextlib.suppress(Exception):
                sink.abandon()

    def problems(self) -> list[str]:
        return self._failed + [p for s in self.sinks for p in s.problems()]

    def notes(self) -> list[str]:
        return [n for s in self.sinks for n in s.notes()]


class LiveOutput(Sink):
    """A console sink (progress, failure lines, logging commands) that goes quiet when its
    stream fails: stderr closed or piped into ``head`` must not stop a flush whose report and
    failed list are fine, nor change its exit code. What it could not show is in the records
    and the summary."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.quiet = False

    def _guard(self, call: Callable[[], None]) -> None:
        if self.quiet:
            return
        try:
            call()
        except Exception:
            self.quiet = True

    def attach(self, summary: FlushSummary) -> None:
        self.inner.attach(summary)

    def emit(self, result: FileResult) -> None:
        if self.quiet:
            return
        try:  # (as _guard, without a closure per result)
            self.inner.emit(result)
        except Exception:
            self.quiet = True

    def log(self, message: str) -> None:
        self._guard(lambda: self.inner.log(message))

    def notice(self, message: str) -> None:
        self._guard(lambda: self.inner.notice(message))

    def tick(self) -> None:
        self._guard(self.inner.tick)

    def close(self) -> None:
        self._guard(self.inner.close)


class CallbackSink(Sink):
    """Hands each result to a caller's function (the Python API's ``on_result``)."""

    def __init__(self, on_result: Callable[[FileResult], None]) -> None:
        self.on_result = on_result

    def emit(self, result: FileResult) -> None:
        self.on_result(result)


class RecordFile(Sink):
    """A record file sink: writes go to an :class:`~hpccache_cli.flush.outputs.OutputFile`
    (beside the target, renamed at close); a write error ends this file only: it is
    abandoned (the target left as it was, never half a list) and reported by
    :meth:`problems`, while the other sinks carry on."""

    record = True

    def __init__(self, out: OutputFile) -> None:
        self.out = out
        self.label = out.label
        self.error = ""
        self.unrecorded = 0  # results this file could not take after its error

    def _write(self, data: bytes) -> None:
        if self.error:
            self.unrecorded += 1
            return
        try:
            self.out.write(data)
        except (OSError, ValueError) as exc:
            self.unrecorded += 1
            self._fail(describe(exc))

    def _fail(self, why: str) -> None:
        self.error = f"cannot write {self.label}: {why}"
        self.out.abandon()

    def keep_old(self, why: str) -> None:
        """Do not publish this file (``why`` says so); the target stays as it was."""
        if not self.error:
            self.error = f"{self.label} {why}"
            self.out.abandon()

    def close(self) -> None:
        if self.error:
            return
        try:
            self.out.commit()
        except OSError as exc:
            self.error = f"cannot write {self.label}: {describe(exc)}"

    def abandon(self) -> None:
        self.out.abandon()

    def problems(self) -> list[str]:
        if not self.error:
            return []
        if self.out.replaces:
            return [f"{self.error} (the file was left as it was)"]
        return [f"{self.error} ({self.unrecorded:,} results after it not written)"]


class JsonlReport(RecordFile):
    """``--report FILE``: one JSON object per path (path, outcome, reason, seconds, attempts)."""

    def emit(self, result: FileResult) -> None:
        line = json.dumps(result.to_json(), separators=(",", ":")) + "\n"
        self._write(line.encode("utf-8", "surrogateescape"))


class FailedList(RecordFile):
    """``--failed-to FILE``: failed and unfinished paths, raw bytes, in the input's format,
    so ``hpccache flush --from-file FILE`` (with the same ``-0``) retries exactly them.

    A name holding the separator (a newline in a name found by ``--recursive``, or given as
    an argument) cannot be listed: written raw it would come back as two wrong paths and the
    real file would never be retried. It is left out, counted in :attr:`unlisted`, and the
    run says so (:meth:`notes`); the report has it, with ``path_b64``."""

    def __init__(self, out: OutputFile, separator: bytes) -> None:
        super().__init__(out)
        self.separator = separator
        self.count = 0
        self.unlisted = 0

    def emit(self, result: FileResult) -> None:
        if result.outcome in RETRY_OUTCOMES:
            if self.separator in result.path:
                self.unlisted += 1
                return
            self._write(result.path + self.separator)
            self.count += 1

    def notes(self) -> list[str]:
        if not self.unlisted:
            return []
        sep = "newline" if self.separator == b"\n" else "NUL"
        return [f"{self.unlisted:,} failed or unfinished "
                f"{'path has' if self.unlisted == 1 else 'paths have'} a {sep} in the name "
                f"and cannot be listed in {self.label} ({sep}-separated)"]

