"""Helpers for the Azure control-plane tests: a fake ARM over the real emulator namespace.

Everything goes through the real ``azure-mgmt-storagecache`` client over HTTPS to
``FakeArm`` on 127.0.0.1; the cache's storage-target operations act on the emulator's real
``Namespace`` (its TargetOps), so "flush" really copies dirty files to the back-end directory.
Credentials are static tokens: no test ever builds a bare ``DefaultAzureCredential``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from hpccache_cli.control.client import ArmSettings
from hpccache_cli.control.credentials import StaticTokenCredential
from hpccache_cli.emulator.arm import FakeArm
from hpccache_cli.emulator.config import EmulatorConfig, config_from_dict
from hpccache_cli.emulator.namespace import Namespace

FIXTURES = Path(__file__).parent / "fixtures" / "arm"
SUB = "00000000-0000-0000-0000-000000000000"
TOKEN = "test-token-not-a-secret"


def example_body(name: str) -> Any:
    """The 200 body of one stored REST example (addresses already swapped to loopback)."""
    return json.loads((FIXTURES / name).read_text())["responses"]["200"]["body"]


def example_cache() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Caches_Get's sc1 with ListByCache's nfs3/clfs/unknown targets and a blobNfs one."""
    targets = example_body("StorageTargets_ListByCache.json")["value"]
    return example_body("Caches_Get.json"), [*targets, example_body("StorageTarget_BlobNfs.json")]


def make_config(base: Path, **writeback: Any) -> EmulatorConfig:
    """Cache ``emu`` in ``emu-rg``: nfs3 target ``nas1`` (/proj), clfs ``blob1`` (/blob),
    read-only ``ro1`` (/ro)."""
    return config_from_dict(
        {
            "cache": {
                "name": "emu",
                "resource_group": "emu-rg",
                "subscription_id": SUB,
                "mount_addresses": ["127.0.0.11", "127.0.0.12"],
            },
            "writeback": writeback or {"per_file_seconds": 0.0},
            "storage_targets": [
                {
                    "name": "nas1",
                    "backend_dir": "backend/nas1",
                    "usage_model": "WRITE_WORKLOAD_15",
                    "junctions": [{"namespace_path": "/proj", "nfs_export": "/export1"}],
                },
                {
                    "name": "blob1",
                    "type": "clfs",
                    "usage_model": None,
                    "backend_dir": "backend/blob1",
                    "target": "https://127.0.0.1/container",
                    "junctions": [{"namespace_path": "/blob", "target_path": "/sub"}],
                },
                {
                    "name": "ro1",
                    "backend_dir": "backend/ro1",
                    "usage_model": "READ_ONLY",
                    "junctions": [{"namespace_path": "/ro", "nfs_export": "/ro"}],
                },
            ],
        },
        base,
    )


class GatedOps:
    """The real Namespace, but a target flush waits for ``gate`` (to observe InProgress)."""

    def __init__(self, ns: Namespace) -> None:
        self.ns = ns
        self.gate = threading.Event()
        self.gate.set()

    async def flush_target(self, target: str) -> None:
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        await self.ns.flush_target(target)

    async def flush_all(self) -> None:
        await self.ns.flush_all()

    def set_suspended(self, target: str, suspended: bool) -> None:
        self.ns.set_suspended(target, suspended)

    async def invalidate_target(self, target: str) -> None:
        await self.ns.invalidate_target(target)

    def dirty_count(self, target: str | None = None) -> int:
        return self.ns.dirty_count(target)


@dataclass
class ArmWorld:
    """A running fake ARM with the emulator's namespace behind it."""

    arm: FakeArm
    ns: Namespace
    ops: GatedOps
    config: EmulatorConfig
    base: Path

    def write_cache_file(self, namespace_path: str, data: str) -> Path:
        """Put a file in the cache's copy only: it is dirty until written back."""
        path = self.base / "cache" / namespace_path.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data)
        return path

    def backend_file(self, target: str, rest: str) -> Path:
        t = self.config.target(target)
        assert t is not None
        return Path(t.backend_dir) / rest.lstrip("/")

    def settings(self, **kw: Any) -> ArmSettings:
        env = self.env()
        env.pop("HPCCACHE_ARM_TOKEN")
        kw.setdefault("credential", StaticTokenCredential(TOKEN))
        return ArmSettings.resolve(env=env, **kw)

    def env(self) -> dict[str, str]:
        """Environment for CLI runs against this fake (fast polling, one retry)."""
        return {
            **self.arm.client_env(),
            "HPCCACHE_ARM_RETRIES": "1",
            "HPCCACHE_POLL_INTERVAL": "0.05",
        }


def start_world(base: Path, page_size: int = 100, **writeback: Any) -> ArmWorld:
    config = make_config(base, **writeback)
    ns = Namespace(config, config.faults)
    ns.ensure_dirs()
    ops = GatedOps(ns)
    arm = FakeArm(config, ops, token=TOKEN, page_size=page_size)
    body, targets = example_cache()
    arm.add_cache(body, targets)
    arm.start()
    return ArmWorld(arm, ns, ops, config, base)


@contextmanager
def running_world(base: Path, page_size: int = 100, **writeback: Any) -> Iterator[ArmWorld]:
    """:func:`start_world`, stopped on the way out (what each test module's fixture needs)."""
    world = start_world(base, page_size, **writeback)
    try:
        yield world
    finally:
        world.arm.stop()


def cli_app() -> typer.Typer:
    """The Azure command groups on a Typer app of their own (the root app also loads others)."""
    from hpccache_cli.cli import cache_cmd, namespace_cmd, target_cmd

    app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True)

    @app.callback()
    def _root() -> None:
        """hpccache (Azure commands)."""

    for module in (cache_cmd, namespace_cmd, target_cmd):
        module.register(app)
    return app


def run_cli(env: dict[str, str], *args: str) -> Any:
    """Invoke the Azure commands in-process; returns Click's Result (stdout, stderr, code)."""
    from typer.testing import CliRunner

    return CliRunner().invoke(cli_app(), list(args), env=env)


def run_hpccache(env: dict[str, str | None], *args: str, timeout: float = 60) -> Any:
    """``python -m hpccache_cli ARGS`` in a subprocess, as a user runs it (``None`` in ``env``
    unsets a variable); returns the CompletedProcess (text stdout/stderr)."""
    import os
    import subprocess
    import sys

    full = {**os.environ, **env}
    full["PYTHONPATH"] = str(Path(__file__).parent.parent)
    return subprocess.run(
        [sys.executable, "-m", "hpccache_cli", *args],
        env={k: v for k, v in full.items() if v is not None},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_line(proc: Any, code: int) -> str:
    """The single ``hpccache: error:`` line of a failed run with exit ``code`` (asserted)."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == code, out
    assert "Traceback" not in out, out
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpccache: error: "), proc.stderr
    return lines[0]
