"""Back-end verification: when the emulated cache notices that a storage target changed.

A real HPC Cache serves its own copy of a file until it *verifies* it: when the target's
verification timer (the usage model's, or the target's own) has run out since the last check,
or when a READDIRPLUS of the file's directory is served ("a directory operation that includes a
readdirplus request ... causes the cache to compare and update files"). A file changed directly
on the back end (another site, a pre-processing step on the NAS) is therefore *stale* in the
cache until then; ``hpccache refresh`` exists to end that early. A cache copy with changes of
its own (dirty) always wins over the back end.

How the emulator tells "the back end changed" from "the cache copy changed" (both just make
the two files differ): when the two sides are known to agree (a write-back finished, or a
comparison found the same bytes) it records both files' signatures (mtime, ctime, inode,
size). Later:

- cache copy's signature changed since -> dirty (the client wrote through the cache);
- cache copy unchanged, back end's changed -> stale: clean, served as it was until verified;
  verification drops the copy, so the back end's version is what is served from then on.

A copy never seen agreeing has no record and is judged as before (dirty when it differs).
For targets whose usage model does not cache writes, every cache copy is clean by definition,
so a copy that differs from the back end is stale.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable

from hpccache_cli.emulator.nodes import REAL, Node
from hpccache_cli.emulator.writeback import ContentCompare

Sig = tuple[int, int, int, int]  # mtime_ns, ctime_ns, inode, size


def _sig(path: str, *, follow: bool) -> Sig | None:
    """A regular file's signature, or None (missing, or not a regular file)."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size


class BackendVerifier:
    """Per-path agreement records, verification times and the stale/dirty judgement."""

    def __init__(self, intervals: dict[str, float | None], compare: ContentCompare,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.intervals = intervals  # target name -> verification timer (None: never)
        self.compare = compare
        self.clock = clock
        self._agreed: dict[str, tuple[Sig, Sig]] = {}  # ns path -> (cache sig, back-end sig)
        self._checked: dict[str, float] = {}  # ns path -> when last verified (clock)
        self.dropped = 0  # stale copies dropped by verification (tests wait on it)

    def record(self, node: Node) -> None:
        """Both sides agree now (a write-back just copied the cache's bytes over)."""
        cache, backend = _sig(node.cache_path, follow=False), _sig(node.backend_path,
                                                                   follow=True)
        if cache is not None and backend is not None:
            self._agreed[node.path] = (cache, backend)
            self._checked.setdefault(node.path, self.clock())

    def dirty(self, node: Node) -> bool:
        """Does a write-caching target's cache copy hold data the back end lacks?"""
        agreed = self._agreed.get(node.path)
        if agreed is not None:
            if _sig(node.cache_path, follow=False) == agreed[0]:
                return False  # unchanged since they agreed: clean (maybe stale)
            del self._agreed[node.path]
        differs = self.compare.differs(node.cache_path, node.backend_path)
        if not differs:
            self.record(node)
        return differs

    def stale(self, node: Node) -> bool:
        """A clean cache copy older than the back end's version?"""
        if node.kind != REAL:
            return False
        cache = _sig(node.cache_path, follow=False)
        if cache is None:
            return False
        if not node.caches_writes:  # writes went straight through: any difference is theirs
            return self.compare.differs(node.cache_path, node.backend_path)
        agreed = self._agreed.get(node.path)
        if agreed is None or agreed[0] != cache:
            return False
        return _sig(node.backend_path, follow=True) != agreed[1]

    def verify(self, node: Node) -> bool:
        """Compare now; a stale copy is dropped (the back end's version is served from now
        on). True when one was dropped."""
        self._checked[node.path] = self.clock()
        if not self.stale(node):
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(node.cache_path)
        self._agreed.pop(node.path, None)
        self.dropped += 1
        return True

    def due(self, node: Node) -> bool:
        """Has the target's verification timer run out since this path was last checked?
        (The first sight of a path starts its timer.)"""
        target = node.target
        interval = self.intervals.get(target.name) if target is not None else None
        if interval is None or node.kind != REAL:
            return False
        now = self.clock()
        last = self._checked.setdefault(node.path, now)
        return now - last >= interval


__all__ = ["BackendVerifier"]
