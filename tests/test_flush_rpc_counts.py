"""RPCs per file, counted where they arrive: the emulator's per-procedure counters (issue #14).

A flush costs the cache one LOOKUP per file (plus one per directory), one START or SYNC and,
in async mode, the STATUS polls. The poll timing (hpccache_cli.flush.poll_timing) should
make most files need one STATUS, a burst of files started together included. Default
(production) poll timing throughout; 50 ms write-backs, 64 at once.

How many STATUS a run needs depends on two clocks: the client's schedule (what is under test)
and the emulator's, which runs in this test's interpreter and on a loaded machine notices a
write-back's end late: a STATUS then finds "still running" a write-back whose time is up, and
the file polls again through no fault of the client (``assert 1.96 <= 1.8`` once, issue 19).
The emulator counts those (``FLUSH.STATUS_OVERDUE``), so the STATUS the schedule itself spent
are ``FLUSH.STATUS - FLUSH.STATUS_OVERDUE``: what the bounds below are about. Their ceilings
come from ``poll_model``, the same schedule against the same back end on an ideal clock
(where lateness of the client only makes polls later, so fewer miss), not from a guessed margin.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from poll_model import status_per_file
from test_flush_support import assert_written_back, dirty_cache, emulator, flush

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.flush.options import Policies

ADDR = "127.0.0.62"
WRITEBACK = {"per_file_seconds": 0.05, "parallel": 64}


def files(count: int, dirs: int) -> list[str]:
    return [f"run{i % dirs:03d}/part-{i:05d}.dat" for i in range(count)]


def per_file(emu: EmulatorThread, count: int) -> dict[str, float]:
    counts = emu.emulator.rpc_counts()
    rates = {k: v / count for k, v in counts.items()}
    rates["total"] = sum(v for k, v in counts.items() if not k.startswith("FLUSH.")) / count
    # the STATUS the client's schedule spent (see the module docstring)
    rates["schedule"] = (counts.get("FLUSH.STATUS", 0) - counts["FLUSH.STATUS_OVERDUE"]) / count
    return rates


@contextmanager
def late_emulator(emu: EmulatorThread, busy: float = 0.15, free: float = 0.01) -> Iterator[None]:
    """The emulator's loop held ``busy`` s of every ``busy + free``: what a loaded machine does
    to it (write-back ends noticed late), made on purpose and the same on any machine."""
    stop = threading.Event()

    async def hog() -> None:
        while not stop.is_set():
            time.sleep(busy)  # blocks the emulator's loop (not the client: the GIL is free)
            await asyncio.sleep(free)

    thread = threading.Thread(target=emu.call, args=(hog,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def model(count: int) -> float:
    """STATUS per file of this module's run on an ideal clock (tests/poll_model.py)."""
    polls = status_per_file(count, 128, WRITEBACK["parallel"], WRITEBACK["per_file_seconds"])
    return sum(polls) / count


def run(tmp_path: Path, count: int, dirs: int, mode: str, late: bool = False
        ) -> dict[str, float]:
    names = dirty_cache(tmp_path, files(count, dirs))
    with emulator(tmp_path, [ADDR], writeback=WRITEBACK) as emu:
        if late:
            with late_emulator(emu):
                summary = flush(emu, names, policies=Policies(), mode=mode, concurrency=128)
        else:
            summary = flush(emu, names, policies=Policies(), mode=mode, concurrency=128)
        rates = per_file(emu, count)
    assert summary.counts["flushed"] == count
    assert_written_back(tmp_path, names)
    return rates


def test_async_1000_files_in_100_dirs(tmp_path: Path) -> None:
    """The goal is 3.3 RPCs per file: benchmarks/flush_throughput.py measures 3.05-3.12 with
    the emulator in its own process. Here it shares the test's interpreter (and GIL): on a
    loaded machine 1.43 STATUS per file were seen, the excess the emulator's late write-back
    ends (overdue STATUS). The schedule's own STATUS are bounded by the ideal-clock count
    (1.64: all 128 first STARTs at once); a STATUS storm (a poll every 20 ms: 2-3 per file)
    does not fit under it. The goal itself is measured by the benchmark, not asserted here."""
    rates = run(tmp_path, 1000, 100, "async")
    assert rates["FLUSH.START"] == 1.0
    assert rates["NFS.LOOKUP"] == 1.1  # each file, and each directory once
    assert 1.0 <= rates["schedule"] <= model(1000), rates
    # LOOKUPs, one START, the schedule's STATUS (COMMITs both), MNT and the odd GETATTR
    assert rates["total"] - rates["FLUSH.STATUS_OVERDUE"] <= 2.1 + model(1000) + 0.01, rates


