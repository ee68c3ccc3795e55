"""STATUS wake-ups on a shared grid (issue #14: client CPU per file, sends per file).

Files whose polls fall due within one grid step must wake in one loop turn, so their STATUS
calls leave together (the transport writes the calls of one loop turn in one send per
connection: tests/test_nfs_link.py). Counted in loop turns, never in wall-clock time. And the
grid never stretches a sleep past the file's deadline.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from bounded_support import run_bounded
from emulator_support import JUNCTION
from test_flush_support import FAST, assert_written_back, dirty_cache, emulator

from hpccache_cli.flush.api import make_options, run_flush
from hpccache_cli.flush.pool import DeadlineExceeded
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.session import PollTicks
from hpccache_cli.nfs.client import ClientOptions, FlushOp, NfsClient

ADDR = "127.0.0.73"
FILES = 32


class TurnCounter:
    """Counts loop turns: a callback that schedules itself again on every turn."""

    def __init__(self) -> None:
        self.turn = 0
        self.running = False

    def start(self) -> None:
        if not self.running:
            self.running = True
            asyncio.get_running_loop().call_soon(self._step)

    def stop(self) -> None:
        self.running = False

    def _step(self) -> None:
        self.turn += 1
        if self.running:
            asyncio.get_running_loop().call_soon(self._step)


class StatusTurns(NfsClient):
    """A real client that notes the loop turn in which each STATUS is sent."""

    def __init__(self, host: str, options: ClientOptions, counter: TurnCounter,
                 turns: list[int]) -> None:
        super().__init__(host, options)
        self.counter = counter
        self.turns = turns

    async def flush(self, fh: bytes, op: FlushOp, timeout: float | None = None) -> int:
        self.counter.start()
        if op == FlushOp.STATUS:
            self.turns.append(self.counter.turn)
        return await super().flush(fh, op, timeout)


class PacedSource:
    """One path every ``gap`` s: files start apart, so their polls fall due apart (a real
    run's files do; a burst answered in one read would wake together even without a grid)."""

    separator = b"\n"

    def __init__(self, paths: list[bytes], gap: float) -> None:
        self._paths = list(paths)
        self._gap = gap

    async def next_batch(self) -> list[bytes] | None:
        if not self._paths:
            return None
        await asyncio.sleep(self._gap)
        return [self._paths.pop(0)]

    def close(self) -> None:
        self._paths.clear()


def test_polls_due_within_one_grid_step_leave_in_one_loop_turn(tmp_path: Path) -> None:
    """32 files started 4 ms apart, a 0.2 s grid: their STATUS calls go out in a few loop
    turns (one per grid point reached), not one turn per file as with a timer per file."""
    names = dirty_cache(tmp_path, [f"d/f{i:02d}" for i in range(FILES)])
    counter, turns = TurnCounter(), []

    def factory(host: str, options: ClientOptions) -> StatusTurns:
        return StatusTurns(host, options, counter, turns)

    with emulator(tmp_path, [ADDR], writeback={"per_file_seconds": 0.05,
                                                "parallel": 64}) as emu:
        options = make_options(mode="async", concurrency=FILES,
                               policies=replace(FAST, poll_tick=0.2),
                               mount_port=emu.ports.mount, nfs_port=emu.ports.nfs)
        try:
            summary = run_bounded(run_flush(PacedSource(names, 0.004),
                                            ExportResolver([ADDR], JUNCTION), options,
                                            client_factory=factory))
        finally:
            counter.stop()
    assert summary.counts["flushed"] == FILES
    assert_written_back(tmp_path, names)
    assert len(turns) >= FILES  # every file polled at least once
    # Before the grid: ~one turn per STATUS (32+). With it: the turns of the grid points
    # reached (a few), whatever the machine's load.
    assert len(set(turns)) * 4 <= len(turns), sorted(turns)


def test_a_poll_whose_grid_point_is_past_the_deadline_wakes_by_the_deadline() -> None:
    """A grid point beyond the file's deadline: the sleep takes its plain delay, as before."""

    async def scenario() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        ticks = PollTicks(1000.0)  # the next grid point is minutes away
        deadline = loop.time() + 60.0
        await ticks.sleep(0.01, deadline)
        return loop.time(), deadline

    woke, deadline = run_bounded(scenario(), limit=30.0)
    assert woke < deadline


def test_a_poll_past_the_deadline_ends_at_the_deadline_not_at_the_grid_point() -> None:
    async def scenario() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        ticks = PollTicks(1000.0)
        deadline = loop.time() + 0.05
        with pytest.raises(DeadlineExceeded):
            await ticks.sleep(5.0, deadline)
        return loop.time(), deadline

    ended, deadline = run_bounded(scenario(), limit=30.0)
    assert ended >= deadline - 0.002  # at the deadline (the loop's timer slack), not before


def test_sleeps_on_one_grid_point_share_a_wake_up_and_a_cancel_stays_with_its_file() -> None:
    """Three sleeps due at one grid point resume in the same loop turn; a cancelled one is
    cancelled alone, the others still wake."""

    async def scenario() -> tuple[list[int], bool]:
        loop = asyncio.get_running_loop()
        ticks = PollTicks(0.05)
        counter = TurnCounter()
        counter.start()
        woke: list[int] = []

        async def sleeper(delay: float) -> None:
            await ticks.sleep(delay, None)
            woke.append(counter.turn)

        # the same grid point for all: just after a point, small delays
        point = (int(loop.time() / 0.05) + 2) * 0.05
        while loop.time() < point - 0.05:
            await asyncio.sleep(0.001)
        tasks = [asyncio.ensure_future(sleeper(d)) for d in (0.001, 0.005, 0.009, 0.003)]
        await asyncio.sleep(0)
        tasks[3].cancel()
        await asyncio.wait(tasks[:3], timeout=10.0)
        counter.stop()
        return woke, tasks[3].cancelled()

    woke, cancelled = run_bounded(scenario(), limit=30.0)
    assert len(woke) == 3 and len(set(woke)) == 1, woke
    assert cancelled
