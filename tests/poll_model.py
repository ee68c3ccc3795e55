"""The STATUS count a flush's poll schedule gives on an ideal clock (no lateness anywhere).

A model of :meth:`hpccache_cli.flush.flow.FileFlow._poll` (first STATUS at the run's
estimate, then ``max(back-off, half the estimate)`` after each miss, the first poll of each
file teaching the shared :class:`~hpccache_cli.flush.poll_timing.PollTimer`) against the
emulator's write-back queue on its ideal schedule (``parallel`` slots, ``per_file_seconds``
each, a slot free again at its scheduled end: ``emulator/writeback.py``). Event-driven, in
simulated time: the same answer on an idle or a loaded machine, so a test can assert the
schedule's own count exactly and leave the real run a margin it can reason about.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator

from hpccache_cli.flush.options import Policies
from hpccache_cli.flush.poll_timing import PollTimer


def status_per_file(files: int, concurrency: int, parallel: int, per_file_seconds: float,
                    policies: Policies | None = None) -> list[int]:
    """STATUS calls each file needs, files started ``concurrency`` at a time (a file's START
    as soon as an earlier file ended) on a back end with ``parallel`` write-back slots."""
    policies = policies or Policies()
    timer = PollTimer(policies.poll, policies.first_poll)
    slots: list[float] = []  # when each busy slot is free again
    order = itertools.count()
    events: list[tuple[float, int, int]] = []  # (time, tie-break, file) of the next STATUS
    started: dict[int, float] = {}
    ends: dict[int, float] = {}
    backoffs: dict[int, Iterator[float]] = {}
    polls = [0] * files
    waiting = iter(range(files))

    def start(i: int, now: float) -> None:
        slot = heapq.heappop(slots) if len(slots) >= parallel else now
        ends[i] = max(slot, now) + per_file_seconds
        heapq.heappush(slots, ends[i])
        started[i] = now
        heapq.heappush(events, (now + timer.first_delay(0.0), next(order), i))

    for i in itertools.islice(waiting, concurrency):
        start(i, 0.0)
    while events:
        now, _, i = heapq.heappop(events)
        polls[i] += 1
        done = ends[i] <= now
        if polls[i] == 1:
            timer.observe(now - started[i], done)
        if done:
            following = next(waiting, None)
            if following is not None:
                start(following, now)
            continue
        delays = backoffs.setdefault(i, policies.poll.delays())
        heapq.heappush(events, (now + timer.next_delay(next(delays)), next(order), i))
    return polls
