"""When to ask a cache whether a write-back has ended: one STATUS per file, most of the time.

Every STATUS costs the cache an RPC, and a cache flushing for many clients pays for all of
them; polling late costs the file some latency. The run learns how long its write-backs take
and times each file's first STATUS from that, counted from the server's answer to the START
(the write-back is running from then on; counting from the request would add the round trip's
jitter to every observation).

* **Estimate**: the delay by which ~90 % of this run's write-backs had ended, tracked from
  first polls (a stochastic quantile estimate: a hit moves it a little down, a miss more up,
  so it settles where 90 % hit). Hits and misses bracket the true times, so this is sound
  where averaging observed times is not (a hit only says "ended somewhere before").
* **Prior**: before anything is known, ``Policies.first_poll`` (50 ms): a write-back copies
  the file to a NAS or Blob storage, which takes tens of milliseconds at least (flush_file.py
  waits 250 ms between checks); polling at 20 ms cost a one-file flush two extra STATUS.
  Write-backs that end sooner pull the estimate down, slowly (0.5 % per file).
* **Cold start**: until one write-back has been seen to end, every miss at ``w`` raises the
  estimate to at least ``1.5 w`` (a geometric search), so a burst of files started together
  does not poll at the initial 20 ms over and over.
* **After a miss**: the next STATUS waits at least half the estimate (and the back-off), since
  a write-back still running at the estimate usually needs a good part of it again; slow
  write-backs then back off to one STATUS per ``cap`` seconds.

Nothing here sleeps: :class:`~hpccache_cli.flush.flow.FileFlow` sleeps within the file's
deadline, so the per-file timeout and cancellation are exactly as before.
"""

from __future__ import annotations

from hpccache_cli.flush.options import Backoff

QUANTILE = 0.9  # share of write-backs the first STATUS should find ended
GAIN = 0.25  # how far past the observed delay a miss aims (and below it a hit)
WEIGHT = 0.2  # how much of the way toward that target one observation moves
COLD_GROWTH = 1.5  # before any hit: a miss at w means "at least 1.5 w"
AFTER_MISS = 0.5  # after a miss: wait at least this share of the estimate


class PollTimer:
    """The run's learned write-back delay (one per cache session, shared by its files)."""

    __slots__ = ("backoff", "estimate", "seen_end")

    def __init__(self, backoff: Backoff, prior: float) -> None:
        self.backoff = backoff
        self.estimate = min(max(prior, backoff.first), backoff.cap)
        self.seen_end = False

    def first_delay(self, since_start: float) -> float:
        """Seconds to sleep before the first STATUS, ``since_start`` s after the START's
        answer."""
        return max(0.0, self.estimate - since_start)

    def next_delay(self, backoff_delay: float) -> float:
        """Seconds to sleep after a STATUS that found the write-back still running."""
        return max(backoff_delay, AFTER_MISS * self.estimate)

    def observe(self, waited: float, done: bool) -> None:
        """A first STATUS ``waited`` s after the START's answer found the write-back ended
        (``done``) or still running."""
        if done:
            self.seen_end = True
        target = waited * (1.0 + GAIN * (QUANTILE - (1.0 if done else 0.0)))
        value = self.estimate + WEIGHT * (target - self.estimate)
        if not done and not self.seen_end:
            value = max(value, COLD_GROWTH * waited)
        self.estimate = min(max(value, self.backoff.first), self.backoff.cap)