def test_auto_1000_files_in_100_dirs(tmp_path: Path) -> None:
    """The default mode (issue #22, goal 3.2 calls per file on the wire): after the first
    files' polls most files go by one SYNC. Measured with the emulator in its own process
    (benchmarks/wire_rpcs.py): 2.33-2.43 calls per file, 82-84 % SYNC. The margins leave room
    for a loaded machine, where the first burst's polls come late and the switch with them;
    async mode costs at least 3.1 (LOOKUPs, START and at least one STATUS per file)."""
    rates = run(tmp_path, 1000, 100, "auto")
    assert rates["NFS.LOOKUP"] == 1.1
    assert rates["FLUSH.SYNC"] >= 0.6, rates
    assert rates["FLUSH.START"] + rates["FLUSH.SYNC"] == 1.0, rates
    assert rates["total"] - rates["FLUSH.STATUS_OVERDUE"] <= 2.8, rates


def test_a_burst_started_together_does_not_poll_over_and_over(tmp_path: Path) -> None:
    """200 files, 128 started at once before any write-back has ended: the run learns the
    write-back time from the misses instead of re-polling at the initial 20 ms."""
    rates = run(tmp_path, 200, 20, "async")
    # Ceiling: the ideal-clock count of this very burst (2.32 STATUS per file: 128 STARTs at
    # the same instant, the second 64 queued behind the first on the back end); real STARTs
    # spread over the LOOKUPs, which only lowers it (1.0-1.1 measured). Not the raw STATUS:
    # those include what the emulator's lateness cost (1.96 once under load, issue 19).
    assert 1.0 <= rates["schedule"] <= model(200), rates


def test_sync_costs_a_lookup_and_one_sync_per_file(tmp_path: Path) -> None:
    rates = run(tmp_path, 300, 30, "sync")
    assert rates.get("FLUSH.STATUS", 0.0) == 0.0
    assert rates["FLUSH.SYNC"] == 1.0
    assert rates["total"] <= 2.2, rates


def test_one_file_counted_call_by_call(tmp_path: Path) -> None:
    """One file: MNT, the LOOKUPs of its path, one START, and (from the 50 ms prior) exactly
    one STATUS of the schedule's own (before: three, at 20, 40 and 80 ms): the first poll
    leaves 50 ms after the START's answer, the write-back was queued before that answer and
    takes 50 ms, so the poll cannot come before its scheduled end; any other STATUS found it
    overdue (the emulator's loop late, two or three on a loaded machine)."""
    rates = run(tmp_path, 1, 1, "async")
    assert rates["MOUNT.MNT"] == 1.0
    assert rates["NFS.LOOKUP"] == 2.0  # run000, then the file
    assert rates["FLUSH.START"] == 1.0
    assert rates["NFS.COMMIT"] == rates["FLUSH.START"] + rates["FLUSH.STATUS"]
    assert rates["schedule"] == 1.0, rates


def test_a_late_emulator_costs_the_schedule_nothing(tmp_path: Path) -> None:
    """The load that failed ``assert 1.96 <= 1.8``, made on purpose: with the emulator's loop
    held 150 ms at a time, one file takes more STATUS (each finding its write-back overdue),
    and a burst too, but the schedule's own count does not move."""
    one = run(tmp_path / "one", 1, 1, "async", late=True)
    assert one["schedule"] == 1.0, one
    burst = run(tmp_path / "burst", 200, 20, "async", late=True)
    assert 1.0 <= burst["schedule"] <= model(200), burst


def test_the_schedule_on_an_ideal_clock() -> None:
    """The bounds above, from the schedule alone (no clock, no load: exact): one file needs
    one STATUS; a burst costs less than with a 20 ms first poll (the STATUS storm the learned
    timing replaced), and so do 1,000 files."""
    assert status_per_file(1, 128, 64, 0.05) == [1]
    storm = Policies(first_poll=0.02)
    assert model(200) == 2.32 < sum(status_per_file(200, 128, 64, 0.05, storm)) / 200
    assert model(1000) == 1.64 < sum(status_per_file(1000, 128, 64, 0.05, storm)) / 1000
    assert max(status_per_file(200, 128, 64, 0.05)) <= 3  # no file polls over and over



