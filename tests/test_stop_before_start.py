"""A stop that lands between a path's spawn and its task's first step still gives that path
its outcome (``unfinished``) and gives its slot back.

asyncio starts a task cancelled before its first step by throwing into a coroutine that has
not started, so none of the coroutine's own ``except CancelledError`` runs. CI once lost a
``refresh`` path this way under load (in the report of neither outcome nor failed list). The
timing is made exact here, not hoped for: the stop is requested from code that runs in the
same loop turn as the spawn (the resolver of the next path; the sink of the next source's
failure), so the cancelled task has never run.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from bounded_support import run_bounded
from emulator_support import JUNCTION
from test_flush_support import FAST, Recorder, dirty_cache, emulator

from hpccache_cli.flush.api import make_options
from hpccache_cli.flush.copy import CopyEngine
from hpccache_cli.flush.inputs import IterableSource
from hpccache_cli.flush.refresh import RefreshEngine
from hpccache_cli.flush.resolve import ExportResolver, OutsideShard, Target
from hpccache_cli.flush.results import FileResult, Outcome

A1 = "127.0.0.41"


class StopOnSecond(ExportResolver):
    """Resolves as usual; resolving the second path asks the engine to stop (Ctrl-C), in the
    loop turn that spawned the first path's task."""

    def __init__(self, engine: list[RefreshEngine]) -> None:
        super().__init__([A1], JUNCTION)
        self.engine = engine
        self.calls = 0

    def resolve(self, raw: bytes) -> Target | FileResult | OutsideShard:
        self.calls += 1
        if self.calls == 2:
            self.engine[0].request_stop()
        return super().resolve(raw)


def test_a_refresh_path_stopped_before_its_task_ran_is_unfinished_and_frees_its_slot(
    tmp_path: Path,
) -> None:
    dirty_cache(tmp_path, ["d0/f", "d1/f", "d2/f"])
    seen: list[FileResult] = []
    with emulator(tmp_path, [A1]) as emu:
        # One slot: were the first path's slot lost, the second path's admission would wait
        # for it forever (run_bounded fails the test instead).
        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                               policies=FAST, concurrency=1)
        engine: list[RefreshEngine] = []
        engine.append(RefreshEngine(StopOnSecond(engine), options, Recorder(seen.append)))
        summary = run_bounded(engine[0].run(IterableSource(["d0", "d1", "d2"])), limit=30)
    outcomes = {r.path: r.outcome for r in seen}
    assert Counter(r.path for r in seen) == Counter({b"d0": 1, b"d1": 1, b"d2": 1})
    assert outcomes == {b"d0": Outcome.UNFINISHED, b"d1": Outcome.UNFINISHED,
                        b"d2": Outcome.UNFINISHED}
    assert [r.reason for r in seen if r.path == b"d0"] == ["interrupted before it started"]
    assert summary.interrupted and summary.total == summary.done == 3


def test_a_copy_file_stopped_before_its_task_ran_is_unfinished(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(b"a" * 100)
    missing = os.fsencode(src / "missing")
    seen: list[FileResult] = []
    engine: list[CopyEngine] = []

    def on_result(result: FileResult) -> None:
        seen.append(result)
        if result.path == missing:  # the second source fails at once: Ctrl-C there
            engine[0].request_stop()

    dirty_cache(tmp_path, ["dest/keep"])
    with emulator(tmp_path, [A1]) as emu:
        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                               policies=FAST, concurrency=1)
        engine.append(CopyEngine(Target((A1,), JUNCTION.encode(), b"dest"), options,
                                 Recorder(on_result)))
        summary = run_bounded(engine[0].run([os.fsencode(src / "a"), missing]), limit=30)
    outcomes = {r.path: (r.outcome, r.reason) for r in seen}
    assert outcomes == {
        os.fsencode(src / "a"): (Outcome.UNFINISHED, "interrupted before it started"),
        missing: (Outcome.FAILED, "cannot read it: No such file or directory"),
    }
    assert summary.interrupted and summary.total == summary.done == 2
