"""Record files that are FIFOs or pipes (``--report /dev/stdout | jq``, ``--failed-to fifo``):
opened and written so that no reader, or a stuck one, can block the run.

Opening a FIFO for writing blocks until a reader opens it, forever if none does, and a write
into a full pipe blocks until the reader takes bytes; in both waits a signal handler that
does not raise cannot end the wait (the call is simply retried). The choice here, among
refusing FIFOs up front, opening at the end, or opening without blocking:

* **open without blocking, wait a bounded time for a reader.** ``O_NONBLOCK`` makes the open
  fail at once (``ENXIO``) while nobody reads; it is retried every 50 ms for at most
  :data:`READER_WAIT` seconds, announced through ``on_wait`` at once (a reader started in
  the background a moment after the run is the usual case, and works). No reader by then: the
  output fails with one line. Refusing outright would break that usual case; opening only at
  the end would hide a mistyped FIFO until hours of flushing are over.
* **never block a write during the run.** The descriptor stays non-blocking; what the pipe
  does not take at once waits in memory, and is pushed again at the next write. A reader
  :data:`BACKLOG` bytes behind is stuck, not slow: that output fails on its own (the other
  outputs carry on, exit 2). At the end, what is left is pushed with a bounded wait: a reader
  that takes nothing for :data:`READER_WAIT` seconds, or a signal during that wait (the
  caller's count of them, ``signals``, grows), fails the output; the run's other outputs
  are written all the same. A signal from before the wait does not end it: a run stopped by
  Ctrl-C still gives a slow reader its bounded time.
"""

from __future__ import annotations

import errno
import os
import select
import time
from collections.abc import Callable

#: Seconds an output waits for a FIFO's reader to open it, or at the end for a stuck reader
#: to take more bytes. A live consumer (jq, gzip, tee) takes a pipe's 64 KiB in milliseconds.
READER_WAIT = 10.0
#: Bytes a pipe's reader may fall behind during the run before the output is given up.
BACKLOG = 16 << 20
_PUSH_AT = 8 << 10  # write to the pipe once this much is waiting (as a buffered file would)
_POLL = 0.05


def _none() -> int:
    return 0


def open_fifo(path: str, *, wait: float = READER_WAIT,
              on_wait: Callable[[str], None] | None = None,
              signals: Callable[[], int] = _none) -> int:
    """A non-blocking write descriptor on the FIFO (or pipe) ``path``, once a reader has it
    open; ``OSError(ENXIO)`` saying how long it waited when none did, ``OSError(EINTR)`` when
    a signal came meanwhile (``signals()``, the caller's count of them, grew)."""
    deadline = time.monotonic() + wait
    seen = signals()
    announced = False
    while True:
        try:
            return os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # (ENXIO: a FIFO nobody has open for reading)
                raise
        if signals() != seen:
            raise OSError(errno.EINTR, "interrupted while waiting for a reader of this FIFO")
        left = deadline - time.monotonic()
        if left <= 0:
            raise OSError(errno.ENXIO, f"no reader opened this FIFO in {wait:g} s: start its "
                          "reader first, or give a regular file")
        if not announced and on_wait is not None:
            on_wait(f"waiting up to {wait:g} s for a reader of this FIFO")
            announced = True
        time.sleep(min(_POLL, left))


class PipeWriter:
    """A binary stream on a non-blocking pipe descriptor (see the module docstring):
    ``write`` never waits, ``flush`` waits a bounded time, ``close`` drops what is unsent
    (a commit flushes first; an abandon must not wait for a reader)."""

    def __init__(self, fd: int, *, stall: float = READER_WAIT, backlog: int = BACKLOG,
                 signals: Callable[[], int] = _none) -> None:
        self._fd = fd
        self._buf = bytearray()
        self.stall = stall
        self.backlog = backlog
        self.signals = signals

    def fileno(self) -> int:
        return self._fd

    def write(self, data: bytes) -> int:
        if self._fd < 0:
            raise ValueError("write to a closed pipe")
        self._buf += data
        if len(self._buf) >= _PUSH_AT:
            self._push()
            if len(self._buf) > self.backlog:
                raise OSError(errno.ENOBUFS, f"its reader fell {self.backlog >> 20} MiB "
                              "behind (stuck, not reading)")
        return len(data)

    def _push(self) -> None:
        """Write what the pipe takes now, without waiting."""
        view = memoryview(self._buf)
        sent = 0
        try:
            while sent < len(view):
                try:
                    n = os.write(self._fd, view[sent:sent + (1 << 20)])
                except BlockingIOError:
                    break
                sent += n
        finally:
            view.release()
            del self._buf[:sent]

    def flush(self) -> None:
        """Send everything, waiting at most ``stall`` seconds for each bit of progress."""
        if self._fd < 0:
            return
        last = time.monotonic()
        seen = self.signals()
        while self._buf:
            before = len(self._buf)
            self._push()
            now = time.monotonic()
            if len(self._buf) < before:
                last = now
                continue
            if self.signals() != seen:
                raise OSError(errno.EINTR, "interrupted while its reader took nothing")
            left = last + self.stall - now
            if left <= 0:
                raise OSError(errno.ETIMEDOUT,
                              f"its reader took nothing for {self.stall:g} s (stuck)")
            select.select([], [self._fd], [], min(left, 0.2))

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            self._buf.clear()
            os.close(fd)
