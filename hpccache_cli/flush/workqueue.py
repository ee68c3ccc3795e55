"""The engine's bounded work queue: producers are woken per batch, not per item.

Why not ``asyncio.Queue``: its ``put`` wakes a waiting producer for every slot that frees.
The feeder is nearly always ahead of the workers, so the queue sits full and each file a
worker took cost one feeder wake-up (a future, a loop callback, a task step) just to put the
next path. Here a producer waits until the queue has drained to ``low`` and then refills it
in one go, and consumers take items without a coroutine when there are any (``take``).
``task_done``/``join`` count items to their outcome, as ``asyncio.Queue`` does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class WorkQueue(Generic[T]):
    """FIFO of at most ``maxsize`` items; a full queue takes more once it is down to ``low``
    (by default, once an eighth of it is free)."""

    def __init__(self, maxsize: int, low: int | None = None) -> None:
        self.maxsize = max(1, maxsize)
        # Default: refill once an eighth is free (32 of 256): few wake-ups, and a refill's
        # admissions (resolve, dedup) hold the loop for a short while only.
        default = self.maxsize - max(1, self.maxsize // 8)
        self.low = default if low is None else max(0, min(low, self.maxsize - 1))
        self._items: deque[T] = deque()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: list[asyncio.Future[None]] = []
        self._joiners: list[asyncio.Future[None]] = []
        self._unfinished = 0

    def __len__(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return len(self._items) >= self.maxsize

    # -- producers --------------------------------------------------------------------------

    def put_nowait(self, item: T) -> None:
        """Add ``item`` whatever the size (the caller checked ``full``, or must not wait)."""
        self._items.append(item)
        self._unfinished += 1
        if self._getters:
            self._wake_getter()

    async def put(self, item: T) -> None:
        """Add ``item``; when the queue is full, first wait until it has drained to ``low``."""
        if len(self._items) >= self.maxsize:
            loop = asyncio.get_running_loop()
            while len(self._items) > self.low:
                fut = loop.create_future()
                self._putters.append(fut)
                try:
                    await fut
                finally:
                    if fut in self._putters:
                        self._putters.remove(fut)
        self.put_nowait(item)

    # -- consumers --------------------------------------------------------------------------

    def take(self) -> T | None:
        """The next item, or None if there is none now (no coroutine: the common case)."""
        items = self._items
        if not items:
            return None
        item = items.popleft()
        if self._putters and len(items) <= self.low:
            putters, self._putters = self._putters, []
            for fut in putters:
                if not fut.done():
                    fut.set_result(None)
        return item

    def get_nowait(self) -> T:
        item = self.take()
        if item is None:
            raise asyncio.QueueEmpty()
        return item

    async def get(self) -> T:
        """The next item, waiting for one."""
        loop = asyncio.get_running_loop()
        while True:
            item = self.take()
            if item is not None:
                return item
            fut = loop.create_future()
            self._getters.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                # Woken and cancelled in one turn: hand the wake-up to another consumer.
                if fut.done() and not fut.cancelled() and self._items:
                    self._wake_getter()
                raise

    def _wake_getter(self) -> None:
        """Wake one waiting consumer (an item is there for it)."""
        getters = self._getters
        while getters:
            fut = getters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    # -- accounting -------------------------------------------------------------------------

    def task_done(self) -> None:
        """One item taken earlier has its outcome."""
        self._unfinished -= 1
        if self._unfinished <= 0 and self._joiners:
            joiners, self._joiners = self._joiners, []
            for fut in joiners:
                if not fut.done():
                    fut.set_result(None)

    async def join(self) -> None:
        """Wait until every item put has been marked done."""
        while self._unfinished > 0:
            fut = asyncio.get_running_loop().create_future()
            self._joiners.append(fut)
            await fut
