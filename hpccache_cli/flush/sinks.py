"""Where results go as they happen: report file, failed list, caller callbacks.

Sinks are synchronous and cheap (buffered writes) because they run on the event loop for
every path. Nothing here keeps results: a million paths stream straight to disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import IO

from hpccache_cli.flush.results import RETRY_OUTCOMES, FileResult, FlushSummary


class Sink:
    """Base sink: every hook is optional."""

    #: True for a sink that records each path's final outcome in a file (``--report``,
    #: ``--failed-to``, ``--junit``): under ``--fallback`` the runner holds back the failures a
    #: target flush may cover and gives them to it after the fallback, with what it did (see
    #: ``hpccache_cli.cli.flush.fallback_outputs``). Consoles and log commands are live: not
    #: records.
    record = False

    def attach(self, summary: FlushSummary) -> None:
        """Called once before the run with the live summary (progress reads counters)."""

    def emit(self, result: FileResult) -> None:
        """One path's final outcome."""

    def log(self, message: str) -> None:
        """A run-level event worth showing with -v (address down, restarts, ...)."""

    def close(self) -> None:
        """The run ended (normally or not): flush files."""


class MultiSink(Sink):
    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)

    def attach(self, summary: FlushSummary) -> None:
        for sink in self.sinks:
            sink.attach(summary)

    def emit(self, result: FileResult) -> None:
        for sink in self.sinks:
            sink.emit(result)

    def log(self, message: str) -> None:
        for sink in self.sinks:
            sink.log(message)

    def close(self) -> None:
        errors: list[BaseException] = []
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as exc:  # close every file even if one fails
                errors.append(exc)
        if errors:
            raise errors[0]


class CallbackSink(Sink):
    """Hands each result to a caller's function (the Python API's ``on_result``)."""

    def __init__(self, on_result: Callable[[FileResult], None]) -> None:
        self.on_result = on_result

    def emit(self, result: FileResult) -> None:
        self.on_result(result)


class JsonlReport(Sink):
    """``--report FILE``: one JSON object per path (path, outcome, reason, seconds, attempts)."""

    record = True

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def emit(self, result: FileResult) -> None:
        self.stream.write(json.dumps(result.to_json(), separators=(",", ":")) + "\n")

    def close(self) -> None:
        self.stream.flush()
        self.stream.close()


class FailedList(Sink):
    """``--failed-to FILE``: failed and unfinished paths, raw bytes, in the input's format,
    so ``hpccache flush --from-file FILE`` (with the same ``-0``) retries exactly them."""

    record = True

    def __init__(self, stream: IO[bytes], separator: bytes) -> None:
        self.stream = stream
        self.separator = separator
        self.count = 0

    def emit(self, result: FileResult) -> None:
        if result.outcome in RETRY_OUTCOMES:
            self.stream.write(result.path + self.separator)
            self.count += 1

    def close(self) -> None:
        self.stream.flush()
        self.stream.close()


class CollectSink(Sink):
    """Keeps every result in a list (small runs and tests only)."""

    def __init__(self) -> None:
        self.results: list[FileResult] = []

    def emit(self, result: FileResult) -> None:
        self.results.append(result)
