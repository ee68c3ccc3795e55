"""RPCs per file, counted where they arrive: the emulator's per-procedure counters (issue #14).

A flush costs the cache one LOOKUP per file (plus one per directory), one START or SYNC and,
in async mode, the STATUS polls. The poll timing (hpccache_cli.flush.poll_timing) should
make most files need one STATUS, a burst of files started together included. Bounds carry
a margin: timing on a shared machine moves them a little, never by a STATUS per file.
Default (production) poll timing throughout; 50 ms write-backs, 64 at once.
"""

from __future__ import annotations

from pathlib import Path

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
    return rates


def run(tmp_path: Path, count: int, dirs: int, mode: str) -> dict[str, float]:
    names = dirty_cache(tmp_path, files(count, dirs))
    with emulator(tmp_path, [ADDR], writeback=WRITEBACK) as emu:
        summary = flush(emu, names, policies=Policies(), mode=mode, concurrency=128)
        rates = per_file(emu, count)
    assert summary.counts["flushed"] == count
    assert_written_back(tmp_path, names)
    return rates


def test_async_1000_files_in_100_dirs(tmp_path: Path) -> None:
    """The goal is 3.3 RPCs per file: benchmarks/flush_throughput.py measures 3.05-3.12 with
    the emulator in its own process. Here it shares the test's interpreter (and GIL), and on
    a loaded machine late polls and late replies move the learned delay around: 3.2-3.37 seen
    with 8 jobs on 2 cores, 1.43 STATUS per file once with a benchmark on the other core. The
    bound leaves room for that; a STATUS storm (a poll every 20 ms: 2-3 per file) does not fit
    under it. The goal itself is measured by the benchmark, not asserted here."""
    rates = run(tmp_path, 1000, 100, "async")
    assert rates["FLUSH.START"] == 1.0
    assert rates["NFS.LOOKUP"] == 1.1  # each file, and each directory once
    assert rates["FLUSH.STATUS"] <= 1.6, rates
    assert rates["total"] <= 3.7, rates


def test_a_burst_started_together_does_not_poll_over_and_over(tmp_path: Path) -> None:
    """200 files, 128 started at once before any write-back has ended: the run learns the
    write-back time from the misses instead of re-polling at the initial 20 ms."""
    rates = run(tmp_path, 200, 20, "async")
    assert rates["FLUSH.STATUS"] <= 1.8, rates  # before: 2.2


def test_sync_costs_a_lookup_and_one_sync_per_file(tmp_path: Path) -> None:
    rates = run(tmp_path, 300, 30, "sync")
    assert rates.get("FLUSH.STATUS", 0.0) == 0.0
    assert rates["FLUSH.SYNC"] == 1.0
    assert rates["total"] <= 2.2, rates


def test_one_file_counted_call_by_call(tmp_path: Path) -> None:
    """One file: MNT, the LOOKUPs of its path, one START, and (from the 50 ms prior) one
    STATUS, two if the emulator's loop is late (before: three, at 20, 40 and 80 ms)."""
    rates = run(tmp_path, 1, 1, "async")
    assert rates["MOUNT.MNT"] == 1.0
    assert rates["NFS.LOOKUP"] == 2.0  # run000, then the file
    assert rates["FLUSH.START"] == 1.0
    assert rates["NFS.COMMIT"] == rates["FLUSH.START"] + rates["FLUSH.STATUS"]
    assert rates["FLUSH.STATUS"] <= 2.0
