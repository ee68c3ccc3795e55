"""Directory file handles, cached and looked up once; missing directories remembered briefly.

flush_file.py LOOKUPs every component of every path: for ``a/b/c/file`` that is four round
trips per file, and the three directory lookups repeat for every file of the directory. Here
directory handles sit in a bounded LRU keyed by ``(export, directory path)``; concurrent
files in a directory nobody has looked up yet share *one* in-flight lookup instead of racing
with identical ones. Roots (one MOUNT per export) are kept apart and never evicted. A STALE
answer drops a directory and everything below it, so the next file looks it up again.

Directories found missing (the caller decides which failures mean that: NOENT, not a
directory) are remembered in a second, smaller LRU, so the thousands of files of a deleted
or never-created tree fail at once instead of each paying a LOOKUP. Those entries live only
``negative_ttl`` seconds (monotonic clock): input is streamed while jobs may still be
creating directories, so "missing" is a fact about the last second, not about the run.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from hpccache_cli.flush.pool import DeadlineExceeded, NoTimeLeft

Key = tuple[bytes, bytes]
#: Builds the exception a file under a remembered-missing directory fails with (a fresh one
#: per file: re-raising one shared instance would chain every raiser's traceback onto it).
FailureFactory = Callable[[], Exception]
#: Given a loader's failure: the factory to remember it by, or None to not remember it.
Remember = Callable[[Exception], FailureFactory | None]

#: How long a directory found missing stays "missing" without asking again (seconds). Short:
#: a job may create it a moment later; long enough that a burst of files under a missing
#: directory (streamed input arrives in bursts) costs one LOOKUP, not one per file.
NEGATIVE_TTL = 1.0
#: Missing directories remembered at once (LRU beyond that).
NEGATIVE_CAPACITY = 4096


class _LoaderGone(Exception):
    """The task doing a shared lookup was cancelled; a waiter should do the lookup itself.
    ``awaited``: what the loader was waiting for when its own time ran out."""

    def __init__(self, awaited: str = "") -> None:
        super().__init__(awaited)
        self.awaited = awaited


class HandleCache:
    """Bounded LRU of directory handles with in-flight lookup sharing, plus a short-lived
    bounded LRU of directories found missing.

    ``clock`` and ``negative_ttl`` are parameters so tests can step time instead of sleeping
    through it; ``negative_ttl <= 0`` turns the memory of missing directories off.
    """

    def __init__(
        self,
        capacity: int = 16384,
        *,
        negative_capacity: int = NEGATIVE_CAPACITY,
        negative_ttl: float = NEGATIVE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = max(1, capacity)
        self.negative_capacity = max(1, negative_capacity)
        self.negative_ttl = negative_ttl
        self._clock = clock
        self._lru: OrderedDict[Key, bytes] = OrderedDict()
        self._roots: dict[bytes, bytes] = {}
        self._inflight: dict[Key, asyncio.Future[bytes]] = {}
        # key -> (expiry on ``clock``, how to fail a file under it)
        self._missing: OrderedDict[Key, tuple[float, FailureFactory]] = OrderedDict()
        self.negative_hits = 0  # files failed from a remembered-missing directory, no LOOKUP

    def __len__(self) -> int:
        return len(self._lru)

    @property
    def has_missing(self) -> bool:
        """Is any directory remembered as missing (then :meth:`missing` must be asked)?"""
        return bool(self._missing)

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
        self._missing.pop(key, None)  # found after all: no longer missing
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

    # -- missing directories ------------------------------------------------------------------

    def remember_missing(self, export: bytes, path: bytes, failure: FailureFactory) -> None:
        """Remember for ``negative_ttl`` s that looking up directory ``path`` failed so."""
        if self.negative_ttl <= 0 or not path:
            return
        key = (export, path)
        self._missing[key] = (self._clock() + self.negative_ttl, failure)
        self._missing.move_to_end(key)
        while len(self._missing) > self.negative_capacity:
            self._missing.popitem(last=False)

    def _missing_entry(self, key: Key, now: float) -> FailureFactory | None:
        entry = self._missing.get(key)
        if entry is None:
            return None
        if now >= entry[0]:  # expired: the directory may exist by now, ask again
            del self._missing[key]
            return None
        self._missing.move_to_end(key)  # recency for eviction only; the expiry stays
        return entry[1]

    def missing(self, export: bytes, path: bytes) -> FailureFactory | None:
        """How to fail a file in ``path`` if ``path`` or a directory above it was found
        missing within the TTL, else None. Checking the ancestors too matters: a directory
        below a missing one may still sit in the handle LRU from before it went away."""
        if not self._missing or not path:
            return None
        now = self._clock()
        end = path.find(b"/")
        while True:
            prefix = path if end < 0 else path[:end]
            failure = self._missing_entry((export, prefix), now)
            if failure is not None:
                self.negative_hits += 1
                return failure
            if end < 0:
                return None
            end = path.find(b"/", end + 1)

    # -- lookups ------------------------------------------------------------------------------

    async def get_or_load(
        self, export: bytes, path: bytes, loader: Callable[[], Awaitable[bytes]],
        remember: Remember | None = None,
    ) -> bytes:
        """The cached handle, or the result of ``loader()``, run once for concurrent askers.

        Errors of the loader reach every waiter (they all asked the same question). If the
        loading task is cancelled or its own file's deadline passes, one waiter takes over
        with its own deadline. A failure that
        ``remember`` turns into a factory is also remembered for ``negative_ttl`` s: askers
        in that time fail at once with the factory's exception, without a lookup.
        """
        key = (export, path)
        awaited = ""  # what a gone loader we waited on was waiting for
        while True:
            fh = self.get(export, path)
            if fh is not None:
                return fh
            if self._missing:
                failure = self._missing_entry(key, self._clock())
                if failure is not None:
                    self.negative_hits += 1
                    raise failure()
            fut = self._inflight.get(key)
            if fut is None:
                break
            try:
                return await asyncio.shield(fut)
            except _LoaderGone as gone:
                awaited = gone.awaited or awaited
                continue
        fut = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            fh = await loader()
        except NoTimeLeft:  # after waiting on a loader whose time ran out: say what for
            fut.set_exception(_LoaderGone(awaited))
            fut.exception()
            if awaited:
                raise DeadlineExceeded(awaited) from None
            raise
        except DeadlineExceeded as exc:  # the loading file's own time ran out: not the waiters'
            fut.set_exception(_LoaderGone(exc.awaited))
            fut.exception()
            raise
        except Exception as exc:
            factory = remember(exc) if remember is not None else None
            if factory is not None:
                self.remember_missing(export, path, factory)
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
