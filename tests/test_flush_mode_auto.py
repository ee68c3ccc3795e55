"""``--mode auto`` (the default, issue #22): async until the cache's answers say SYNC is cheaper.

The choice itself (hpccache_cli.flush.mode_choice) is checked answer by answer, without a
clock; then whole runs against the emulator check what it chose by the calls the emulator
received (counts with margins, never times): short write-backs of dirty files switch a run to
SYNC, clean files and long write-backs keep it async, and every file still ends flushed.
"""

from __future__ import annotations

from pathlib import Path

from test_flush_support import assert_written_back, dirty_cache, emulator, flush, flush_logged

from hpccache_cli.flush import mode_choice
from hpccache_cli.flush.mode_choice import ModeChooser
from hpccache_cli.flush.options import FlushOptions, Policies
from hpccache_cli.flush.poll_timing import PollTimer
from hpccache_cli.flush.results import FileResult, Outcome
from hpccache_cli.nfs.client import ClientOptions

ADDR = "127.0.0.63"


def chooser(prior: float = 0.05) -> ModeChooser:
    return ModeChooser(PollTimer(Policies().poll, prior))


def learn(c: ModeChooser, files: int, *, dirty: bool = True, ended: bool = True,
          waited: float = 0.05) -> None:
    """``files`` STARTs answered (dirty or clean), each dirty one polled once at ``waited``."""
    for _ in range(files):
        c.started(dirty)
        if dirty:
            c.timer.observe(waited, ended)
            c.first_poll()


def test_the_default_mode_is_auto() -> None:
    assert FlushOptions().mode == "auto"
    FlushOptions(mode="auto").validate()


def test_a_run_starts_async_and_switches_on_short_dirty_write_backs() -> None:
    c = chooser()
    assert not c.use_sync()  # nothing known: START, as async mode does
    learn(c, mode_choice.LEARN - 1)
    assert not c.syncing  # not enough evidence yet
    learn(c, 1)
    assert c.syncing
    picks = [c.use_sync() for _ in range(4 * mode_choice.SAMPLE_EVERY)]
    # one file in SAMPLE_EVERY still STARTs and polls, so the run keeps learning
    assert picks.count(False) == 4
    assert c.syncs == picks.count(True)


def test_clean_files_keep_a_run_async() -> None:
    """A START answering OK says *clean*; a SYNC could not: mostly clean runs stay async."""
    c = chooser()
    learn(c, mode_choice.LEARN)
    assert c.syncing
    learn(c, 2 * mode_choice.LEARN, dirty=False)
    assert not c.syncing
    assert not any(c.use_sync() for _ in range(50))


def test_long_write_backs_keep_a_run_async() -> None:
    c = chooser()
    learn(c, 40, waited=0.4)  # ended, but only after 0.4 s: the estimate is above SHORT
    assert c.timer.estimate > mode_choice.SHORT
    assert not c.syncing


def test_write_backs_that_grow_long_switch_back() -> None:
    """Most files go by SYNC then: their round trips show it first."""
    c = chooser()
    learn(c, mode_choice.LEARN)
    assert c.syncing
    for _ in range(3):
        c.synced(1.0)
    assert not c.syncing
    learn(c, 40, waited=1.0)  # the sampled STARTs: ended, but after 1 s
    assert not c.syncing


def test_long_syncs_switch_back_but_one_does_not() -> None:
    c = chooser()
    learn(c, mode_choice.LEARN)
    c.synced(30.0)  # one huge file
    assert c.syncing
    for _ in range(3):
        c.synced(2.0)
    assert not c.syncing
    learn(c, 20)  # the STARTs' first polls say short again: back to SYNC
    assert c.syncing


def test_each_switch_is_logged_with_why() -> None:
    logs: list[str] = []
    c = ModeChooser(PollTimer(Policies().poll, 0.05), logs.append)
    c.use_sync()
    assert logs == []  # async from the start is no switch
    learn(c, mode_choice.LEARN)
    c.use_sync()
    c.use_sync()
    for _ in range(3):
        c.synced(2.0)
    c.use_sync()
    assert len(logs) == 2, logs
    assert "one sync flush per file from now on" in logs[0]
    assert "sync flushes took longer than 0.25 s" in logs[1]


# --- whole runs against the emulator ----------------------------------------------------------


