"""Tokens go only where they belong (issue 13 §7).

A real Azure identity's token goes only to the chosen cloud's Resource Manager; another
endpoint needs HPCCACHE_ARM_ENDPOINT_TRUSTED=1 (Azure Stack Hub), the emulator's own token needs
nothing. Operation status URLs and paging links on another host are refused before any token
is attached. The "real identity" here is ``--auth cli`` with a stand-in ``az`` on PATH that
hands out the fake ARM's token, so AzureCliCredential really runs, and nothing leaves loopback.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from arm_support import TOKEN, ArmWorld, error_line, run_cli, run_hpccache, running_world

from hpccache_cli.control.client import check_token_destination, lookup_cloud
from hpccache_cli.errors import EXIT_AZURE, EXIT_USAGE, UsageError

SHOW = ("cache", "show", "emu", "-g", "emu-rg", "-o", "json")

AZ = f"""#!{sys.executable}
import json, pathlib, sys, time
pathlib.Path(__file__).with_name("az-was-run").write_text(" ".join(sys.argv[1:]))
print(json.dumps({{"accessToken": "{TOKEN}", "expires_on": int(time.time()) + 3600,
                  "tokenType": "Bearer"}}))
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ArmWorld]:
    with running_world(tmp_path / "emu", page_size=1) as w:
        yield w


@pytest.fixture
def az_env(env: dict, tmp_path: Path) -> dict[str, str | None]:
    """``--auth cli`` with a stand-in ``az`` (and no emulator token in sight)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(AZ)
    (bin_dir / "az").chmod(0o755)
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "HPCCACHE_ARM_TOKEN": None, "HPCCACHE_AUTH": "cli"}


@pytest.fixture
def elsewhere() -> Iterator[socket.socket]:
    """A listener on another loopback host: it must never see a connection."""
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        s.listen(8)
        s.setblocking(False)
        yield s
        with pytest.raises(BlockingIOError):
            s.accept()


def test_a_real_token_needs_an_opt_in_for_another_endpoint(
    world: ArmWorld, az_env: dict, tmp_path: Path
) -> None:
    line = error_line(run_hpccache(az_env, *SHOW), EXIT_USAGE)
    assert f"ARM endpoint {world.arm.url} is not AzureCloud's Resource Manager" in line
    assert "--auth cli would send it a real Azure token" in line
    assert "set HPCCACHE_ARM_ENDPOINT_TRUSTED=1" in line
    assert world.arm.request_count() == 0
    assert not (tmp_path / "bin" / "az-was-run").exists()  # no token was even asked for

    trusted = run_hpccache({**az_env, "HPCCACHE_ARM_ENDPOINT_TRUSTED": "1"}, *SHOW)
    assert trusted.returncode == 0, trusted.stderr
    assert "get-access-token" in (tmp_path / "bin" / "az-was-run").read_text()


def test_the_emulator_token_needs_no_opt_in(env: dict) -> None:
    assert "HPCCACHE_ARM_ENDPOINT_TRUSTED" not in env
    assert run_hpccache(env, *SHOW).returncode == 0


def test_the_clouds_own_endpoint_needs_nothing() -> None:
    cloud = lookup_cloud("AzureCloud")
    check_token_destination("https://management.azure.com:443/", cloud, "default", {})
    check_token_destination("https://MANAGEMENT.azure.com", cloud, "pipelines", {})
    with pytest.raises(UsageError, match="HPCCACHE_ARM_ENDPOINT_TRUSTED"):
        check_token_destination("https://management.usgovcloudapi.net", cloud, "default", {})


def test_a_status_url_on_another_host_is_refused(
    world: ArmWorld, env: dict, elsewhere: socket.socket
) -> None:
    host = f"127.0.0.2:{elsewhere.getsockname()[1]}"
    world.arm.faults.next_lro_urls(host=host)
    flush = ("target", "flush", "emu", "-g", "emu-rg", "-t", "nas1", "--yes")
    line = error_line(run_hpccache(env, *flush), EXIT_AZURE)
    assert "was accepted by Azure and may still be running" in line
    assert f"URL on another host (https://{host}) than the Resource Manager endpoint" in line
    assert line.endswith("check with: hpccache target show --cache emu -g emu-rg -n nas1")


def test_a_paging_link_on_another_host_gets_no_token(
    world: ArmWorld, env: dict, elsewhere: socket.socket
) -> None:
    host = f"127.0.0.2:{elsewhere.getsockname()[1]}"
    world.arm.faults.next_link_host(host)
    r = run_cli(env, "target", "list", "emu", "-g", "emu-rg")
    assert r.exit_code == EXIT_AZURE, r.output
    assert r.stderr.strip() == (
        f"hpccache: error: refused to send the bearer token to https://{host}: it is not the "
        f"Resource Manager endpoint {world.arm.url} (tokens go only there)"
    )
