"""Files in flight that back off when the cache struggles (AIMD, as TCP does).

``-j`` is a ceiling, not a promise. Each dropped connection fails every call in flight on
it, and a timed-out call has held its file for the whole timeout: the more calls in flight,
the more work each fault throws away. Past a point (issue #11: 50 ms latency, a drop every
5th call) nothing completes at all: the connection drops before any reply of the calls it
carries. So the number of files that may have a call at the cache at once (each file has at
most one; a file between polls holds no turn) is halved on a transport failure, at most
once per window of call outcomes as long as the limit before the cut (the calls one drop
failed together count once), and grows by one per window of answered calls, back up to
``-j``. Gating calls, not file starts, slows the files already started too. A cache that
answers everything never sees the limit below ``-j``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class Throttle:
    """An adjustable limit on calls in flight: ``acquire``/``release`` around each call."""

    def __init__(
        self, ceiling: int, *, floor: int = 4, log: Callable[[str], None] | None = None
    ) -> None:
        self.ceiling = max(1, ceiling)
        self.floor = max(1, min(floor, self.ceiling))
        self.limit = self.ceiling
        self.lowest = self.ceiling  # for the summary/benchmarks: how far it backed off
        self.cuts = 0
        self.active = 0
        self._outcomes = 0  # call outcomes since the last change of the limit
        self._answered = 0  # answered calls since the last change (for the increase)
        self._window = 0  # outcomes to wait for after a cut: the calls in flight at the cut
        self._told = self.ceiling  # the lowest limit logged since the last return to -j
        self._waiters: deque[asyncio.Future[bool]] = deque()
        self._log = log or (lambda _m: None)

    def try_acquire(self) -> bool:
        """Take a slot if one is free now (no coroutine: the common case of every call).
        Never ahead of a waiter: a freed slot is handed to the first one (see ``_wake``)."""
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return True
        return False

    async def acquire(self, deadline: float | None = None) -> bool:
        """Take a slot, in turn after earlier waiters; False if ``deadline``
        (``time.monotonic()``) passed first."""
        if self.try_acquire():
            return True
        loop = asyncio.get_running_loop()
        first_in_line = False
        while True:
            fut: asyncio.Future[bool] = loop.create_future()
            if first_in_line:
                self._waiters.appendleft(fut)
            else:
                self._waiters.append(fut)
            timer = None
            if deadline is not None:
                timer = loop.call_later(max(0.0, deadline - time.monotonic()), _expire, fut)
            try:
                woken = await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled() and fut.result():
                    self.release()  # handed a turn and cancelled at once: pass it on
                raise
            finally:
                if timer is not None:
                    timer.cancel()
            if not woken:
                return False
            if self.active <= self.limit:  # ``_wake`` took the slot for us
                return True
            self.active -= 1  # the limit was cut since the hand-off: wait again, first

    def release(self) -> None:
        self.active -= 1
        if self._waiters:
            self._wake()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def _wake(self) -> None:
        """Hand free slots to the first waiters. The slot is taken here, for the waiter:
        were it only told, a caller of ``try_acquire`` running before it wakes would take
        the slot, again and again (files flushing back to back starved a ``recursive``
        listing of turns until its time ran out)."""
        while self.active < self.limit and self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                self.active += 1
                fut.set_result(True)

    def answered(self) -> None:
        """A call got an answer: after a window of them, one more file may be in flight."""
        self._outcomes += 1
        self._answered += 1
        if self.limit < self.ceiling and self._answered >= self.limit:
            self.limit += 1
            self._answered = 0
            if self.limit == self.ceiling and self._told < self.ceiling:
                self._told = self.ceiling
                self._log(f"calls succeed again: back to {self.limit} files in flight")
            self._wake()

    def failed(self, reason: str) -> None:
        """A call failed in transport (timeout, dropped connection): halve the limit, once
        per window, so the calls one drop failed together count as one signal."""
        self._outcomes += 1
        if self.limit <= self.floor or self._outcomes < self._window:
            return
        self._window = self.limit
        self.limit = max(self.floor, self.limit // 2)
        self.lowest = min(self.lowest, self.limit)
        self.cuts += 1
        self._outcomes = self._answered = 0
        if self.limit < self._told:  # one line per new low, not one per drop
            self._told = self.limit
            self._log(f"{reason}: {self.limit} files in flight (of {self.ceiling}) call the "
                      "cache at once until calls succeed again")


def _expire(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(False)
