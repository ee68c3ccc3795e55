"""Counts add up under interruption: with ``--recursive``, every path counted in ``total`` gets
exactly one outcome however the run is stopped (issue 11, section 4).

A directory lister counts each file it finds before queueing it; when the work queue is full
the lister waits, and a stop at that moment used to leave the counted file without an
outcome ("total 1346" with 1,345 outcomes). The runs here are stopped at random, seeded
points: after the k-th outcome, with k drawn from a fixed seed, so a failure is reproducible.
Several listers each have more files than the queue holds, so they are waiting on it when
the stop comes.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from bounded_support import run_bounded
from emulator_support import JUNCTION
from test_flush_support import FAST, Recorder, dirty_cache, emulator

from hpccache_cli.flush.api import make_options
from hpccache_cli.flush.engine import FlushEngine
from hpccache_cli.flush.inputs import IterableSource
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.results import FileResult, FlushSummary

A1 = "127.0.0.39"
DIRS, PER_DIR = 4, 300  # each directory alone overfills the work queue (256 here)


def _stopped_run(emu: object, stop_after: int) -> tuple[FlushSummary, list[FileResult]]:
    options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,  # type: ignore[attr-defined]
                           policies=FAST, recursive=True, concurrency=4)
    seen: list[FileResult] = []
    engine: list[FlushEngine] = []

    def on_result(result: FileResult) -> None:
        seen.append(result)
        if len(seen) == stop_after:
            engine[0].request_stop()  # what Ctrl-C does

    engine.append(FlushEngine(ExportResolver([A1], JUNCTION), options, Recorder(on_result)))
    paths = [f"d{i}/" for i in range(DIRS)]
    summary = run_bounded(engine[0].run(IterableSource(paths)))
    return summary, seen


def test_every_counted_path_gets_an_outcome_when_recursive_runs_are_stopped(
    tmp_path: Path,
) -> None:
    dirty_cache(tmp_path, [f"d{d}/f{i:03d}" for d in range(DIRS) for i in range(PER_DIR)])
    rng = random.Random(11)
    with emulator(tmp_path, [A1]) as emu:
        for stop_after in sorted(rng.randrange(1, PER_DIR) for _ in range(5)):
            summary, seen = _stopped_run(emu, stop_after)
            paths = Counter(r.path for r in seen)
            assert summary.interrupted, stop_after
            assert [p for p, n in paths.items() if n > 1] == [], stop_after  # once each
            assert summary.done == len(seen), stop_after
            assert summary.total == summary.done, (
                f"stopped after {stop_after}: total {summary.total}, "
                f"{summary.done} outcomes ({dict(summary.counts)})")
