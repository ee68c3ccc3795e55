"""``hpccache emulator run`` as a real process, and ``hpccache emulator init``.

Readiness is read from the process's own output (the ready line), never guessed with a
sleep; the printed environment lines are what a client uses to reach it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import typer
from emulator_support import JUNCTION, RawRpc, free_port, put
from typer.testing import CliRunner

from hpccache_cli.cli import emulator_cmd
from hpccache_cli.emulator.config import load_config
from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs.nfs3 import FLUSH_SYNC
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

A1, A2 = "127.0.0.26", "127.0.0.27"
REPO = Path(__file__).resolve().parents[1]


def app() -> typer.Typer:
    """The emulator commands on an app of their own (the root app loads every group)."""
    a = typer.Typer(pretty_exceptions_enable=False)

    @a.callback()
    def _root() -> None:
        """hpccache (emulator commands)."""

    emulator_cmd.register(a)
    return a


def write_config(base: Path, portmap: int = 0, nfs: int = 0) -> Path:
    put(base / "backend/nas1/a.txt", "old\n")
    put(base / "cache/NAS_12_exp5/a.txt", "new\n")
    return put(base / "emu.toml", f"""
[cache]
name = "cli-cache"
resource_group = "cli-rg"
mount_addresses = ["{A1}", "{A2}"]
[ports]
portmap = {portmap}
mount = 0
nfs = {nfs}
[[storage_targets]]
name = "nas1"
backend_dir = "backend/nas1"
[[storage_targets.junctions]]
namespace_path = "{JUNCTION}"
""")


def read_until_ready(proc: subprocess.Popen[str], timeout: float = 30.0) -> list[str]:
    """Lines printed up to the ready line (a reader thread gives the wait a deadline)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no ready line within {timeout} s; got {seen}") from None
        if line is None:
            raise AssertionError(f"emulator exited early ({proc.wait()}): {seen}")
        seen.append(line)
        if line == emulator_cmd.READY_LINE:
            return seen


def sourced(tmp_path: Path, lines: list[str]) -> dict[str, str]:
    """The environment after bash sources ``lines`` (``set -eu``: any line that is not valid
    shell, or names an unset variable, fails it), as a user's ``. FILE`` would."""
    script = tmp_path / "sourced.sh"
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["bash", "-c", 'set -eu; . "$1"; env -0', "bash", str(script)],
                         capture_output=True, env={"PATH": os.environ.get("PATH", "/usr/bin")},
                         timeout=30, check=False)
    assert out.returncode == 0 and out.stderr == b"", out.stderr
    pairs = (item.decode().split("=", 1) for item in out.stdout.split(b"\0") if item)
    return {k: v for k, v in pairs if k.startswith(("HPCCACHE_", "AZURE_"))}


def test_run_serves_until_sigint(tmp_path: Path) -> None:
    pm = free_port(A1)
    config = write_config(tmp_path, portmap=pm)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "hpccache_cli", "emulator", "run",
                             "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = read_until_ready(proc)
        # The output is a shell script: sourced as it is, it sets the client environment.
        values = {k: v for k, v in sourced(tmp_path, lines).items() if k.startswith("HPCCACHE_")}
        assert set(values) == {"HPCCACHE_PORTMAP_PORT", "HPCCACHE_MOUNT_PORT",
                               "HPCCACHE_NFS_PORT", "HPCCACHE_ARM_ENDPOINT",
                               "HPCCACHE_CA_BUNDLE", "HPCCACHE_ARM_TOKEN", "HPCCACHE_AUTH"}
        assert values["HPCCACHE_ARM_ENDPOINT"].startswith("https://127.0.0.1:")
        # The fake ARM it started answers the real SDK with the same cache.
        arm_env = {**env, **{k: v for k, v in values.items() if "ARM" in k or k in (
            "HPCCACHE_CA_BUNDLE", "HPCCACHE_AUTH")},
            "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000",
            "XDG_CACHE_HOME": str(tmp_path / "xdg")}
        shown = subprocess.run(
            [sys.executable, "-m", "hpccache_cli", "namespace", "cli-cache", "-g",
             "cli-rg", "-o", "json"], capture_output=True, text=True, env=arm_env, timeout=60)
        assert shown.returncode == 0, shown.stderr
        assert JUNCTION in shown.stdout
        assert int(values["HPCCACHE_PORTMAP_PORT"]) == pm
        text = "\n".join(lines)
        assert "cli-cache" in text and f"{JUNCTION} -> storage target nas1" in text
        assert f"--ip {A1} --export {JUNCTION}" in text
        assert all(line.startswith(("# ", "export ")) for line in lines), lines
        with RawRpc(A2, int(values["HPCCACHE_MOUNT_PORT"])) as m, \
                RawRpc(A2, int(values["HPCCACHE_NFS_PORT"])) as nfs:
            fh = nfs.lookup_path(m.mnt(JUNCTION), "a.txt")
            assert nfs.flush(fh, FLUSH_SYNC) == S.NFS3_OK
        assert (tmp_path / "backend/nas1/a.txt").read_text() == "new\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert proc.stderr is not None and proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_stops_on_sigterm(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "hpccache_cli", "emulator", "run",
                             "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        read_until_ready(proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("problem", ["missing", "bad-toml", "not-loopback"])
