"""Helpers for the flush tests (imported by the other ``test_flush_*`` modules).

A cache made by :func:`dirty_cache` has its files only on the cache side (so they are dirty),
under the junction ``/NAS_12_exp5`` of storage target ``nas1``; :func:`assert_written_back`
checks the back end now holds the very same bytes, which is the point of a flush.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bounded_support import run_bounded
from emulator_support import JUNCTION, make_config

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.flush.api import flush_paths_async, make_options
from hpccache_cli.flush.engine import FlushEngine
from hpccache_cli.flush.inputs import IterableSource
from hpccache_cli.flush.options import Backoff, Policies
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome
from hpccache_cli.flush.sinks import Sink

ROOT = Path(__file__).resolve().parents[1]

#: Quick timings for tests (defaults are for real caches).
FAST = Policies(
    poll=Backoff(0.01, 2.0, 0.2), jukebox=Backoff(0.01, 2.0, 0.1),
    restart=Backoff(0.01, 2.0, 0.05), reconnect=Backoff(0.02, 2.0, 0.2),
    unreachable_after=2.0, drain_idle=0.5,
)


def cache_file(base: Path, rel: str | bytes) -> bytes:
    return os.fsencode(base / "cache" / JUNCTION.lstrip("/")) + b"/" + os.fsencode(rel)


def backend_file(base: Path, rel: str | bytes) -> bytes:
    return os.fsencode(base / "backend" / "nas1") + b"/" + os.fsencode(rel)


def write(path: bytes, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def dirty_cache(base: Path, files: Iterable[str | bytes]) -> list[bytes]:
    """Write each file on the cache side only (dirty); returns the names as bytes."""
    names = []
    for rel in files:
        raw = os.fsencode(rel)
        write(cache_file(base, raw), b"cache copy of " + raw + b"\n" * 3)
        names.append(raw)
    return names


def assert_written_back(base: Path, names: Iterable[bytes]) -> None:
    for raw in names:
        with open(cache_file(base, raw), "rb") as c, open(backend_file(base, raw), "rb") as b:
            assert c.read() == b.read(), raw


@contextmanager
def emulator(base: Path, addresses: list[str], **kwargs: Any) -> Iterator[EmulatorThread]:
    """An emulator over ``base`` (ports picked free, no portmapper unless asked)."""
    with EmulatorThread(make_config(base, addresses, **kwargs)) as emu:
        yield emu


def flush(emu: EmulatorThread, paths: Iterable[str | bytes], ips: list[str] | None = None,
          **kwargs: Any) -> FlushSummary:
    """flush_paths against ``emu`` with quick test timings; a run that never ends fails the
    test with its tasks' await chains (:func:`bounded_support.run_bounded`)."""
    kwargs.setdefault("policies", FAST)
    return run_bounded(flush_paths_async(
        paths, ips=ips or list(emu.config.cache.mount_addresses), export=JUNCTION,
        mount_port=emu.ports.mount, nfs_port=emu.ports.nfs, **kwargs,
    ))


class Recorder(Sink):
    """Collects run-level log lines; calls ``on_result`` for each result."""

    def __init__(self, on_result: Callable[[FileResult], None] | None = None) -> None:
        self.logs: list[str] = []
        self.on_result = on_result

    def emit(self, result: FileResult) -> None:
        if self.on_result is not None:
            self.on_result(result)

    def log(self, message: str) -> None:
        self.logs.append(message)


def flush_logged(emu: EmulatorThread, paths: Iterable[str | bytes], ips: list[str],
                 on_result: Callable[[FileResult], None] | None = None,
                 **kwargs: Any) -> tuple[FlushSummary, list[str]]:
    """Like :func:`flush`, also returning the engine's log lines (address changes...)."""
    kwargs.setdefault("policies", FAST)
    options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs, **kwargs)
    recorder = Recorder(on_result)
    engine = FlushEngine(ExportResolver(ips, JUNCTION), options, recorder, collect=True)
    summary = run_bounded(engine.run(IterableSource(paths)))
    return summary, recorder.logs


def by_path(summary: FlushSummary) -> dict[bytes, FileResult]:
    assert summary.results is not None
    return {r.path: r for r in summary.results}


def outcomes(summary: FlushSummary) -> dict[str, int]:
    return {k: v for k, v in summary.counts.items() if v}


def cli_env(emu: EmulatorThread) -> dict[str, str]:
    """Environment for ``python -m hpccache_cli`` subprocesses aimed at ``emu``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["HPCCACHE_MOUNT_PORT"] = str(emu.ports.mount)
    env["HPCCACHE_NFS_PORT"] = str(emu.ports.nfs)
    return env


CLI = [sys.executable, "-m", "hpccache_cli"]


def run_cli(args: list[str], env: dict[str, str], data: bytes = b"", timeout: float = 60,
            **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
    """``hpccache ARGS`` in a child process, as a user runs it: ``data`` on stdin, output
    captured (unless ``kwargs`` say otherwise), bounded by ``timeout``."""
    kwargs.setdefault("capture_output", True)
    return subprocess.run(CLI + args, input=data, env=env, timeout=timeout, check=False,
                          **kwargs)


def test_support_writes_dirty_files(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["a/b.txt"])
    assert os.path.exists(cache_file(tmp_path, names[0]))
    assert not os.path.exists(backend_file(tmp_path, names[0]))
    assert Outcome.FLUSHED.value == "flushed"
