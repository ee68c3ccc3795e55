"""Stops placed exactly where an engine used to lose a path, or to ignore the stop.

The sibling of ``test_stop_before_start.py``: each stop here is requested from code that runs
at one precise point of the engine's loop turns (a sink's ``emit``, a resolver, a callback
queued with ``call_soon``), never after a sleep, so each test fails the same way every time
on the code it guards against.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from bounded_support import run_bounded
from emulator_support import JUNCTION
from test_flush_support import FAST, Recorder, dirty_cache, emulator

from hpccache_cli.flush.api import make_options
from hpccache_cli.flush.engine import FlushEngine
from hpccache_cli.flush.inputs import BATCH, IterableSource
from hpccache_cli.flush.refresh import RefreshEngine
from hpccache_cli.flush.resolve import ExportResolver, OutsideShard, Target
from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome

A1 = "127.0.0.41"


class Handed(IterableSource):
    """An IterableSource that remembers every path it handed to the engine."""

    def __init__(self, paths: list[str]) -> None:
        super().__init__(paths)
        self.handed: list[bytes] = []

    async def next_batch(self) -> list[bytes] | None:
        batch = await super().next_batch()
        self.handed += batch or []
        return batch


def test_a_refresh_stop_in_a_results_emit_also_stops_the_directories_found_below(
    tmp_path: Path,
) -> None:
    """A stop requested while a listed directory's own result is emitted (a sink's write
    failing does exactly that) came after the live tasks were cancelled and before the
    directories found below were spawned: those were then listed in full, and so was every
    directory below them, the stop ignored. Now they end unfinished, never started."""
    dirty_cache(tmp_path, ["top/a/x/f", "top/b/f", "top/c/f"])
    seen: list[FileResult] = []
    engine: list[RefreshEngine] = []

    def on_result(result: FileResult) -> None:
        seen.append(result)
        if result.path == b"top":
            engine[0].request_stop()

    with emulator(tmp_path, [A1]) as emu:
        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                               policies=FAST, recursive=True)
        engine.append(RefreshEngine(ExportResolver([A1], JUNCTION), options,
                                    Recorder(on_result)))
        summary = run_bounded(engine[0].run(IterableSource(["top"])), limit=30)
    outcomes = {r.path: (r.outcome, r.reason) for r in seen}
    assert Counter(r.path for r in seen) == Counter({b"top": 1, b"top/a": 1, b"top/b": 1,
                                                     b"top/c": 1})
    assert outcomes[b"top"][0] is Outcome.REFRESHED
    for below in (b"top/a", b"top/b", b"top/c"):
        assert outcomes[below] == (Outcome.UNFINISHED, "interrupted before it started")
    assert summary.interrupted and summary.total == summary.done == 4


class StopTwiceOnFirst(ExportResolver):
    """Resolving the first path asks the engine to stop twice (two Ctrl-C): stop reading."""

    def __init__(self, stop: list[object]) -> None:
        super().__init__([A1], JUNCTION)
        self.stop = stop
        self.calls = 0

    def resolve(self, raw: bytes) -> Target | FileResult | OutsideShard:
        self.calls += 1
        if self.calls == 1:
            self.stop[0]()  # type: ignore[operator]
            self.stop[0]()  # type: ignore[operator]
        return super().resolve(raw)


def test_a_second_refresh_stop_accounts_for_the_batch_already_read(tmp_path: Path) -> None:
    """After a second stop the refresh stops reading, but a batch the source had already
    handed over was dropped: read from the input (a pipe cannot give it again) and in
    neither the report nor the failed list. Every path handed over now ends unfinished."""
    dirty_cache(tmp_path, ["d/f"])
    paths = [f"d/f{i}" for i in range(BATCH + 10)]  # two batches
    source = Handed(paths)
    seen: list[FileResult] = []
    with emulator(tmp_path, [A1]) as emu:
        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                               policies=FAST)
        stop: list[object] = []
        engine = RefreshEngine(StopTwiceOnFirst(stop), options, Recorder(seen.append))
        stop.append(engine.request_stop)
        summary = run_bounded(engine.run(source), limit=30)
    assert len(source.handed) == len(paths)  # the second batch was handed over
    assert Counter(r.path for r in seen) == Counter(source.handed)
    assert all(r.outcome is Outcome.UNFINISHED for r in seen)
    assert summary.interrupted and summary.total == summary.done == len(paths)
    assert summary.input_read == len(paths) and not summary.input_complete


def test_two_flush_stops_before_the_feeder_ran_end_the_run_with_a_summary(
    tmp_path: Path,
) -> None:
    """Two stops (Ctrl-C twice, or SIGTERM then SIGINT) in the loop turn the flush engine
    started its tasks in: the feeder, cancelled before its first step, took the finisher
    with it, and ``run`` mistook that for its own cancellation: it raised CancelledError
    instead of returning the summary (no report, a traceback). Now it returns: interrupted,
    nothing read."""
    dirty_cache(tmp_path, ["f"])
    seen: list[FileResult] = []
    with emulator(tmp_path, [A1]) as emu:
        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                               policies=FAST)
        engine = FlushEngine(ExportResolver([A1], JUNCTION), options, Recorder(seen.append))

        async def main() -> FlushSummary:
            run = asyncio.ensure_future(engine.run(IterableSource(["f"])))

            def stop_twice() -> None:  # after run's first step, before the feeder's
                engine.request_stop()
                engine.request_stop()

            asyncio.get_running_loop().call_soon(stop_twice)
            return await run

        summary = run_bounded(main(), limit=30)
    assert summary.interrupted and not summary.input_complete
    assert summary.total == summary.done == len(seen)


def test_two_flush_stops_before_the_run_stop_reading_at_once(tmp_path: Path) -> None:
    """Signals noted before the engine started are replayed as stops before ``run``
    (``Interrupts.route``); the second must stop reading the input, as it does during the
    run. It used to be forgotten (no feeder yet to cancel): the whole input was read."""
    dirty_cache(tmp_path, ["f"])
    source = Handed([f"f{i}" for i in range(3 * BATCH)])
    seen: list[FileResult] = []
    with emulator(tmp_path, [A1]) as emu:
        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                               policies=FAST)
        engine = FlushEngine(ExportResolver([A1], JUNCTION), options, Recorder(seen.append))
        engine.request_stop()
        engine.request_stop()
        summary = run_bounded(engine.run(source), limit=30)
    assert summary.interrupted and not summary.input_complete
    assert len(source.handed) < 3 * BATCH
    assert Counter(r.path for r in seen) == Counter(source.handed)
    assert summary.total == summary.done == len(source.handed)


def test_a_copy_stopped_while_a_slow_server_holds_an_mkdir_ends_at_once(
    tmp_path: Path,
) -> None:
    """The copy's walk (its MKDIRs, DEST, the connect) ran in the run itself, which a stop
    did not cancel: Ctrl-C while the server held an MKDIR waited for the call to end (up to
    the call timeout, 30 s, then the address counted as down...). The stop comes here right
    after the first source's failure was emitted, so the walk is in the next source's MKDIR,
    which the server holds for a minute: the run must end at once, the directory
    unfinished."""
    import os

    from hpccache_cli.flush.copy import CopyEngine

    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_bytes(b"f")
    missing = os.fsencode(tmp_path / "missing")
    seen: list[FileResult] = []
    engine: list[CopyEngine] = []
    dirty_cache(tmp_path, ["dest/keep"])
    with emulator(tmp_path, [A1]) as emu:

        def on_result(result: FileResult) -> None:
            seen.append(result)
            if result.path == missing:  # every later reply held a minute; then Ctrl-C
                emu.faults.latency_ms = 60_000
                asyncio.get_running_loop().call_soon(engine[0].request_stop)

        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                               policies=FAST)
        engine.append(CopyEngine(Target((A1,), JUNCTION.encode(), b"dest"), options,
                                 Recorder(on_result)))
        summary = run_bounded(engine[0].run([missing, os.fsencode(src)]), limit=20)
        emu.faults.latency_ms = 0
    outcomes = {r.path: (r.outcome, r.reason) for r in seen}
    assert outcomes == {
        missing: (Outcome.FAILED, "cannot read it: No such file or directory"),
        os.fsencode(src): (Outcome.UNFINISHED,
                           "interrupted before every entry below it was copied"),
    }
    assert summary.interrupted and summary.total == summary.done == 2
