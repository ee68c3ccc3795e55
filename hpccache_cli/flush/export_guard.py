"""``--export`` naming a junction the cache does not have is bad input: exit 2, one line.

Only the cache can say that a junction does not exist (MOUNT answers MNT3ERR_NOENT), and it
says so to the first file, after the run has started. Every file of an ``--ip``/``--export``
run goes to that one export, so none of them can be flushed: rather than one failure line per
file (and a failed list naming every input), the run stops at the first such answer and the
command ends like any other usage error, with one ``hpccache: error:`` line.
"""

from __future__ import annotations

from collections.abc import Callable

from hpccache_cli.flush.errors import FlushOptionError
from hpccache_cli.flush.results import NO_EXPORT, FileResult, FlushSummary
from hpccache_cli.flush.sinks import Sink


class ExportGuard(Sink):
    """Passes results to ``inner`` until a file fails for a missing export; then stops the
    run (``stop``, twice: also stop reading input) and swallows the rest."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.stop: Callable[[], None] = lambda: None
        self.reason: str | None = None

    def attach(self, summary: FlushSummary) -> None:
        self.inner.attach(summary)

    def emit(self, result: FileResult) -> None:
        if self.reason is None and result.kind == NO_EXPORT:
            self.reason = result.reason
            self.stop()
            self.stop()
        if self.reason is None:
            self.inner.emit(result)

    def log(self, message: str) -> None:
        self.inner.log(message)

    def notice(self, message: str) -> None:
        self.inner.notice(message)

    def tick(self) -> None:
        self.inner.tick()

    def close(self) -> None:
        self.inner.close()

    def check(self) -> None:
        """Raise the usage error (FlushOptionError naming ``export``) if the run stopped for
        a missing export."""
        if self.reason is not None:
            raise FlushOptionError(
                self.reason + "; check {export}: it must be a junction (namespace path) of the "
                "cache, as `hpccache namespace` lists them", fields=("export",),
                hint="no_junction")
