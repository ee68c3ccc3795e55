"""``hpccache path --cache/--discover`` against the fake ARM (real SDK, HTTPS on 127.0.0.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from arm_support import ArmWorld, running_world
from typer.testing import CliRunner

from hpccache_cli.cli import path_cmd

MOUNTS = b"""1 0 8:1 / / rw - ext4 /dev/sda1 rw
40 1 0:40 / /mnt/emu rw - nfs 127.0.0.11:/ rw,vers=3,addr=127.0.0.11
41 1 0:41 / /mnt/emu-proj rw - nfs 127.0.0.12:/proj rw,vers=3,addr=127.0.0.12
50 1 0:50 / /mnt/sc1 rw - nfs4 127.0.0.21:/ rw,vers=4.1,addr=127.0.0.21
60 1 0:60 / /mnt/other rw - nfs 127.0.0.99:/x rw,vers=3,addr=127.0.0.99
"""


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmWorld]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with running_world(tmp_path / "emu") as w:
        yield w


def run(world: ArmWorld, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """hpccache"""

    path_cmd.register(app)
    table = tmp_path / "mountinfo"
    table.write_bytes(MOUNTS)
    env = {**world.env(), "HPCCACHE_MOUNTINFO": str(table)}
    result = CliRunner().invoke(app, ["path", "--lexical", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cache_option_enriches_from_azure(world: ArmWorld, tmp_path: Path) -> None:
    code, out, err = run(
        world, tmp_path, "/mnt/emu/proj/a.txt", "/mnt/emu-proj/b/c", "/mnt/emu/blob/x",
        "--cache", "emu", "-g", "emu-rg",
    )  # fmt: skip
    assert code == 0, err
    records = json.loads(out)
    assert [(r["cache"], r["junction"], r["storage_target"]) for r in records] == [
        ("emu", "/proj", "nas1"),
        ("emu", "/proj", "nas1"),
        ("emu", "/blob", "blob1"),
    ]
    assert [r["backend_path"] for r in records] == ["/export1/a.txt", "/export1/b/c", "/sub/x"]
    assert records[0]["usage_model"] == "WRITE_WORKLOAD_15"


def test_discover_finds_the_cache_of_each_mount_address(world: ArmWorld, tmp_path: Path) -> None:
    code, out, _ = run(
        world, tmp_path, "/mnt/emu/proj/a", "/mnt/emu/ro/b", "/mnt/sc1/path/on/cache/f",
        "/mnt/other/y", "--discover",
    )  # fmt: skip
    records = json.loads(out)
    assert code == 1
    assert [r["cache"] for r in records] == ["emu", "emu", "sc1", None]
    assert records[1]["storage_target"] == "ro1" and records[1]["usage_model"] == "READ_ONLY"
    assert records[2]["backend_path"] == "/exp1/path/on/exp1/f"  # export + target path + rest
    assert records[3]["error"] == "no cache in the subscription has mount address 127.0.0.99"
    assert records[3]["namespace_path"] == "/x/y"  # the local part is still there


def test_no_azure_option_means_no_arm_request(world: ArmWorld, tmp_path: Path) -> None:
    code, out, _ = run(world, tmp_path, "/mnt/emu/proj/a")
    assert code == 0
    assert json.loads(out)[0]["storage_target"] is None
    assert world.arm.request_count() == 0


def test_unknown_cache_is_one_line_azure_error(world: ArmWorld, tmp_path: Path) -> None:
    code, out, err = run(world, tmp_path, "/mnt/emu/a", "--cache", "nope", "-g", "emu-rg")
    assert code == 3 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("hpccache: error: ")
    assert "nope" in err and "Traceback" not in err


def test_resolution_cache_enriches_without_options_or_arm(world: ArmWorld, tmp_path: Path) -> None:
    """After one `--cache` run, a plain `hpccache path` uses the cached layout: no ARM call."""
    code, _, err = run(world, tmp_path, "/mnt/emu/proj/a.txt", "--cache", "emu", "-g", "emu-rg")
    assert code == 0, err
    before = world.arm.request_count()
    code, out, err = run(world, tmp_path, "/mnt/emu/proj/a.txt", "/mnt/other/y")
    assert world.arm.request_count() == before
    records = json.loads(out)
    assert code == 0, err
    assert (records[0]["cache"], records[0]["storage_target"]) == ("emu", "nas1")
    assert records[0]["backend_path"] == "/export1/a.txt"
    # No cached cache serves 127.0.0.99: the local part only, and that is not an error.
    assert records[1]["storage_target"] is None and records[1]["error"] is None
