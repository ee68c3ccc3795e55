"""Write-back of dirty cache copies to the emulated storage targets.

One write-back per file at a time (a second flush of a file joins the running one, as the
cache answers "already running"), at most ``parallel`` at once, each taking
``per_file_seconds`` (the emulated back end's latency: an ``asyncio.sleep``, so thousands can
wait without threads). ``failing_paths`` from the live faults never succeed: the file stays
dirty, which is what lets the flush protocol's NOTEMPTY and NFS3ERR_IO answers be tested.

The automatic write-back (a file is written back ``write_back_delay_seconds`` after its last
change) is a periodic scan of the cache directory, walked in a thread so that a large cache
does not stall NFS replies.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import os
import stat
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from hpccache_cli.emulator.config import Faults, WriteBack

if TYPE_CHECKING:
    from hpccache_cli.emulator.nodes import Node

log = logging.getLogger(__name__)
_THREAD_COPY_BYTES = 4 << 20  # copy larger files in a thread: keep the event loop answering
# A comparison of files changed this recently is not cached: two writes within one mtime tick
# would otherwise look unchanged (git's "racy clean" problem).
_RACY_NS = 1_000_000_000


class ContentCompare:
    """Does a cache copy differ from its back-end copy? Sizes first, then bytes, memoized.

    A result is remembered per cache path with both files' (mtime, ctime, inode, size), so
    repeated status flushes of an unchanged file cost two ``stat`` calls.

    Only a *regular file* in the cache directory can be dirty, judged with ``lstat``: a
    symlink there (dangling or not) is not data the cache writes back, and following it
    would call it dirty whenever its target differs, starting write-backs that copy through
    the link and never make it clean. The back-end copy is ``stat``-ed (followed) on purpose:
    it is compared as the write-back writes it (``open`` follows a link), so a finished
    write-back always compares clean.
    """

    def __init__(self) -> None:
        self._memo: dict[str, tuple[tuple[int, ...], bool]] = {}

    def differs(self, cache_path: str, backend_path: str) -> bool:
        try:
            cs = os.lstat(cache_path)
        except OSError:
            return False
        if not stat.S_ISREG(cs.st_mode):
            return False
        try:
            bs = os.stat(backend_path)
        except OSError:
            return True
        if cs.st_size != bs.st_size or not stat.S_ISREG(bs.st_mode):
            return True
        key = (cs.st_mtime_ns, cs.st_ino, cs.st_ctime_ns, bs.st_mtime_ns, bs.st_ino,
               bs.st_ctime_ns, cs.st_size)
        hit = self._memo.get(cache_path)
        if hit is not None and hit[0] == key:
            return hit[1]
        result = not _same_bytes(cache_path, backend_path)
        if time.time_ns() - max(cs.st_ctime_ns, bs.st_ctime_ns) > _RACY_NS:
            self._memo[cache_path] = (key, result)
        return result


def _same_bytes(a: str, b: str) -> bool:
    """Byte comparison with plain file descriptors: no buffered file objects, which cost
    more than the reads themselves for the small files a flush run is made of."""
    fa = os.open(a, os.O_RDONLY)
    try:
        fb = os.open(b, os.O_RDONLY)
        try:
            while True:
                ca, cb = os.read(fa, 1 << 20), os.read(fb, 1 << 20)
                if ca != cb:
                    return False
                if not ca:
                    return True
        finally:
            os.close(fb)
    finally:
        os.close(fa)


def copy_back(node: Node) -> None:
    """Write a node's cache copy over its back-end copy (the write-back itself).

    The back-end file is overwritten in place and then cut to length, not opened with
    O_TRUNC: on ext4 truncating a file to zero and rewriting it forces block allocation on
    close (``auto_da_alloc``), which made this copy most of the emulator's CPU time. Its
    directory is created only when the first open says it is missing.
    """
    src = os.open(node.cache_path, os.O_RDONLY)
    try:
        try:
            dst = os.open(node.backend_path, os.O_WRONLY | os.O_CREAT, 0o644)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(node.backend_path), exist_ok=True)
            dst = os.open(node.backend_path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            written = 0
            while chunk := os.read(src, 1 << 20):
                view = memoryview(chunk)
                while view:  # a write may be short
                    n = os.write(dst, view)
                    view, written = view[n:], written + n
            os.ftruncate(dst, written)  # drops a longer old tail
            # The back end gets the file's mode and times too (a NAS receives a SETATTR
            # after the data): a copy into the cache keeps its mtime all the way down.
            st = os.fstat(src)
            os.fchmod(dst, stat.S_IMODE(st.st_mode))
            os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(dst)
    finally:
        os.close(src)


def copy_is_large(node: Node) -> bool:
    """Should this copy run in a thread (so the event loop keeps answering)?"""
    try:
        return os.stat(node.cache_path).st_size > _THREAD_COPY_BYTES
    except OSError:
        return False


def path_fails(path: str, failing: list[str]) -> bool:
    """Is ``path`` (or a directory above it) listed in ``failing_paths``?"""
    return any(path == p or path.startswith(p + "/") for p in failing)


class WriteBackScheduler:
    """Runs write-backs: one task per file, a semaphore for ``parallel``."""

    def __init__(self, settings: WriteBack, faults: Faults,
                 copy: Callable[[Node], None] = copy_back) -> None:
        self.per_file_seconds = settings.per_file_seconds
        self.parallel = settings.parallel
        self.faults = faults
        self._copy = copy
        self._sem: asyncio.Semaphore | None = None
        self._sem_loop: asyncio.AbstractEventLoop | None = None
        self._slots_free: list[float] = []  # when each slot freed (ideal time), a min-heap
        self._tasks: dict[str, asyncio.Task[bool]] = {}
        self._ends: dict[str, float] = {}  # scheduled end (ideal time) of each in its slot
        self._queued: dict[str, float] = {}  # when each running write-back was asked for
        self._resumed: asyncio.Event | None = None  # set = not paused
        self.active = 0  # write-backs holding a slot of ``parallel``
        self.written = 0
        self.failed = 0
        self.scans = 0  # automatic write-back scans done (tests wait on it)

    @property
    def paused(self) -> bool:
        return self._resumed is not None and not self._resumed.is_set()

    def pause(self) -> None:
        """Hold write-backs before they copy (a back end that stopped accepting data).

        Flushes stay "running" (NOT_SYNC) until :meth:`resume`; this is also how tests observe
        every in-between state without racing the per-file time. Call on the emulator's loop.
        """
        if self._resumed is None:
            self._resumed = asyncio.Event()
        self._resumed.clear()

    def resume(self) -> None:
        if self._resumed is not None:
            self._resumed.set()

    def running(self, path: str) -> bool:
        return path in self._tasks

    def overdue(self, path: str) -> bool:
        """``path``'s write-back is still running although its scheduled end has passed (and
        write-backs are not paused): the emulator's own lateness on a busy loop, which RPC
        count tests tell apart from what the client's poll schedule costs."""
        if path not in self._tasks or self.paused:
            return False
        end = self._ends.get(path)
        if end is None:  # not in a slot yet: late if a slot is free (the loop is behind)
            if self.active >= self.parallel:
                return False
            end = self._queued.get(path, float("inf")) + self.per_file_seconds
        return time.monotonic() >= end

    def running_count(self) -> int:
        return len(self._tasks)

    def slot_free_times(self) -> list[float]:
        """When each used slot is free again on the ideal schedule (loop time), earliest
        first: what the back end has committed to, whatever the event loop's lateness."""
        return sorted(self._slots_free)

    def start(self, node: Node) -> asyncio.Task[bool]:
        """Start writing ``node`` back, or return the write-back already running for it.

        The task's result is True when the bytes reached the back end. Callers that may be
        cancelled (a client connection closing) must ``asyncio.shield`` it: the write-back
        goes on, as on a real cache.
        """
        task = self._tasks.get(node.path)
        if task is None:
            loop = asyncio.get_running_loop()
            # queued now, when the START is answered, not when the task first runs: on a busy
            # loop that may be later than the client's clock starts counting
            self._queued[node.path] = queued = loop.time()
            task = loop.create_task(self._run(node, queued))
            self._tasks[node.path] = task
        return task

    async def _run(self, node: Node, queued: float) -> bool:
        try:
            loop = asyncio.get_running_loop()
            if self._sem is None or self._sem_loop is not loop:  # one per loop (asyncio.run)
                self._sem, self._sem_loop = asyncio.Semaphore(self.parallel), loop
                self._slots_free = []
            async with self._sem:
                self.active += 1
                try:
                    return await self._write(node, queued)
                finally:
                    self.active -= 1
        finally:
            self._tasks.pop(node.path, None)
            self._ends.pop(node.path, None)
            self._queued.pop(node.path, None)

    async def _write(self, node: Node, queued: float) -> bool:
        """One write-back in its slot: ``per_file_seconds`` of back-end time, then the copy.

        The back-end time is kept on an ideal schedule: it starts when the slot became free
        (or when the write-back was queued, if later), not when this task got to run. A busy
        event loop runs timers and semaphore hand-offs late; measured from "now" each
        write-back would take 50 ms plus that lateness, and the back end would deliver less
        than its stated ``parallel / per_file_seconds`` files per second, which is what the
        flush benchmarks compare against.
        """
        loop = asyncio.get_running_loop()
        slot = heapq.heappop(self._slots_free) if self._slots_free else queued
        end = max(slot, queued) + self.per_file_seconds
        self._ends[node.path] = end
        if self.per_file_seconds > 0:
            await asyncio.sleep(max(0.0, end - loop.time()))
        held = self.paused
        while self._resumed is not None and not self._resumed.is_set():
            await self._resumed.wait()
        # The slot is free again at the scheduled end; after a pause (a back end that stopped
        # accepting data), from now: the queue must not catch up in zero time.
        heapq.heappush(self._slots_free, loop.time() if held else end)
        if path_fails(node.path, self.faults.failing_paths):
            self.failed += 1
            return False
        try:
            if copy_is_large(node):
                await asyncio.to_thread(self._copy, node)
            else:
                self._copy(node)
        except OSError as exc:
            log.warning("write-back of %s failed: %s", node.path, exc)
            self.failed += 1
            return False
        self.written += 1
        return True

    async def close(self) -> None:
        """Cancel running write-backs (emulator shutdown)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
