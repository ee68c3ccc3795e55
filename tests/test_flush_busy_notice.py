"""A wait on "busy, try later" (NFS3ERR_JUKEBOX) is announced, not waited in silence (#19).

A file on a suspended storage target got JUKEBOX to every call, and ``flush`` waited its
whole timeout without a line, although docs/pipelines.md promises progress every 10 s. Now
the wait is announced within seconds on the console, in pipeline mode (TF_BUILD) too, and
when the target comes back the run says the wait is over. The emulator's suspended target
is the busy server; the CLI runs in a subprocess as users run it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from bounded_support import run_bounded
from emulator_support import JUNCTION
from test_flush_support import FAST, cli_env, dirty_cache, emulator, run_cli

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.flush.api import make_options
from hpccache_cli.flush.engine import FlushEngine
from hpccache_cli.flush.inputs import IterableSource
from hpccache_cli.flush.options import Policies
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.results import FileResult, Outcome
from hpccache_cli.flush.sinks import Sink

IP = "127.0.0.193"


def _env(emu: EmulatorThread, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in cli_env(emu).items()
           if not k.startswith(("HPCCACHE_", "AZURE_", "TF_BUILD", "SYSTEM_"))}
    env.update(HPCCACHE_MOUNT_PORT=str(emu.ports.mount), HPCCACHE_NFS_PORT=str(emu.ports.nfs))
    env.update(extra)
    return env


@pytest.mark.parametrize("pipeline", [False, True], ids=["console", "tf-build"])
def test_a_wait_on_a_suspended_target_is_announced(tmp_path: Path, pipeline: bool) -> None:
    with emulator(tmp_path, [IP]) as emu:
        dirty_cache(tmp_path, ["s/a"])
        emu.run(emu.namespace.set_suspended, "nas1", True)
        extra = {"TF_BUILD": "True"} if pipeline else {}
        proc = run_cli(["flush", "--ip", IP, "--export", JUNCTION, "s/a", "--timeout", "6"],
                       _env(emu, **extra))
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    lines = err.splitlines()
    notes = [i for i, x in enumerate(lines) if "the cache answers NFS3ERR_JUKEBOX" in x]
    assert notes, err  # announced...
    first = lines[notes[0]]
    assert first.startswith("note: 1 file waits: the cache answers NFS3ERR_JUKEBOX"), first
    assert "suspended or being flushed" in first and "--timeout of 6 s" in first
    failed = [i for i, x in enumerate(lines) if "failed s/a" in x or "Flush failed" in x
              or "s/a: timed out" in x]
    assert failed and notes[0] < failed[0], err  # ...before the file's time ran out
    assert "the server was busy (answered NFS3ERR_JUKEBOX" in err
    # the wait's end is said too (the file stopped waiting: it failed)
    assert "no file waits on NFS3ERR_JUKEBOX any more (1 file waited" in err


class _Notices(Sink):
    def __init__(self, on_notice: object) -> None:
        self.notices: list[str] = []
        self.on_notice = on_notice

    def notice(self, message: str) -> None:
        self.notices.append(message)
        if callable(self.on_notice):
            self.on_notice(message)

    def emit(self, result: FileResult) -> None:
        self.notices.append(f"result {result.outcome.value}")


def test_the_end_of_the_wait_is_said_when_the_target_comes_back(tmp_path: Path) -> None:
    """A variant through the library, with quick notices: the target is resumed once the wait
    was announced; the file is then flushed and the run says no file waits any more."""
    policies: Policies = replace(FAST, busy_notice=0.2, notice_every=0.3,
                                 jukebox=replace(FAST.jukebox, cap=0.05))
    with emulator(tmp_path, [IP]) as emu:
        dirty_cache(tmp_path, ["r/a", "r/b"])
        emu.run(emu.namespace.set_suspended, "nas1", True)
        resumed = threading.Event()

        def resume(_message: str) -> None:
            if not resumed.is_set():
                resumed.set()
                threading.Thread(
                    target=emu.run, args=(emu.namespace.set_suspended, "nas1", False)).start()

        sink = _Notices(resume)
        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                               policies=policies, timeout=60.0)
        engine = FlushEngine(ExportResolver([IP], JUNCTION), options, sink, collect=True)
        summary = run_bounded(engine.run(IterableSource([b"r/a", b"r/b"])))
    assert summary.results is not None
    assert [r.outcome for r in summary.results] == [Outcome.FLUSHED] * 2, summary.results
    waits = [n for n in sink.notices if "NFS3ERR_JUKEBOX (busy" in n]
    assert waits and waits[0].startswith(("1 file waits: ", "2 files wait: ")), sink.notices
    assert "until its timeout of 60 s runs out" in waits[0]
    assert sink.notices[-3].startswith("no file waits on NFS3ERR_JUKEBOX any more ("), \
        sink.notices
    assert os.path.exists(tmp_path / "backend" / "nas1" / "r" / "a")


def test_the_progress_line_comes_while_no_file_finishes(tmp_path: Path) -> None:
    """The console's progress line is due every N seconds even while every file waits (here
    on a slow write-back): before, it came only when a file finished."""
    import io

    from hpccache_cli.cli.flush.progress import PlainProgress

    with emulator(tmp_path, [IP], writeback={"per_file_seconds": 2.5}) as emu:
        dirty_cache(tmp_path, ["w/a"])
        stream = io.StringIO()
        console = PlainProgress(stream=stream, every=0.5)
        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                               policies=FAST, timeout=60.0)
        engine = FlushEngine(ExportResolver([IP], JUNCTION), options, console, collect=True)
        summary = run_bounded(engine.run(IterableSource([b"w/a"])))
    assert summary.results is not None and summary.results[0].outcome == Outcome.FLUSHED
    lines = stream.getvalue().splitlines()
    assert "progress: 0 of 1 done (0%), 0 failed" in lines, lines
