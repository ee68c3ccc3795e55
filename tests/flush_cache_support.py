"""Helpers for ``hpccache flush --cache`` and client-path tests: the NFS emulator with the fake
ARM in front of the same namespace, and the CLI run as users run it (a subprocess).

The emulator serves NFS over TCP on two loopback mount addresses; :class:`FakeArm` serves the
same cache over HTTPS to the real Azure SDK, and its storage-target operations run on the
emulator's own event loop (:class:`EmulatorOps`), so an ARM target flush really writes the
cache's dirty files to the back-end directory, exactly what a per-file flush would have done.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator_support import make_config
from test_flush_support import CLI, cli_env

from hpccache_cli.emulator.arm import FakeArm
from hpccache_cli.emulator.server import EmulatorThread

A_ROOT, A_JUNCTION = "127.0.0.61", "127.0.0.62"
CACHE, RG = "emu-test", "emulated-rg"
SUB = "00000000-0000-0000-0000-000000000000"
CACHE_ID = (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.StorageCache"
            f"/caches/{CACHE}")
BY_NAME = ["--cache", CACHE, "-g", RG]
JUNCTIONS = "/NAS_12_exp5, /blob/data, /ro"


class EmulatorOps:
    """TargetOps for FakeArm that run on the emulator's loop (the namespace's only thread)."""

    def __init__(self, emu: EmulatorThread) -> None:
        self.emu = emu

    async def flush_target(self, target: str) -> None:
        await asyncio.to_thread(self.emu.call, self.emu.namespace.flush_target, target)

    async def flush_all(self) -> None:
        await asyncio.to_thread(self.emu.call, self.emu.namespace.flush_all)

    def set_suspended(self, target: str, suspended: bool) -> None:
        self.emu.run(self.emu.namespace.set_suspended, target, suspended)

    async def invalidate_target(self, target: str) -> None:
        await asyncio.to_thread(self.emu.call, self.emu.namespace.invalidate_target, target)

    def dirty_count(self, target: str | None = None) -> int:
        return self.emu.run(self.emu.namespace.dirty_count, target)


@dataclass
class World:
    """A running emulator + fake ARM over ``base`` (cache ``emu-test`` in ``emulated-rg``)."""

    emu: EmulatorThread
    arm: FakeArm
    base: Path

    def cache_file(self, ns_path: str | bytes, data: bytes | None = None) -> Path:
        """The cache's copy of a namespace path; with ``data``, write it (dirty)."""
        path = Path(os.fsdecode(os.fsencode(self.base / "cache") + os.fsencode(ns_path)))
        if data is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return path

    def backend_file(self, ns_path: str | bytes) -> Path:
        """Where the back end keeps a namespace path (see emulator_support.make_config)."""
        ns = os.fsdecode(ns_path)
        for junction, where in (("/NAS_12_exp5", "backend/nas1"),
                                ("/blob/data", "backend/blob1/sub"), ("/ro", "backend/ro1")):
            if ns.startswith(junction + "/"):
                return self.base / where / ns[len(junction) + 1:]
        raise AssertionError(f"{ns} is under no junction")

    def dirty(self, *ns_paths: str | bytes) -> list[str | bytes]:
        for ns in ns_paths:
            self.cache_file(ns, b"cache copy of " + os.fsencode(ns) + b"\n")
        return list(ns_paths)

    def assert_written_back(self, *ns_paths: str | bytes) -> None:
        for ns in ns_paths:
            backend = self.backend_file(ns)
            assert backend.exists(), f"{ns!r} was not written back"
            assert backend.read_bytes() == self.cache_file(ns).read_bytes(), ns

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for the CLI: NFS ports, the fake ARM, a private resolution cache."""
        env = cli_env(self.emu)
        for key in list(env):
            if key.startswith(("HPCCACHE_", "AZURE_")) and key not in (
                    "HPCCACHE_MOUNT_PORT", "HPCCACHE_NFS_PORT"):
                del env[key]
        env.update(self.arm.client_env())
        env.update({"XDG_CACHE_HOME": str(self.base / "xdg"), "HPCCACHE_ARM_RETRIES": "1",
                    "HPCCACHE_POLL_INTERVAL": "0.05"})
        env.update(extra)
        return env

    def arm_calls(self, method: str | None = None) -> int:
        return self.arm.request_count(method)


@contextmanager
def world(base: Path, **kwargs: Any) -> Iterator[World]:
    """Emulator on A_ROOT and A_JUNCTION (no automatic write-back) + the fake ARM."""
    config = make_config(base, [A_ROOT, A_JUNCTION], **kwargs)
    with EmulatorThread(config) as emu:
        arm = FakeArm(config, EmulatorOps(emu), token="flush-test-token-not-a-secret",
                      poll_after_ms=10)
        arm.start()
        try:
            yield World(emu, arm, base)
        finally:
            arm.stop()


def mountinfo(base: Path) -> tuple[Path, Path, Path]:
    """A client's mount table: the cache's root on ``mnt/cache`` (from A_ROOT) and its junction
    /NAS_12_exp5 on ``mnt/nas`` (from A_JUNCTION). Returns (table file, root mount, junction
    mount); the mount points need not exist (paths are then translated as written)."""
    mnt = base.resolve() / "mnt"
    root, nas = mnt / "cache", mnt / "nas"

    def esc(p: Path) -> str:
        return str(p).replace("\\", "\\134").replace(" ", "\\040")

    table = base / "mountinfo"
    table.write_text(
        "1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
        f"40 1 0:40 / {esc(root)} rw - nfs {A_ROOT}:/ rw,vers=3,addr={A_ROOT}\n"
        f"41 1 0:41 / {esc(nas)} rw - nfs {A_JUNCTION}:/NAS_12_exp5 rw,vers=3,"
        f"addr={A_JUNCTION}\n"
    )
    return table, root, nas


def run(args: list[str | bytes], env: dict[str, str], data: bytes = b"",
        timeout: float = 90) -> subprocess.CompletedProcess[bytes]:
    """``hpccache ARGS`` in a child process (bytes arguments stay bytes)."""
    return subprocess.run([*CLI, *args], input=data, capture_output=True, env=env,
                          timeout=timeout, check=False)


def report_of(path: Path) -> dict[str, dict[str, Any]]:
    """``--report`` lines by path."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return {str(x["path"]): x for x in lines}


def one_error_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    """The single ``hpccache: error:`` line of a failed run (and no traceback)."""
    err = proc.stderr.decode()
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("hpccache: error: "), err
    return lines[0]
