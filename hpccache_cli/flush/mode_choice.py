"""``auto`` mode: START and poll, or one SYNC, chosen per file from what the cache answered.

Why: a START followed by its STATUS costs the cache (and this client) two COMMITs and a timer
per file where one SYNC, answered when the write-back ends, costs one. When write-backs are
short the SYNC is simply cheaper (on a fast cache the async default flushed half as many
files per second as ``--mode sync``, issue #22). Async stays the right way when write-backs
are long (a SYNC would hold a call open at the cache for all of it) and when files are clean
(a START answering OK says *clean*; a SYNC answering OK cannot tell clean from written back).
So the run starts in async mode, as before, and switches to SYNC only on evidence:

* the run's learned write-back time (:class:`~hpccache_cli.flush.poll_timing.PollTimer`, the
  delay by which ~90 % of its write-backs had ended) is at most ``SHORT`` (0.25 s: no longer
  than flush_file.py leaves between two checks), after at least ``LEARN`` first polls and one
  write-back seen to end;
* most recent STARTs found the file dirty (``DIRTY_SHARE``): in a run of mostly clean files
  a START costs what a SYNC costs and says more.

While syncing, every ``SAMPLE_EVERY``-th file still goes START and poll, so the run keeps
learning both figures. SYNCs that keep taking longer than ``SHORT`` (``LONG_SHARE`` of the
recent ones: one huge file does not switch the run; write-backs that grew longer show here
first, since most files go by SYNC) send it back to async until the first polls of its STARTs
have outweighed them and the timer says short. First polls that miss are not a signal of
their own: at the cache's limit they are files queued behind others (the timer's search), and
a SYNC's round trip already measures write-back and queue together.

Nothing here waits or sends: the flow (:mod:`hpccache_cli.flush.flow`) sends what this picks,
and a SYNC gets the file's remaining time as its limit exactly as in ``--mode sync``, so the
per-file timeout and cancellation are unchanged. A file sent by SYNC that was already clean is
reported ``flushed`` (true: the back end holds its bytes); that is the one thing ``auto`` reports
differently from ``async``.
"""

from __future__ import annotations

from collections.abc import Callable

from hpccache_cli.flush.poll_timing import PollTimer

SHORT = 0.25  # seconds: write-backs ending within this are worth a SYNC
LEARN = 8  # first polls seen before the run may switch
DIRTY_SHARE = 0.5  # share of recent STARTs that found the file dirty, at least
SAMPLE_EVERY = 32  # while syncing, this one in N files still goes START + poll
WINDOW = 64  # STARTs counted for the dirty share (halved when full: recent ones weigh more)
LONG_SHARE = 0.5  # SYNCs longer than SHORT (a decaying share) that send the run back to async
LONG_WEIGHT = 0.25  # how far one SYNC moves that share
LONG_DECAY = 0.95  # how much of it is left after each first poll of a START


class ModeChooser:
    """One per cache session: the run's choice, updated from every answer it sees."""

    __slots__ = ("timer", "polled", "starts", "dirty", "files", "syncs", "long", "was", "log")

    def __init__(self, timer: PollTimer, log: Callable[[str], None] | None = None) -> None:
        self.timer = timer
        self.log = log  # the run's -v log: each switch is said there, with why
        self.was = False  # the choice for the previous file
        self.polled = 0  # first polls observed (the timer's evidence)
        self.starts = 0  # recent STARTs (see WINDOW)
        self.dirty = 0  # of which found the file dirty (NOT_SYNC)
        self.files = 0  # files asked about (for the sampling)
        self.syncs = 0  # files sent by SYNC (for benchmarks and tests)
        self.long = 0.0  # decaying share of recent SYNCs that took longer than SHORT

    @property
    def syncing(self) -> bool:
        """Whether the evidence so far says SYNC is the cheaper way."""
        timer = self.timer
        return (self.polled >= LEARN and timer.seen_end and timer.estimate <= SHORT
                and self.dirty >= DIRTY_SHARE * self.starts
                and self.long < LONG_SHARE)

    def use_sync(self) -> bool:
        """For the next file: True to send one SYNC, False to START and poll."""
        self.files += 1
        now = self.syncing
        if now is not self.was:
            self.was = now
            if self.log is not None:
                self.log(self._why(now))
        if now and self.files % SAMPLE_EVERY:
            self.syncs += 1
            return True
        return False

    def _why(self, syncing: bool) -> str:
        ms = round(1000 * self.timer.estimate)
        if syncing:
            return (f"mode auto: write-backs end within ~{ms} ms and most files are dirty: "
                    f"one sync flush per file from now on (one in {SAMPLE_EVERY} still async)")
        if self.long >= LONG_SHARE:
            why = f"sync flushes took longer than {SHORT:g} s"
        elif self.dirty < DIRTY_SHARE * self.starts:
            why = "most files are clean"
        else:
            why = f"write-backs take ~{ms} ms"
        return f"mode auto: {why}: back to starting write-backs and polling them"

    def started(self, dirty: bool) -> None:
        """A START's answer: the file was dirty (NOT_SYNC) or not (OK)."""
        if self.starts >= WINDOW:
            self.starts //= 2
            self.dirty //= 2
        self.starts += 1
        self.dirty += dirty

    def first_poll(self) -> None:
        """A first STATUS was observed by the timer: STARTs are the evidence again."""
        self.polled += 1
        self.long *= LONG_DECAY

    def synced(self, seconds: float) -> None:
        """A SYNC was answered ``seconds`` after it was sent."""
        self.long += LONG_WEIGHT * ((seconds > SHORT) - self.long)
