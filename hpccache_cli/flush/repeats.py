"""Run-level messages that repeat are summarised, not repeated (issue #19).

A server that resets the connection after half a reply made one run print 45,133 lines in
20 s: "address failed", "address answers again", over and over. The reader needs the first
of each kind at once, then how often it happened since, not every copy. :class:`RepeatFilter`
passes a message the first time its *key* is seen; later messages of the same key within
``window`` seconds are counted, and the next one let through (or :meth:`RepeatFilter.close`)
says how many were held back. Keys are chosen by the caller (``("down", address)``), so
messages that differ only in a count still collapse. A call's own transport failures are
counted the same way, by :func:`loss_kind`, for its file's reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from hpccache_cli.nfs.errors import RpcTimeout

#: Keys remembered at most (oldest forgotten first): bounded whatever the server does.
MAX_KEYS = 256


class _Seen:
    __slots__ = ("since", "held", "last")

    def __init__(self, since: float, last: str) -> None:
        self.since = since
        self.held = 0
        self.last = last


class RepeatFilter:
    """Passes each kind of message at most once per ``window`` seconds, with a count of
    the ones held back since."""

    def __init__(self, log: Callable[[str], None], window: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log = log
        self.window = window
        self.clock = clock
        self._seen: dict[Hashable, _Seen] = {}

    def say(self, key: Hashable, message: str) -> None:
        now = self.clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen.since < self.window:
            seen.held += 1
            seen.last = message
            return
        shown = message
        if seen is not None and seen.held:
            shown += (f" ({_times(seen.held)} more like this in the last "
                      f"{now - seen.since:.0f} s)")
        self._seen.pop(key, None)
        if len(self._seen) >= MAX_KEYS:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = _Seen(now, message)
        self.log(shown)

    def close(self) -> None:
        """Say what is still held back (the run ends): each kind's last message, counted."""
        now = self.clock()
        for seen in self._seen.values():
            if seen.held:
                self.log(f"{seen.last} ({_times(seen.held)} like this in the last "
                         f"{now - seen.since:.0f} s)")
        self._seen.clear()


def _times(n: int) -> str:
    return times(n)


def times(n: int) -> str:
    """``once``, ``37 times``."""
    return "once" if n == 1 else f"{n:,} times"


def loss_kind(exc: BaseException, address: str) -> str:
    """How one transport failure of a call reads in its file's reason, where the failures
    are counted by this text: "connection reset by 10.0.0.11" (then "... 37 times")."""
    if isinstance(exc, RpcTimeout):
        return f"no reply from {address}"
    text = str(exc).lower()
    if isinstance(exc, ConnectionResetError) or "reset" in text:
        return f"connection reset by {address}"
    if isinstance(exc, ConnectionRefusedError) or "refused" in text:
        return f"connection refused by {address}"
    if "closed the connection" in text:
        return f"connection closed by {address}"
    return f"connection to {address} lost"


def within(seconds: float) -> str:
    """``in 30 s``; a call sent in the file's last moments says so instead of "in 0 s"."""
    if seconds < 0.05:
        return f"in the last {seconds * 1000:.0f} ms of the file's time"
    return f"in {round(seconds, 1):g} s"
