"""Directory file handles, cached and looked up once.

flush_file.py LOOKUPs every component of every path: for ``a/b/c/file`` that is four round
trips per file, and the three directory lookups repeat for every file of the directory. Here
directory handles sit in a bounded LRU keyed by ``(export, directory path)``; concurrent
files in a directory nobody has looked up yet share *one* in-flight lookup instead of racing
with identical ones. Roots (one MOUNT per export) are kept apart and never evicted. A STALE
answer drops a directory and everything below it, so the next file looks it up again.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

Key = tuple[bytes, bytes]


class _LoaderGone(Exception):
    """The task doing a shared lookup was cancelled; a waiter should do the lookup itself."""


class HandleCache:
    """Bounded LRU of directory handles with in-flight lookup sharing."""

    def __init__(self, capacity: int = 16384) -> None:
        self.capacity = max(1, capacity)
        self._lru: OrderedDict[Key, bytes] = OrderedDict()
        self._roots: dict[bytes, bytes] = {}
        self._inflight: dict[Key, asyncio.Future[bytes]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._lru)

    def get(self, export: bytes, path: bytes) -> bytes | None:
        if not path:
            return self._roots.get(export)
        key = (export, path)
        fh = self._lru.get(key)
        if fh is not None:
            self._lru.move_to_end(key)
        return fh

    def put(self, export: bytes, path: bytes, fh: bytes) -> None:
        if not path:
            self._roots[export] = fh
            return
        key = (export, path)
        self._lru[key] = fh
        self._lru.move_to_end(key)
        while len(self._lru) > self.capacity:
            self._lru.popitem(last=False)

    def invalidate(self, export: bytes, path: bytes) -> None:
        """Forget ``path`` and every directory below it (``b""``: the whole export)."""
        if not path:
            self._roots.pop(export, None)
            stale = [k for k in self._lru if k[0] == export]
        else:
            prefix = path + b"/"
            stale = [k for k in self._lru if k[0] == export and
                     (k[1] == path or k[1].startswith(prefix))]
        for key in stale:
            del self._lru[key]

    async def get_or_load(
        self, export: bytes, path: bytes, loader: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """The cached handle, or the result of ``loader()``, run once for concurrent askers.

        Errors of the loader reach every waiter (they all asked the same question). If the
        loading task is cancelled (its file timed out), one waiter takes over.
        """
        key = (export, path)
        while True:
            fh = self.get(export, path)
            if fh is not None:
                self.hits += 1
                return fh
            fut = self._inflight.get(key)
            if fut is None:
                break
            try:
                return await asyncio.shield(fut)
            except _LoaderGone:
                continue
        self.misses += 1
        fut = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            fh = await loader()
        except Exception as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        except BaseException:  # cancelled: a waiter takes over
            fut.set_exception(_LoaderGone())
            fut.exception()
            raise
        else:
            self.put(export, path, fh)
            fut.set_result(fh)
            return fh
        finally:
            if self._inflight.get(key) is fut:
                del self._inflight[key]