def run(tmp_path: Path, count: int, per_file: float, mode: str = "auto",
        clean: bool = False) -> tuple[dict[str, int], dict[str, int]]:
    names = dirty_cache(tmp_path, [f"d{i % 20:02d}/f{i:04d}" for i in range(count)])
    with emulator(tmp_path, [ADDR],
                  writeback={"per_file_seconds": per_file, "parallel": 64}) as emu:
        if clean:  # written back once already: the measured run finds every file clean
            flush(emu, names, policies=Policies(), mode="sync")
            before = dict(emu.emulator.rpc_counts())
        else:
            before = {}
        summary = flush(emu, names, policies=Policies(), mode=mode, concurrency=32)
        counts = {k: v - before.get(k, 0) for k, v in emu.emulator.rpc_counts().items()}
    assert_written_back(tmp_path, names)
    return {k: v for k, v in summary.counts.items() if v}, counts


def test_short_write_backs_switch_a_run_to_sync(tmp_path: Path) -> None:
    """600 dirty files, 10 ms write-backs: after the first files' polls most go by SYNC; an
    async run of the same files sends a START and at least one STATUS for every file."""
    outcomes, calls = run(tmp_path, 600, 0.01)
    assert outcomes == {"flushed": 600}
    # Margins for a loaded machine: the switch comes after LEARN first polls of the first
    # 32 files in flight; one in SAMPLE_EVERY of the rest still STARTs.
    assert calls["FLUSH.SYNC"] >= 300, calls
    assert calls["FLUSH.START"] + calls["FLUSH.SYNC"] == 600, calls
    assert calls["FLUSH.STATUS"] <= calls["FLUSH.START"] * 3, calls


def test_clean_files_are_reported_clean(tmp_path: Path) -> None:
    outcomes, calls = run(tmp_path, 300, 0.01, clean=True)
    assert outcomes == {"clean": 300}
    assert calls.get("FLUSH.SYNC", 0) == 0 and calls["FLUSH.START"] == 300, calls


def test_long_write_backs_stay_async(tmp_path: Path) -> None:
    """0.4 s write-backs (longer than SHORT): START and poll, never a SYNC held that long."""
    outcomes, calls = run(tmp_path, 160, 0.4)
    assert outcomes == {"flushed": 160}
    assert calls.get("FLUSH.SYNC", 0) == 0, calls


def test_async_mode_never_syncs(tmp_path: Path) -> None:
    outcomes, calls = run(tmp_path, 300, 0.01, mode="async")
    assert outcomes == {"flushed": 300}
    assert calls.get("FLUSH.SYNC", 0) == 0 and calls["FLUSH.START"] == 300, calls


def test_a_sync_chosen_by_auto_ends_at_the_file_deadline(tmp_path: Path) -> None:
    """Once the run syncs, the cache stops ending write-backs (paused): the SYNCs held at the
    cache end at each file's 3 s deadline, not at the 1 s call timeout (which would also
    count the address as failed), and each file reads timed out with its phase. (Not 1 s and
    0.3 s: on a loaded machine an in-process reply may come 0.3 s late.)"""
    names = dirty_cache(tmp_path, [f"d{i % 10}/f{i:03d}" for i in range(200)])
    with emulator(tmp_path, [ADDR], writeback={"per_file_seconds": 0.005, "parallel": 64}) as emu:
        wb = emu.namespace.writeback
        seen: list[FileResult] = []

        def on_result(result: FileResult) -> None:
            seen.append(result)
            if len(seen) == 150:  # long after the switch (LEARN first polls)
                emu.run(wb.pause)

        summary, logs = flush_logged(emu, names, [ADDR], on_result, policies=Policies(),
                                     timeout=3.0, concurrency=16,
                                     client_options=ClientOptions(timeout=1.0))
        emu.run(wb.resume)
        calls = emu.emulator.rpc_counts()
    assert calls["FLUSH.SYNC"] >= 50, calls
    failed = [r for r in seen if r.outcome is Outcome.FAILED]
    assert failed and len(seen) == 200
    for r in failed:
        assert r.kind == "timeout" and r.reason.startswith("timed out after 3 s ("), r
    assert any("starting write-back" in r.reason for r in failed), failed  # a held SYNC
    assert not [line for line in logs if "failed" in line], logs  # no address marked down
    assert summary.counts["flushed"] + len(failed) == 200
