"""The emulated back end delivers exactly ``parallel / per_file_seconds`` files per second.

Each write-back's back-end time runs on an ideal schedule: from when its slot became free
(or when it was queued, if later), not from when the busy event loop got round to it. So
the back end is never faster than its stated limit, and loop lateness does not pile up into
a lower one. The copy is injected here and records when it ran; the loop is made busy by
work done inside it, as replies to hundreds of clients would.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from hpccache_cli.emulator.config import Faults, WriteBack
from hpccache_cli.emulator.writeback import WriteBackScheduler


@dataclass
class FakeNode:
    path: str
    cache_path: str = "/nonexistent/cache/copy"  # never opened: the copy is injected


def scheduler(parallel: int, per_file: float, busy: float = 0.0
              ) -> tuple[WriteBackScheduler, list[float]]:
    """A scheduler whose copy records the loop time and then keeps the loop busy."""
    done: list[float] = []

    def copy(node: FakeNode) -> None:  # type: ignore[misc]
        done.append(asyncio.get_running_loop().time())
        if busy:
            end = time.perf_counter() + busy
            while time.perf_counter() < end:  # CPU work on the loop, not a wait
                pass

    return WriteBackScheduler(WriteBack(per_file, parallel), Faults(), copy), done


def test_never_faster_than_parallel_over_per_file_seconds() -> None:
    async def main() -> tuple[float, list[float]]:
        wb, done = scheduler(parallel=4, per_file=0.02)
        t0 = asyncio.get_running_loop().time()
        assert all(await asyncio.gather(*(wb.start(FakeNode(f"/f{i}")) for i in range(40))))
        return t0, done

    t0, done = asyncio.run(main())
    for k, t in enumerate(sorted(done)):  # the k-th copy: after (k // 4 + 1) slot times
        assert t - t0 >= (k // 4 + 1) * 0.02 - 1e-6, (k, t - t0)


def test_loop_lateness_does_not_pile_up() -> None:
    async def main() -> tuple[float, list[float], list[float]]:
        # One slot, 10 write-backs queued at once, 20 ms each; every copy then holds the
        # loop for 8 ms. Timed from "now", each would take 28 ms; on the ideal schedule the
        # slot is free again at queued + 10 x 20 ms whatever the lateness.
        wb, done = scheduler(parallel=1, per_file=0.02, busy=0.008)
        queued = asyncio.get_running_loop().time()
        tasks = [wb.start(FakeNode(f"/f{i}")) for i in range(10)]
        assert all(await asyncio.gather(*tasks))
        return queued, done, wb.slot_free_times()

    queued, done, free = asyncio.run(main())
    assert len(done) == 10
    assert len(free) == 1 and abs(free[0] - (queued + 10 * 0.02)) < 1e-3
    # ... and the copies ran no earlier than that schedule allows
    for k, t in enumerate(sorted(done)):
        assert t - queued >= (k + 1) * 0.02 - 1e-6


def test_after_a_pause_the_queue_takes_its_time_again() -> None:
    async def main() -> tuple[float, list[float]]:
        wb, done = scheduler(parallel=1, per_file=0.02)
        wb.pause()
        tasks = [wb.start(FakeNode(f"/f{i}")) for i in range(5)]
        # Timers fire in order: the first write-back's 20 ms is over and it waits on the
        # pause before this 100 ms sleep ends.
        await asyncio.sleep(0.1)
        resumed = asyncio.get_running_loop().time()
        wb.resume()
        assert all(await asyncio.gather(*tasks))
        return resumed, done

    resumed, done = asyncio.run(main())
    later = sorted(done)[1:]  # the held one copies at once; each other one takes 20 ms
    for k, t in enumerate(later, start=1):
        assert t - resumed >= k * 0.02 - 1e-6, (k, t - resumed)
