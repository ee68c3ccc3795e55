"""Files waiting on "busy, try later" (NFS3ERR_JUKEBOX) are announced, not waited in silence.

A file on a suspended storage target (or one being flushed through Azure) gets JUKEBOX to
every call, and the flow waits it out within the file's deadline, as it should: the target
may come back. But a run of 300 s with no line at all looked hung (issue #19), and the
progress line came only when a file finished. :class:`BusyWatch` counts the files in such a
wait; once one has waited ``busy_notice`` seconds it tells the run's ``notice`` (every
console, not only ``-v``) how many wait, for how long and until when, and repeats that every
``notice_every`` seconds while any still waits; when the last stops waiting, it says so.
One timer per cache session, armed only while a file waits: nothing on the common path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from hpccache_cli.errors import fill_fields
from hpccache_cli.flush.options import Policies


class BusyWatch:
    """Counts the files waiting on JUKEBOX and announces the wait (see the module)."""

    def __init__(self, notice: Callable[[str], None] | None, policies: Policies,
                 timeout: float | None, option_names: Mapping[str, str] | None = None) -> None:
        self.notice = notice
        self.first = policies.busy_notice
        self.every = policies.notice_every
        self.timeout = timeout
        self.option_names = option_names
        self.waiting = 0  # files in a JUKEBOX wait now
        self.waited = 0  # files that waited since the wait began
        self.answers = 0  # JUKEBOX answers since the wait began
        self.since: float | None = None  # when the current wait began
        self.announced = False
        self._timer: asyncio.TimerHandle | None = None

    def begin(self) -> None:
        """A file starts waiting (its first JUKEBOX)."""
        self.waiting += 1
        self.waited += 1
        if self.since is None:
            self.since = time.monotonic()
        if self._timer is None and self.notice is not None:
            self._timer = asyncio.get_running_loop().call_later(self.first, self._announce)

    def answer(self) -> None:
        """One more JUKEBOX answer."""
        self.answers += 1

    def end(self) -> None:
        """A file stops waiting (answered, failed or cancelled)."""
        self.waiting -= 1
        if self.waiting > 0:
            return
        if self.announced and self.notice is not None and self.since is not None:
            files = "1 file" if self.waited == 1 else f"{self.waited:,} files"
            self.notice(f"no file waits on NFS3ERR_JUKEBOX any more ({files} waited, for up "
                        f"to {_secs(time.monotonic() - self.since)} s)")
        self.close()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self.since = None
        self.waited = self.answers = 0
        self.announced = False

    def _announce(self) -> None:
        self._timer = None
        if self.waiting <= 0 or self.since is None or self.notice is None:
            return
        self.announced = True
        seconds = time.monotonic() - self.since
        files = "1 file waits" if self.waiting == 1 else f"{self.waiting:,} files wait"
        if self.timeout is None:
            until = fill_fields("until it is answered (no {timeout})", ("timeout",),
                                self.option_names)
        else:
            until = fill_fields(f"until its {{timeout}} of {self.timeout:g} s runs out",
                                ("timeout",), self.option_names)
        self.notice(
            f"{files}: the cache answers NFS3ERR_JUKEBOX (busy, try again later), "
            f"{self.answers:,} times in {_secs(seconds)} s; a storage target that is suspended or "
            f"being flushed answers so; each file waits {until}")
        self._timer = asyncio.get_running_loop().call_later(self.every, self._announce)


def _secs(seconds: float) -> str:
    return f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"
