"""A server that answers nothing, holds a call open or keeps saying "busy": the file's
reason says what it waited for and how long (issue #11 §6), e.g. "no reply to LOOKUP from
127.0.11.1 in 0.5 s", or that the server was busy (NFS3ERR_JUKEBOX)."""

from __future__ import annotations

from pathlib import Path

from test_flush_support import FAST, by_path, dirty_cache, emulator, flush_logged

from hpccache_cli.flush.results import Outcome
from hpccache_cli.nfs.client import ClientOptions

A1, A2, A3 = "127.0.11.1", "127.0.11.2", "127.0.11.3"


def test_a_call_held_past_the_file_deadline_names_the_call_and_the_wait(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["held/a", "held/b"])
    with emulator(tmp_path, [A1], faults={"latency_ms": 3000}) as emu:
        summary, _ = flush_logged(emu, names, [A1], timeout=0.5)
    reasons = [r.reason for r in by_path(summary).values()]
    assert {r.kind for r in by_path(summary).values()} == {"timeout"}
    # The first file's LOOKUP of "held" was held; the other waited on that same LOOKUP.
    assert f"timed out after 0.5 s (looking up: no reply to LOOKUP from {A1} in 0.5 s)" in reasons
    assert all(f"LOOKUP from {A1}" in r for r in reasons), reasons


def test_a_server_that_stops_answering_names_the_unanswered_call(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["silent/a"])
    with emulator(tmp_path, [A2], faults={"latency_ms": 2500}) as emu:
        summary, _ = flush_logged(emu, names, [A2], timeout=30,
                                  client_options=ClientOptions(timeout=0.3))
    (result,) = by_path(summary).values()
    assert result.outcome is Outcome.FAILED and result.kind == "unreachable"
    assert f"no reply to LOOKUP from {A2} in 0.3 s" in result.reason, result.reason


def test_a_busy_server_is_named_busy(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["busy/a"])
    with emulator(tmp_path, [A3], faults={"jukebox_every": 1}) as emu:
        # 3 s, not 0.5: the lookups before the write-back must fit on a loaded machine, or
        # the time runs out in a phase that is not the busy one.
        summary, _ = flush_logged(emu, names, [A3], timeout=3.0, policies=FAST)
    (result,) = by_path(summary).values()
    assert result.outcome is Outcome.FAILED and result.kind == "timeout"
    assert result.reason.startswith("timed out after 3 s (starting write-back: the server "
                                    "was busy (answered NFS3ERR_JUKEBOX"), result.reason
