"""The engine under the emulator's faults: dead addresses, dropped connections, JUKEBOX
storms, write-backs that fail (NOTEMPTY / I/O error), stale handles and per-file timeouts.

Readiness is observed (results arriving, write-backs running), never slept for. Every run
here goes through :func:`bounded_support.run_bounded`: a run that never ends (a lost
wake-up) fails with the await chain of each of its tasks instead of holding the suite.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

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
    flush_logged,
    outcomes,
)

from hpccache_cli.flush.api import make_options
from hpccache_cli.flush.engine import FlushEngine
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome

A1, A2, A3 = "127.0.0.33", "127.0.0.34", "127.0.0.35"


def test_address_down_at_start_work_goes_to_the_others(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"d/f{i}" for i in range(60)])
    with emulator(tmp_path, [A1, A2], faults={"down_addresses": [A1]}) as emu:
        summary = flush(emu, names, ips=[A1, A2])
        assert emu.emulator.connection_count(A1) == 0
    assert outcomes(summary) == {"flushed": 60}
    assert_written_back(tmp_path, names)


def test_address_goes_down_mid_run(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"m{d}/f{i}" for d in range(4) for i in range(50)])
    with emulator(tmp_path, [A1, A2], writeback={"per_file_seconds": 0.01}) as emu:
        done = 0
        downed = threading.Thread(target=emu.set_address_down, args=(A1, True))

        def on_result(_r: FileResult) -> None:
            nonlocal done
            done += 1
            if done == 40:
                downed.start()

        summary, logs = flush_logged(emu, names, [A1, A2], on_result, concurrency=32)
        downed.join()
    assert any(f"{A1} failed" in line and "moves to the others" in line for line in logs), logs
    assert outcomes(summary) == {"flushed": 200}
    assert_written_back(tmp_path, names)


def test_dropped_connections_are_reconnected(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"x/f{i}" for i in range(80)])
    with emulator(tmp_path, [A1], faults={"drop_connection_every": 13}) as emu:
        summary = flush(emu, names, concurrency=16)
    assert outcomes(summary) == {"flushed": 80}
    assert_written_back(tmp_path, names)


def test_jukebox_storm(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"j/f{i}" for i in range(50)])
    with emulator(tmp_path, [A1], faults={"jukebox_every": 2}) as emu:
        summary = flush(emu, names)
        sync = flush(emu, dirty_cache(tmp_path, [f"js/f{i}" for i in range(20)]), mode="sync")
    assert outcomes(summary) == {"flushed": 50} and outcomes(sync) == {"flushed": 20}
    assert_written_back(tmp_path, names)


def test_notempty_restarts_then_fails_with_the_reason(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["bad/one", "bad/two", "good/one"])
    faults = {"failing_paths": [f"{JUNCTION}/bad"]}
    with emulator(tmp_path, [A1], faults=faults) as emu:
        summary = flush(emu, names, retries=2)
        sync = flush(emu, names, retries=1, mode="sync")
        status = flush(emu, names, status_only=True)
    got = by_path(summary)
    assert got[b"bad/one"].outcome is Outcome.FAILED and got[b"bad/one"].attempts == 3
    assert got[b"bad/one"].reason == (
        "write-back failed: file still dirty after 3 attempts (NFS3ERR_NOTEMPTY)")
    assert got[b"good/one"].outcome is Outcome.FLUSHED
    sgot = by_path(sync)
    assert sgot[b"bad/two"].reason == "write-back failed after 2 attempts: NFS3ERR_IO (5)"
    assert sgot[b"good/one"].outcome is Outcome.FLUSHED  # written back already: OK at once
    assert by_path(status)[b"bad/one"].outcome is Outcome.DIRTY
    assert summary.exit_code == 1 and dict(summary.reasons) == {"dirty": 2}


def test_stale_handles_are_looked_up_again(tmp_path: Path) -> None:
    """Directory handles cached from the first batch go stale before the second batch."""
    first = dirty_cache(tmp_path, [f"s{d}/a{i}" for d in range(3) for i in range(10)])
    second = dirty_cache(tmp_path, [f"s{d}/b{i}" for d in range(3) for i in range(10)])
    with emulator(tmp_path, [A1]) as emu:

        class TwoBatches:
            separator = b"\n"

            def __init__(self) -> None:
                self.batches = [first, second]

            async def next_batch(self) -> list[bytes] | None:
                if len(self.batches) == 1:
                    while engine.summary.done < len(first):  # first batch fully flushed
                        await asyncio.sleep(0.005)
                    emu.run(emu.namespace.forget_handles)  # every handle is now STALE
                return self.batches.pop(0) if self.batches else None

            def close(self) -> None:
                pass

        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                               policies=FAST)
        engine = FlushEngine(ExportResolver([A1], JUNCTION), options, collect=True)
        summary = run_bounded(engine.run(TwoBatches()))
    assert outcomes(summary) == {"flushed": 60}
    assert_written_back(tmp_path, first + second)


def test_stale_file_handle_in_flight(tmp_path: Path, wait_until: Callable[..., object]) -> None:
    """Handles go stale while their write-backs run: polls get STALE, look up again, finish."""
    names = dirty_cache(tmp_path, [f"t/f{i}" for i in range(10)])
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)
        out: dict[str, FlushSummary] = {}
        runner = threading.Thread(target=lambda: out.update(s=flush(emu, names)))
        runner.start()
        wait_until(lambda: emu.run(wb.running_count) == 10, message="write-backs not started")
        emu.run(emu.namespace.forget_handles)
        emu.run(wb.resume)
        runner.join(30)
    assert outcomes(out["s"]) == {"flushed": 10}
    assert_written_back(tmp_path, names)


def test_per_file_timeout(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["slow/a", "slow/b"])
    with emulator(tmp_path, [A1]) as emu:
        emu.run(emu.namespace.writeback.pause)
        # 3 s, not 0.3: on a loaded machine the lookups and the write-back's start may
        # take longer than 0.3 s, and the time would run out before the wait it names.
        summary = flush(emu, names, timeout=3.0)
        emu.run(emu.namespace.writeback.resume)
    assert outcomes(summary) == {"failed": 2}
    assert [(r.reason, r.kind) for r in summary.results or []] == [
        ("timed out after 3 s (still flushing)", "timeout")] * 2


def test_unreachable_cache(tmp_path: Path) -> None:
    with emulator(tmp_path, [A3], faults={"down_addresses": [A3]}) as emu:
        summary = flush(emu, ["a", "b", "c"])
    assert outcomes(summary) == {"failed": 3} and summary.unreachable
    assert summary.exit_code == 4
    # Each file names the address; its error is told once, in the run's unreachable_reason.
    assert all(r.kind == "unreachable" and r.reason ==
               f"cache unreachable: no mount address answers ({A3})"
               for r in summary.results or [])
    assert summary.unreachable_reason.startswith(f"no mount address answers ({A3}: ")


def test_all_addresses_down_mid_run(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"u/f{i}" for i in range(40)])
    with emulator(tmp_path, [A3], writeback={"per_file_seconds": 0.02}) as emu:
        done = 0
        downed = threading.Thread(target=emu.set_address_down, args=(A3, True))

        def on_result(_r: FileResult) -> None:
            nonlocal done
            done += 1
            if done == 10:
                downed.start()

        summary = flush(emu, names, on_result=on_result, concurrency=4)
        downed.join()
    got = outcomes(summary)
    assert got["failed"] and got["flushed"] >= 10 and sum(got.values()) == 40
    assert not summary.unreachable and summary.exit_code == 1  # it was reached: exit 1
    assert {r.kind for r in summary.results or [] if r.outcome is Outcome.FAILED} == {
        "unreachable"}


def test_a_run_that_never_ends_fails_with_its_await_chain() -> None:
    """The safety net of these tests: a lost wake-up fails, showing where each task waits."""

    async def forgotten() -> None:
        await asyncio.Event().wait()  # nobody will ever set it

    with pytest.raises(AssertionError, match=r"still going after 0.2 s(.|\n)* in forgotten"):
        run_bounded(forgotten(), limit=0.2)
