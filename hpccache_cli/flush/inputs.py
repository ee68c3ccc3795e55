"""Streaming sources of raw path names (bytes) for the flush engine.

Names are bytes from start to end: a file name may be any bytes the file system allows, and
re-encoding would silently flush a different file. Input is newline- or NUL-separated
(``find -print0``); empty records are skipped. Sources hand out *batches* (one read's worth of
records) so per-path overhead stays low, and a reader thread with a small bounded queue lets
flushing start while stdin is still being written, with backpressure instead of buffering a
million names.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:  # asyncio is imported where a run uses it: see known_empty
    import asyncio

NEWLINE = b"\n"
NUL = b"\0"
CHUNK = 1 << 16
BATCH = 1024


class PathSource(Protocol):
    """Batches of raw names; ``None`` at the end. ``next_batch`` must be safe to cancel.

    A source may also have ``expected``: how many records it holds, when known up front
    (progress percentage and ETA from the start); the engine reads it with ``getattr``.
    """

    separator: bytes

    async def next_batch(self) -> list[bytes] | None: ...

    def close(self) -> None: ...


def split_records(chunks: Iterable[bytes], sep: bytes = NEWLINE) -> Iterator[list[bytes]]:
    """Split a byte stream into batches of non-empty records (a record may span chunks)."""
    tail = b""
    for chunk in chunks:
        if not chunk:
            continue
        parts = (tail + chunk).split(sep) if tail else chunk.split(sep)
        tail = parts.pop()
        batch = [p for p in parts if p]
        if batch:
            yield batch
    if tail:
        yield [tail]


def count_records(fd: int, sep: bytes = NEWLINE, chunk: int = 1 << 20) -> int | None:
    """The non-empty records from ``fd``'s current offset to its end, if ``fd`` is a regular
    file (else None: a pipe cannot be read twice). Uses ``pread``, so the offset the reader
    starts from does not move. Cheap: a million paths take well under a second."""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        offset = os.lseek(fd, 0, os.SEEK_CUR)
        count, tail = 0, b""
        while data := os.pread(fd, chunk, offset):
            offset += len(data)
            parts = (tail + data).split(sep)
            tail = parts.pop()
            count += len(parts) - parts.count(b"")
    except OSError:
        return None
    return count + (1 if tail else 0)


def to_raw(path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> bytes:
    """A path argument as the exact bytes the OS gave us (``os.fsencode``: surrogateescape)."""
    return os.fsencode(path)


class IterableSource:
    """Names from memory (argv, an API caller's iterable): batches without a thread.

    Iterating the caller's iterable happens on the event loop; that is fine for lists and
    generators that compute names, and keeps the API free of thread-safety surprises.
    """

    def __init__(self, paths: Iterable[str | bytes], separator: bytes = NEWLINE) -> None:
        self.separator = separator
        self._it = iter(paths)
        self._done = False
        self.expected: int | None = len(paths) if isinstance(paths, (list, tuple)) else None

    async def next_batch(self) -> list[bytes] | None:
        if self._done:
            return None
        batch: list[bytes] = []
        for path in self._it:
            raw = to_raw(path)
            if raw:
                batch.append(raw)
            if len(batch) >= BATCH:
                break
        else:
            self._done = True
        if not batch and self._done:
            return None
        import asyncio  # (loaded: this runs in its event loop)

        await asyncio.sleep(0)  # let workers run between batches of a huge list
        return batch

    def close(self) -> None:
        self._done = True


class ThreadedReader:
    """Reads a binary stream in a daemon thread into a bounded asyncio queue.

    Why a thread: stdin may be a pipe fed slowly by ``find`` or a file on a slow mount; a
    blocking read must never stall the event loop that drives the flushes. The queue holds at
    most ``max_batches`` batches, so a fast producer waits for the flushes (backpressure).
    """

    def __init__(
        self,
        stream: BinaryIO | int,
        separator: bytes = NEWLINE,
        max_batches: int = 8,
        owns_fd: bool = False,
    ) -> None:
        self.separator = separator
        self._fd = stream if isinstance(stream, int) else stream.fileno()
        #: The descriptor read (the runner checks no output is this same file).
        self.fd: int | None = self._fd
        self._owns_fd = owns_fd
        self._max = max_batches
        self._queue: asyncio.Queue[list[bytes] | BaseException | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._eof = False
        self.expected = count_records(self._fd, separator)  # None unless a regular file

    def _start(self) -> None:
        import asyncio

        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(self._max)
        self._thread = threading.Thread(target=self._run, name="hpccache-input", daemon=True)
        self._thread.start()

    def _chunks(self) -> Iterator[bytes]:
        while not self._stopped.is_set():
            chunk = os.read(self._fd, CHUNK)
            if not chunk:
                return
            yield chunk

    def _put(self, item: list[bytes] | BaseException | None) -> bool:
        import asyncio

        assert self._loop is not None and self._queue is not None
        put = self._queue.put(item)
        try:
            fut = asyncio.run_coroutine_threadsafe(put, self._loop)
        except BaseException:  # the loop is closed: the put never ran
            put.close()
            return False
        try:
            fut.result()
        except BaseException:  # the put was cancelled at shutdown
            return False
        return True

    def _run(self) -> None:
        try:
            for batch in split_records(self._chunks(), self.separator):
                for start in range(0, len(batch), BATCH * 4):
                    if not self._put(batch[start : start + BATCH * 4]):
                        return
        except OSError as exc:
            self._put(exc)
            return
        finally:
            if self._owns_fd:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
        self._put(None)

    async def next_batch(self) -> list[bytes] | None:
        if self._eof:
            return None
        if self._queue is None:
            self._start()
        assert self._queue is not None
        item = await self._queue.get()
        if item is None:
            self._eof = True
            return None
        if isinstance(item, BaseException):
            self._eof = True
            raise item
        return item

    def close(self) -> None:
        """Stop reading. A read already blocked in the thread ends with the process; a
        descriptor it owns and never started reading (nothing to read) is closed here."""
        self._stopped.set()
        self._eof = True
        if self._thread is None and self._owns_fd:
            self._owns_fd = False
            with contextlib.suppress(OSError):
                os.close(self._fd)


class StrippedSource:
    """Another source with surrounding whitespace removed from each name (flush_file.py
    reads ``line.strip()``); names left empty are dropped like blank lines."""

    def __init__(self, inner: PathSource) -> None:
        self.inner = inner
        self.separator = inner.separator
        # An estimate: lines of only whitespace, dropped here, are still counted.
        self.expected: int | None = getattr(inner, "expected", None)
        self.fd: int | None = getattr(inner, "fd", None)

    async def next_batch(self) -> list[bytes] | None:
        while True:
            batch = await self.inner.next_batch()
            if batch is None:
                return None
            stripped = [s for s in (raw.strip() for raw in batch) if s]
            if stripped:
                return stripped

    def close(self) -> None:
        self.inner.close()


def known_empty(source: PathSource) -> bool:
    """True when ``source`` holds no path for certain, known without reading it or waiting:
    a regular file or list with no record, ``/dev/null``, or a pipe whose writer has closed
    it with nothing left in it. False whenever unsure (a pipe still open, a terminal): then
    the run reads the input as always.

    Why: a flush with nothing to do (an epilogue whose job wrote nothing) ends with the
    same summary before the engine, asyncio and the NFS client are even imported, which
    is most of such a run's time (issue #14).
    """
    if isinstance(source, StrippedSource):
        return known_empty(source.inner)
    if getattr(source, "expected", None) == 0:
        return True
    return isinstance(source, ThreadedReader) and _fd_at_end(source._fd)


def _fd_at_end(fd: int) -> bool:
    """``fd`` is ``/dev/null``, or a pipe at its end (written, closed and emptied)."""
    import select

    try:
        st = os.fstat(fd)
        if stat.S_ISCHR(st.st_mode):
            null = os.stat(os.devnull)
            return stat.S_ISCHR(null.st_mode) and st.st_rdev == null.st_rdev
        if not stat.S_ISFIFO(st.st_mode):
            return False
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        events = poller.poll(0)
    except (OSError, ValueError, AttributeError):  # (no poll on this platform: unsure)
        return False
    # Linux and BSD: a closed, empty pipe polls as hang-up without data to read
    return any(ev & select.POLLHUP and not ev & select.POLLIN for _, ev in events)


def open_source(
    paths: Iterable[str] | None, from_file: str | None, separator: bytes
) -> tuple[PathSource, str]:
    """The source for CLI options, and a label for messages (``argv``, ``stdin``, a file name).

    Raises ``OSError`` if the file cannot be opened; the caller turns it into a usage error.
    """
    if from_file is not None and from_file != "-":
        fd = os.open(from_file, os.O_RDONLY)
        return ThreadedReader(fd, separator, owns_fd=True), from_file
    if from_file == "-" or not paths:
        import sys

        return ThreadedReader(sys.stdin.buffer, separator), "stdin"
    return IterableSource(list(paths), separator), "arguments"

