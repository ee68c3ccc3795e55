"""Per-file cost of the flush engine, as counts that do not depend on the machine (issue #14:
client CPU per file). Speed itself is measured in benchmarks/flush_throughput.py; here the
structure that keeps it low: no asyncio task per file or per call, a feeder woken per batch
of paths rather than per path, one hash state per cache and export for duplicate checks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from bounded_support import run_bounded
from emulator_support import JUNCTION
from test_flush_support import (
    FAST,
    assert_written_back,
    by_path,
    dirty_cache,
    emulator,
    flush,
    outcomes,
)

from hpccache_cli.flush.api import make_options
from hpccache_cli.flush.dedup import Digester, digest
from hpccache_cli.flush.engine import FlushEngine
from hpccache_cli.flush.inputs import IterableSource
from hpccache_cli.flush.options import Backoff
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.results import FlushSummary
from hpccache_cli.flush.workqueue import WorkQueue

ADDR = "127.0.0.71"
FILES = 160
CONCURRENCY = 16


def counted_run(engine: FlushEngine, paths: list[bytes]) -> tuple[FlushSummary, int]:
    """Run ``engine`` over ``paths``; also return how many tasks the run created."""
    created = 0

    def factory(loop: asyncio.AbstractEventLoop,
                coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any]) -> asyncio.Task[Any]:
        nonlocal created
        created += 1
        return asyncio.Task(coro, loop=loop)

    async def main() -> FlushSummary:
        asyncio.get_running_loop().set_task_factory(factory)  # type: ignore[arg-type]
        return await engine.run(IterableSource(paths))

    return run_bounded(main()), created


@pytest.mark.parametrize("mode", ["sync", "async", "auto"])
def test_no_task_per_file(tmp_path: Path, mode: str) -> None:
    """The tasks of a run are its workers and a few helpers (feeder, connections...), however
    many files it flushes. A SYNC COMMIT used to get a ``wait_for`` task of its own, because
    its call timeout was longer than the file's remaining time; now the client's own timer
    ends it at the file's deadline (tests/test_flush_sync_timeout.py checks that it does)."""
    names = dirty_cache(tmp_path, [f"d{i % 8}/f{i}" for i in range(FILES)])
    with emulator(tmp_path, [ADDR], writeback={"per_file_seconds": 0.0, "parallel": 64}) as emu:
        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs, mode=mode,
                               concurrency=CONCURRENCY, timeout=60, policies=FAST)
        engine = FlushEngine(ExportResolver([ADDR], JUNCTION), options)
        summary, created = counted_run(engine, names)
    assert outcomes(summary) == {"flushed": FILES}
    assert_written_back(tmp_path, names)
    # 16 workers and ~20 others (feeder, connections and their readers, session start...).
    assert created < CONCURRENCY + 30, f"{created} tasks for {FILES} files"


def test_work_queue_wakes_a_full_queues_producer_once_it_drained_to_low() -> None:
    """A producer blocked on a full queue waits until it drained to ``low``, then refills it
    in one go: one wake-up per batch of paths, not one per path (asyncio.Queue's way)."""

    async def body() -> list[int]:
        queue: WorkQueue[int] = WorkQueue(8, low=4)
        for i in range(8):
            queue.put_nowait(i)
        assert queue.full()
        put = asyncio.ensure_future(queue.put(99))
        waits = []
        for _ in range(4):
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            waits.append(put.done())
            assert queue.take() is not None
        await asyncio.wait_for(put, 5)
        return [*waits, len(queue)]

    # Not woken while 7, 6, 5 are queued; done once 4 (low) are left, with its item added.
    assert run_bounded(body(), 30) == [False, False, False, False, 5]


def test_work_queue_counts_items_to_their_outcome_and_hands_over_a_lost_wakeup() -> None:
    """``join`` waits for ``task_done`` of every item; a consumer woken for an item and
    cancelled in the same loop turn passes the wake-up on, so the item is not stranded."""

    async def body() -> list[int]:
        queue: WorkQueue[int] = WorkQueue(4)
        first = asyncio.ensure_future(queue.get())
        second = asyncio.ensure_future(queue.get())
        await asyncio.sleep(0)
        queue.put_nowait(7)  # wakes ``first``...
        first.cancel()  # ...which is cancelled before it runs
        got = await asyncio.wait_for(second, 5)
        joined = asyncio.ensure_future(queue.join())
        await asyncio.sleep(0)
        before = joined.done()
        queue.task_done()
        await asyncio.wait_for(joined, 5)
        return [got, int(before), int(first.cancelled())]

    assert run_bounded(body(), 30) == [7, 0, 1]


def test_digester_gives_the_digest_of_the_whole_key() -> None:
    """The engine's duplicate check hashes the cache and export once (Digester) and must get
    exactly :func:`digest` of the whole key, or two inputs of one file would both be flushed."""
    for prefix in ((b"127.0.0.1,127.0.0.2", b"/bench"), (b"", b"/"), (b"a",)):
        digester = Digester(*prefix)
        for last in (b"", b"x", b"run001/part-00001.dat", b"a\0b", bytes(range(1, 256))):
            assert digester(last) == digest(*prefix, last)
    assert Digester(b"a", b"b")(b"c") != Digester(b"a", b"bc")(b"")


def test_a_lookup_answered_jukebox_pauses_before_asking_again(tmp_path: Path) -> None:
    """A file's LOOKUP goes to the pool directly (no JUKEBOX wrapper on every lookup); a
    JUKEBOX answer still starts with the pause, as before, and the file's time running out
    in the pauses says the server was busy. Pauses of 0.4 s in 1 s: at most 3 LOOKUPs (an
    immediate retry after the first JUKEBOX would make it 4)."""
    names = dirty_cache(tmp_path, ["f0"])
    policies = replace(FAST, jukebox=Backoff(0.4, 1.0, 0.4))
    with emulator(tmp_path, [ADDR]) as emu:
        emu.run(emu.namespace.set_suspended, "nas1", True)  # every call on it: JUKEBOX
        summary = flush(emu, names, policies=policies, timeout=1.0)
        lookups = emu.emulator.rpc_counts().get("NFS.LOOKUP", 0)
    got = by_path(summary)[b"f0"]
    assert got.kind == "timeout", got
    assert "the server was busy (answered NFS3ERR_JUKEBOX, try later)" in got.reason, got
    assert 1 <= lookups <= 3, lookups
