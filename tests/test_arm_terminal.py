"""On a terminal: disruptive commands ask first and waiting shows progress; the emulator hook."""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from arm_support import TOKEN, make_config, start_world

from hpccache_cli.control.client import ArmSettings
from hpccache_cli.control.credentials import StaticTokenCredential
from hpccache_cli.control.operations import run_target_operation
from hpccache_cli.emulator.arm import start_fake_arm
from hpccache_cli.emulator.namespace import Namespace

TESTS = Path(__file__).parent
RUNNER = (
    "import sys; from arm_support import cli_app; cli_app()(sys.argv[1:], prog_name='hpccache')"
)


def run_on_pty(args: list[str], env: dict[str, str], answer: bytes, timeout: float = 30) -> str:
    """Run the Azure commands with a pseudo-terminal as stdin/stdout/stderr; answer prompts."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "PYTHONPATH": os.pathsep.join([str(TESTS), str(TESTS.parent)])},
        close_fds=True,
    )
    os.close(slave)
    out = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            if not answered and b"[y/N]" in out:
                os.write(master, answer)
                answered = True
            if proc.poll() is not None and not ready:
                break
        assert proc.wait(timeout=max(0.1, deadline - time.monotonic())) is not None
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return out.decode(errors="replace")


def test_confirm_then_progress_on_a_terminal(tmp_path: Path) -> None:
    world = start_world(tmp_path / "emu", per_file_seconds=0.4)
    try:
        env = {**os.environ, **world.env(), "XDG_CACHE_HOME": str(tmp_path / "x"), "TERM": "xterm"}
        world.write_cache_file("/proj/t.txt", "terminal")
        args = ["target", "flush", "emu", "-g", "emu-rg", "-t", "nas1"]
        out = run_on_pty(args, env, b"n\n")
        assert "errors for files under its namespace paths" in out and "[y/N]" in out
        assert "cancelled; nothing was done" in out
        assert world.arm.request_count("POST") == 0

        out = run_on_pty(args, env, b"y\n")
        assert "Flushing storage target nas1 of emu" in out  # the progress line
        assert "flushed storage target 'nas1' of cache 'emu'" in out
        assert world.ns.dirty_count("nas1") == 0
    finally:
        world.arm.stop()


def test_emulator_hook_runs_ops_on_the_callers_loop(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    ns = Namespace(config, config.faults)
    ns.ensure_dirs()
    (tmp_path / "cache" / "proj").mkdir(parents=True)
    (tmp_path / "cache" / "proj" / "h.txt").write_text("hook")

    async def main() -> list[str]:
        running = await start_fake_arm(config, ns, token=TOKEN)
        assert running is not None
        try:
            settings = ArmSettings.resolve(
                endpoint=running.arm.url,
                ca_bundle=str(running.arm.ca_file),
                credential=StaticTokenCredential(TOKEN),
                env={"AZURE_SUBSCRIPTION_ID": config.cache.subscription_id},
            )
            # The SDK blocks: run it in a thread so this loop stays free to run the flush.
            await asyncio.to_thread(
                run_target_operation, settings, "emu-rg", "emu", "nas1", "flush"
            )
            return running.lines()
        finally:
            await running.stop()

    lines = asyncio.run(main())
    assert ns.dirty_count() == 0
    assert (tmp_path / "backend" / "nas1" / "h.txt").read_text() == "hook"
    assert any(line.startswith("HPCCACHE_ARM_ENDPOINT=https://127.0.0.1:") for line in lines)
    assert f"HPCCACHE_ARM_TOKEN={TOKEN}" in lines

    config.ports.arm = -1
    assert asyncio.run(start_fake_arm(config, ns)) is None
