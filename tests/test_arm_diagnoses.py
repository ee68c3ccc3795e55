"""Diagnoses that point the right way (issue 13 §4), as the user sees them (subprocesses).

Each failure is named for what it is: an unreadable 200, a certificate for another address, a
CA file that is not PEM, the whole-cache flush permission, a missing Azure CLI, a missing
resource group (ARM's own words), and a bad ``--query`` caught before any request.
"""

from __future__ import annotations

from pathlib import Path

from arm_support import TOKEN, ArmWorld, error_line, run_hpccache

from hpccache_cli.emulator.arm import FakeArm
from hpccache_cli.errors import EXIT_AZURE, EXIT_USAGE

SHOW = ("cache", "show", "emu", "-g", "emu-rg", "-o", "json")


def test_a_200_that_is_not_json_could_not_be_read(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_body(b"<html>captive portal</html>", path_contains="/caches/emu")
    line = error_line(run_hpccache(env, *SHOW), EXIT_AZURE)
    assert "Azure Resource Manager sent a response that could not be read" in line
    assert "refused" not in line


def test_a_certificate_for_another_address_is_a_mismatch(env: dict, tmp_path: Path) -> None:
    other = FakeArm(None, token=TOKEN, host="127.0.0.2", state_dir=tmp_path / "other")
    with other:  # its certificate names 127.0.0.1, ::1 and localhost, not 127.0.0.2
        mismatch = {**env, "HPCCACHE_ARM_ENDPOINT": other.url,
                    "HPCCACHE_CA_BUNDLE": str(other.ca_file)}
        line = error_line(run_hpccache(mismatch, *SHOW), EXIT_AZURE)
    assert "is not issued for that address (IP address mismatch" in line
    assert "a different CA file will not help" in line
    assert "check the network" not in line and "pass --ca-bundle" not in line


def test_a_ca_file_that_is_not_pem_is_named(world: ArmWorld, env: dict, tmp_path: Path) -> None:
    der = tmp_path / "ca.der"
    der.write_bytes(b"0\x82\x01\x0a not a PEM file")
    line = error_line(run_hpccache({**env, "HPCCACHE_CA_BUNDLE": str(der)}, *SHOW), EXIT_USAGE)
    assert f"CA bundle {der} is not a PEM certificate bundle" in line
    assert "check the network" not in line
    assert world.arm.request_count() == 0


def test_403_on_a_whole_cache_flush_names_its_action(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_status(403, method="POST")
    line = error_line(
        run_hpccache(env, "cache", "flush", "emu", "-g", "emu-rg", "--yes"), EXIT_AZURE
    )
    assert "not allowed to Microsoft.StorageCache/caches/flush/action" in line
    assert "custom role with Microsoft.StorageCache/caches/flush/action" in line
    assert "storageTargets" not in line


def test_auth_cli_without_the_azure_cli(env: dict, tmp_path: Path) -> None:
    empty = tmp_path / "no-az"
    empty.mkdir()
    cli = {**env, "PATH": str(empty), "HPCCACHE_ARM_TOKEN": None, "HPCCACHE_AUTH": None,
           "HPCCACHE_ARM_ENDPOINT_TRUSTED": "1"}
    line = error_line(run_hpccache(cli, *SHOW, "--auth", "cli"), EXIT_AZURE)
    assert "`az` is not installed" in line and "use --auth default" in line
    assert "az login" not in line


def test_a_missing_resource_group_keeps_arms_message(world: ArmWorld, env: dict) -> None:
    line = error_line(run_hpccache(env, "cache", "list", "-g", "nope-rg"), EXIT_AZURE)
    assert line.startswith("hpccache: error: Resource group 'nope-rg' could not be found")
    assert "HTTP 404 ResourceGroupNotFound" in line and "check -g/--resource-group" in line
    assert "caches of resource group" not in line


def test_a_bad_query_fails_before_any_request(world: ArmWorld, env: dict) -> None:
    line = error_line(run_hpccache(env, *SHOW, "--query", "properties.[["), EXIT_USAGE)
    assert "--query 'properties.[[' is not valid JMESPath (Invalid jmespath expression" in line
    assert world.arm.request_count() == 0
