"""Temporary output files never outlive their run for long (issue 19, "Signals and outputs").

Every ending the process sees removes them (see test_flush_signals.py: SIGHUP, SIGTERM, a
signal during a FIFO's wait). The endings it cannot see (``kill -9``) leave them; the next run
writing beside the same target removes them, when their run is certainly dead: its PID is no
live process here and nobody holds the file's lock. Nothing else is ever removed: not another
target's, not a near miss of the name, not a link, not a file whose PID lives or whose lock is
held (a live run on another host sharing the directory).
"""

from __future__ import annotations

import fcntl
import os
import signal
from collections.abc import Callable
from pathlib import Path

from signals_support import (
    A1,
    Run,
    dead_pid,
    leftovers,
    no_stray_runs,  # noqa: F401  (autouse: no run outlives its test)
)
from test_flush_support import assert_written_back, dirty_cache, emulator

from hpccache_cli.errors import EXIT_OK


def test_a_killed_runs_temporary_files_are_removed_by_the_next_run(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    names = dirty_cache(tmp_path, [f"k/f{i:02d}" for i in range(20)])
    report, failed = tmp_path / "report.jsonl", tmp_path / "failed.lst"
    args = ["--concurrency", "4", "--report", str(report), "--failed-to", str(failed)]
    data = b"\n".join(names) + b"\n"
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)
        killed = Run(emu, args, data)
        wait_until(lambda: emu.run(wb.running_count) == 4, message="flushes not in flight")
        killed.signal(signal.SIGKILL)
        assert killed.wait() == -signal.SIGKILL
        left = leftovers(tmp_path)
        assert len(left) == 2 and all(f".{killed.proc.pid}." in x for x in left)
        emu.run(wb.resume)
        again = Run(emu, args, data)
        code = again.wait()
    assert code == EXIT_OK, again.err.text()
    assert leftovers(tmp_path) == []
    assert len(report.read_text().splitlines()) == 20 and failed.read_bytes() == b""
    assert_written_back(tmp_path, names)


def test_only_a_dead_runs_files_of_that_target_are_removed(tmp_path: Path) -> None:
    """Planted leftovers beside ``failed.lst``: one of a dead, unlocked run (removed) and
    every look-alike that must stay."""
    dirty_cache(tmp_path, ["p/a"])
    dead, me = dead_pid(), os.getpid()
    target = tmp_path / "failed.lst"
    elsewhere = tmp_path / "kept.txt"
    elsewhere.write_text("not ours to touch\n")

    def plant(name: str, text: str = "partial\n") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    gone = plant(f".failed.lst.{dead}.0badc0de.hpccache-tmp")
    kept = [
        plant(f".failed.lst.{me}.00000001.hpccache-tmp"),  # its PID is alive
        plant(f".other.lst.{dead}.00000002.hpccache-tmp"),  # another target's
        plant(f".failed.lst.{dead}.ABCDEF12.hpccache-tmp"),  # not our exact pattern
        plant(f".failed.lst.{dead}.00000003.hpccache-tmp.bak"),
        plant(f"failed.lst.{dead}.00000004.hpccache-tmp"),
        plant(f".failed.lst.x{dead}.00000005.hpccache-tmp"),
    ]
    locked = plant(f".failed.lst.{dead}.00000006.hpccache-tmp")  # a live run elsewhere
    link = tmp_path / f".failed.lst.{dead}.00000007.hpccache-tmp"
    link.symlink_to(elsewhere)
    holder = os.open(locked, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with emulator(tmp_path, [A1]) as emu:
            run = Run(emu, ["--failed-to", str(target)], b"p/a\n")
            code = run.wait()
    finally:
        os.close(holder)
    assert code == EXIT_OK, run.err.text()
    assert not gone.exists()
    for path in [*kept, locked]:
        assert path.read_text() == "partial\n", path.name
    assert link.is_symlink() and elsewhere.read_text() == "not ours to touch\n"
    assert target.read_bytes() == b""
