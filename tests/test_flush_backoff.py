"""Concurrency that backs off (issue #11 §8): transport failures halve the files in flight,
answered calls grow them back to -j, and -v says so."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bounded_support import run_bounded
from test_flush_support import assert_written_back, dirty_cache, emulator, flush_logged, outcomes

from hpccache_cli.flush.throttle import Throttle

A1 = "127.0.11.41"


def test_throttle_halves_once_per_window_and_grows_back() -> None:
    logs: list[str] = []
    t = Throttle(64, floor=4, log=logs.append)
    for _ in range(40):  # one drop failing 40 calls at once: one signal
        t.failed("drop")
    assert t.limit == 32
    for _ in range(32):  # a window of outcomes later, a new failure cuts again
        t.failed("drop")
    assert t.limit == 16
    for _ in range(500):
        t.failed("drop")
    assert t.limit == 4 and t.lowest == 4  # never below the floor
    for _ in range(10_000):
        t.answered()
    assert t.limit == 64 and "back to 64 files in flight" in logs[-1]
    assert "4 files in flight (of 64)" in " ".join(logs)


def test_throttle_never_lets_more_than_the_limit_run() -> None:
    async def body() -> int:
        t = Throttle(16, floor=2)
        peak = 0

        async def one(i: int) -> None:
            nonlocal peak
            async with t:
                peak = max(peak, t.active)
                assert t.active <= t.limit
                if i % 7 == 0:
                    t.failed("test")
                await asyncio.sleep(0)
                t.answered()

        await asyncio.gather(*(one(i) for i in range(400)))
        assert t.active == 0
        return peak

    assert run_bounded(body(), 30) <= 16


def test_dropped_connections_shrink_the_files_in_flight(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"drops/f{i}" for i in range(80)])
    with emulator(tmp_path, [A1], faults={"drop_connection_every": 13}) as emu:
        summary, logs = flush_logged(emu, names, [A1], concurrency=64)
    assert outcomes(summary) == {"flushed": 80}
    backoffs = [line for line in logs if "files in flight (of 64) call the cache" in line]
    assert backoffs and "connection" in backoffs[0] and "32 files" in backoffs[0], logs
    assert_written_back(tmp_path, names)


def test_a_freed_turn_goes_to_the_first_waiter_not_to_a_later_caller() -> None:
    """Workers flushing back to back release and re-take turns at once; a waiter (a
    ``recursive`` listing's READDIRPLUS) must still get the next one, or it is starved until
    its time runs out (issue 19)."""
    async def body() -> None:
        t = Throttle(1)
        assert t.try_acquire()
        waiter = asyncio.ensure_future(t.acquire())
        await asyncio.sleep(0)  # one loop turn: the waiter is in line
        t.release()
        assert not t.try_acquire()  # the freed turn is the waiter's
        assert await waiter and t.active == 1
        t.release()
        assert t.active == 0 and t.try_acquire()

    run_bounded(body(), 30)