def test_run_reports_bad_config_in_one_line(tmp_path: Path, problem: str) -> None:
    config = tmp_path / "emu.toml"
    if problem == "bad-toml":
        config.write_text("[cache\n")
    elif problem == "not-loopback":
        config.write_text('[cache]\nmount_addresses = ["10.0.0.1"]\n')
    result = CliRunner().invoke(app(), ["emulator", "run", "--config", str(config)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines() if result.stderr else []
    assert len(lines) == 1 and lines[0].startswith("hpccache: error: "), result.output
    assert {"missing": "cannot read", "bad-toml": "not valid TOML",
            "not-loopback": "not a loopback"}[problem] in lines[0]


def test_run_reports_a_taken_port_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((A2, 0))
        taken.listen()
        config = write_config(tmp_path, nfs=taken.getsockname()[1])
        result = CliRunner().invoke(app(), ["emulator", "run", "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "cannot listen on" in result.stderr


def test_init_writes_a_runnable_sample(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = CliRunner().invoke(app(), ["emulator", "init", str(target)])
    assert result.exit_code == 0, result.output
    config = load_config(target / "emulator.toml")
    assert {j.namespace_path for j, _ in config.junctions()} == {
        "/NAS_12_exp5", "/blob/projects", "/archive"}
    again = CliRunner().invoke(app(), ["emulator", "init", str(target)])
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert CliRunner().invoke(app(), ["emulator", "init", str(target), "--force"]).exit_code == 0
    # Serve it on this module's addresses and free ports (the sample's fixed ones may be taken).
    config.cache.mount_addresses = [A1]
    config.ports.portmap = config.ports.mount = config.ports.nfs = 0
    with EmulatorThread(config) as emu:
        assert emu.namespace.dirty_count("nas1") == 2
        assert emu.namespace.dirty_count("blob1") == 1
        assert emu.namespace.dirty_count("archive") == 0
        with RawRpc(A1, emu.ports.mount) as m:
            assert m.mnt("/") and m.mnt("/blob/projects")


def test_env_file_and_mountinfo_let_a_user_try_client_paths(tmp_path: Path) -> None:
    """``--env-file`` and ``--mountinfo``, used as the README shows: source the env file in a
    shell, flush a client path through the written mount table; the env file goes when the
    emulator stops (its ports die with it), the mount table stays."""
    config = write_config(tmp_path)
    env_file, table = tmp_path / "emu.env", tmp_path / "emu.mountinfo"
    env_file.write_text("export HPCCACHE_NFS_PORT=1\n")  # a killed run's leftover
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HPCCACHE_", "AZURE_"))}
    clean.update(PYTHONPATH=str(REPO), HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    proc = subprocess.Popen([sys.executable, "-m", "hpccache_cli", "emulator", "run",
                             "--config", str(config), "--env-file", str(env_file),
                             "--mountinfo", str(table)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=clean)
    try:
        lines = read_until_ready(proc)
        from_file = sourced(tmp_path, env_file.read_text().splitlines())
        assert from_file == sourced(tmp_path, lines)  # the same environment, either way
        assert from_file["HPCCACHE_NFS_PORT"] != "1"
        client = f"/mnt/cli-cache{JUNCTION}/a.txt"
        assert f"hpccache flush --mountinfo {table} /mnt/cli-cache{JUNCTION}/" in "\n".join(lines)
        user = ('set -eu; . "$1"; "$2" -m hpccache_cli flush --mountinfo "$3" -o json "$4"')
        flushed = subprocess.run(["bash", "-c", user, "bash", str(env_file), sys.executable,
                                  str(table), client], capture_output=True, text=True,
                                 env=clean, timeout=120, check=False)
        assert flushed.returncode == 0, flushed.stderr
        assert json.loads(flushed.stdout)["flushed"] == 1
        assert (tmp_path / "backend/nas1/a.txt").read_text() == "new\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert not env_file.exists() and table.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
