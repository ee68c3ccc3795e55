"""Sync mode: a SYNC flush COMMIT has its own per-call timeout; every other call keeps the
client's.

A SYNC COMMIT is answered only when the file's write-back ends, so it may take far longer
than the client's per-call timeout (30 s by default). It used to get room by raising the
timeout of the *whole client* to the file timeout + 30 s, which also let a LOOKUP to a hung
address wait minutes before the address counted as failed. Now only the SYNC call gets the
file's remaining time.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from peers import wait_until
from test_flush_support import (
    assert_written_back,
    by_path,
    dirty_cache,
    emulator,
    flush_logged,
    outcomes,
)

from hpccache_cli.flush.results import Outcome
from hpccache_cli.nfs.client import ClientOptions

A1, A2 = "127.0.0.43", "127.0.0.44"


def quick_calls(seconds: float) -> ClientOptions:
    return ClientOptions(timeout=seconds)


def test_sync_flush_outlasts_the_client_call_timeout(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"long/f{i}" for i in range(8)])
    # Each write-back takes 3 s; every call but the SYNC must answer within 1 s (not 0.3 s:
    # on a loaded machine an in-process reply can be that late, and the address would count
    # as failed for it).
    with emulator(tmp_path, [A1], writeback={"per_file_seconds": 3.0, "parallel": 8}) as emu:
        summary, logs = flush_logged(emu, names, [A1], mode="sync", timeout=60,
                                     client_options=quick_calls(1.0))
    assert outcomes(summary) == {"flushed": 8}
    assert not [line for line in logs if "failed" in line], logs  # no address marked down
    assert_written_back(tmp_path, names)


def test_other_calls_keep_the_client_timeout_in_sync_mode(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["slow/f0"])
    # Every reply comes 1.5 s late: a LOOKUP waits out the 0.3 s call timeout, and the
    # address is reported failed, as in async mode (before, sync mode waited 90 s).
    with emulator(tmp_path, [A1], faults={"latency_ms": 1500}) as emu:
        summary, logs = flush_logged(emu, names, [A1], mode="sync", timeout=60,
                                     client_options=quick_calls(0.3))
    assert summary.exit_code != 0
    assert any(f"mount address {A1} failed" in line and "no reply" in line for line in logs), logs


def test_the_file_deadline_still_ends_a_sync_flush(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["held/f0", "held/f1"])
    with emulator(tmp_path, [A1, A2]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)  # the write-backs never end while paused
        with ThreadPoolExecutor(1) as pool:
            # (3 s and 1 s, not 1 s and 0.3 s: room for in-process replies under load)
            run = pool.submit(flush_logged, emu, names, [A1, A2], mode="sync", timeout=3.0,
                              client_options=quick_calls(1.0))
            summary, logs = run.result(timeout=60)
        wait_until(lambda: emu.run(wb.running_count) == 2, message="both write-backs held")
        emu.run(wb.resume)
    got = by_path(summary)
    for name in names:
        assert got[name].outcome is Outcome.FAILED
        assert got[name].kind == "timeout" and "timed out after 3 s" in got[name].reason
    # The SYNCs outlived the 1 s call timeout without either address counting as failed.
    assert not [line for line in logs if "failed" in line], logs
