"""A flush with nothing to read ends without the engine: :class:`NothingToRead`.

``hpccache flush-file`` and ``hpccache flush`` are often called with an empty list (a batch
job's epilogue when the job wrote nothing, one pipeline step among many). Such a run used to
import the flush engine, asyncio and the NFS client, start an event loop and stop it: most of
the command's time, for nothing (issue #14). When the input is known to be empty before
anything is read (:func:`hpccache_cli.flush.inputs.known_empty`), the runner takes this
stand-in instead: every option check, output file, pipeline hook, summary and exit code is
the runner's as always, and the summary is the one the engine gives an empty input
(tests/test_flush_empty_input.py compares them).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from hpccache_cli.flush.inputs import PathSource, known_empty
from hpccache_cli.flush.options import FlushOptions
from hpccache_cli.flush.resolve import Resolver
from hpccache_cli.flush.results import FlushSummary
from hpccache_cli.flush.sinks import Sink

if TYPE_CHECKING:  # imported when there is input
    from hpccache_cli.flush.engine import FlushEngine


class NothingToRead:
    """The engine's stand-in for an input known to hold no path (``known_empty``: an empty
    file, ``/dev/null``, a closed empty pipe): what :class:`FlushEngine` does with such an
    input (attach the summary to the sink; no path; input complete), with no event loop."""

    def __init__(self, options: FlushOptions, sink: Sink) -> None:
        self.options = options
        self.sink = sink

    def request_stop(self) -> None:
        """Nothing runs that could be stopped."""

    def run(self, source: PathSource) -> FlushSummary:
        started = time.monotonic()
        summary = FlushSummary(mode=self.options.mode, status_only=self.options.status_only)
        summary.expected_input = getattr(source, "expected", None)
        self.sink.attach(summary)
        summary.input_complete = True
        source.close()
        summary.seconds = time.monotonic() - started
        return summary


def make_engine(source: PathSource, resolver: Resolver, options: FlushOptions,
                sink: Sink) -> FlushEngine | NothingToRead:
    """The flush engine, or :class:`NothingToRead` when ``source`` is known to be empty."""
    if known_empty(source):
        return NothingToRead(options, sink)
    from hpccache_cli.flush.engine import FlushEngine

    return FlushEngine(resolver, options, sink)
