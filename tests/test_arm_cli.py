"""``hpccache cache|namespace|target`` end to end: CLI -> real SDK -> HTTPS -> fake ARM."""

from __future__ import annotations

import json
import subprocess
import sys

from arm_support import SUB, ArmWorld, run_cli


def test_cache_list_formats(world: ArmWorld, env: dict[str, str]) -> None:
    r = run_cli(env, "cache", "list", "-o", "table")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    # az's automatic table: scalar fields, keys sorted and capitalised (tests/fixtures/az/)
    assert lines[0].split() == [
        "CacheSizeGb", "Location", "Name", "ProvisioningState", "ResourceGroup", "Subnet"]
    assert sorted(line.split()[2] for line in lines[2:]) == ["emu", "sc1"]

    r = run_cli(env, "cache", "list", "-g", "emu-rg")  # piped: JSON by default
    data = json.loads(r.stdout)
    assert [c["name"] for c in data] == ["emu"]
    assert data[0]["resourceGroup"] == "emu-rg"
    assert data[0]["mountAddresses"] == ["127.0.0.11", "127.0.0.12"]  # az's flattened shape

    r = run_cli(env, "cache", "list", "-o", "tsv", "--query", "[].[name, cacheSizeGb]")
    assert sorted(r.stdout.splitlines()) == ["emu\t3072", "sc1\t3072"]


def test_cache_show(env: dict[str, str]) -> None:
    r = run_cli(env, "cache", "show", "emu", "-g", "emu-rg", "-o", "table")
    assert r.exit_code == 0, r.output
    head, rule, row = r.stdout.splitlines()  # one row, as az lays a table out (not vertical)
    assert set(rule) == {"-", " "}
    fields = dict(zip(head.split(), row.split(), strict=True))
    assert fields["Name"] == "emu" and fields["ProvisioningState"] == "Succeeded"
    assert fields["CacheSizeGb"] == "3072" and fields["ResourceGroup"] == "emu-rg"

    rid = f"/subscriptions/{SUB}/resourceGroups/scgroup/providers/Microsoft.StorageCache/caches/sc1"
    r = run_cli(env, "cache", "show", rid, "-o", "json")
    data = json.loads(r.stdout)
    assert data["health"]["state"] == "Transitioning"
    assert [t["name"] for t in data["storageTargets"]] == ["st1", "st2", "st3", "st4"]


def test_namespace_rows(env: dict[str, str]) -> None:
    r = run_cli(env, "namespace", "emu", "-g", "emu-rg", "-o", "table")
    assert r.exit_code == 0, r.output
    rows = [line.split() for line in r.stdout.splitlines()[2:]]
    assert rows == [
        ["/blob", "blob1", "clfs", "-", "/sub", "-", "yes", "1h"],
        ["/proj", "nas1", "nfs3", "/export1", "/", "WRITE_WORKLOAD_15", "yes", "1h"],
        ["/ro", "ro1", "nfs3", "/ro", "/", "READ_ONLY", "no", "-"],
    ]
    r = run_cli(env, "namespace", "sc1", "-g", "scgroup")
    data = {row["namespacePath"]: row for row in json.loads(r.stdout)}
    assert data["/blobnfs"]["writeBackDelaySeconds"] == 1800  # the target's own timer
    assert data["/blobnfs"]["targetType"] == "blobNfs"
    assert data["/path/on/cache"]["cachesWrites"] is False
    assert data["/some/arbitrary/place/on/cache"]["nfsExport"] is None


def test_target_list_and_show(env: dict[str, str]) -> None:
    query = "[].[name, targetType, state, nfs3.usageModel, nfs3.target, junctions[0].namespacePath]"
    r = run_cli(env, "target", "list", "emu", "-g", "emu-rg", "-o", "tsv", "--query", query)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0].split("\t") == [
        "nas1",
        "nfs3",
        "Ready",
        "WRITE_WORKLOAD_15",
        "127.0.0.1",
        "/proj",
    ]
    r = run_cli(env, "target", "show", "emu", "-g", "emu-rg", "--target", "blob1", "-o", "json")
    assert json.loads(r.stdout)["clfs"]["target"] == "https://127.0.0.1/container"
    r = run_cli(
        env,
        "target",
        "show",
        "emu",
        "-g",
        "emu-rg",
        "-t",
        "ro1",
        "--query",
        "nfs3.usageModel",
        "-o",
        "tsv",
    )
    assert r.stdout.strip() == "READ_ONLY"


def test_target_flush_needs_yes_when_not_interactive(world: ArmWorld, env: dict[str, str]) -> None:
    world.write_cache_file("/proj/f.txt", "x")
    r = run_cli(env, "target", "flush", "emu", "-g", "emu-rg", "--target", "nas1")
    assert r.exit_code == 2
    assert "pass --yes" in r.stderr and "errors for files under its namespace" in r.stderr
    assert world.arm.request_count("POST") == 0 and world.ns.dirty_count("nas1") == 1

    r = run_cli(env, "target", "flush", "emu", "-g", "emu-rg", "--target", "nas1", "--yes")
    assert r.exit_code == 0, r.output
    assert "flushed storage target 'nas1' of cache 'emu'" in r.stdout
    assert world.ns.dirty_count("nas1") == 0


def test_target_flush_no_wait(world: ArmWorld, env: dict[str, str], wait_until) -> None:
    world.write_cache_file("/proj/g.txt", "y")
    world.ops.gate.clear()
    r = run_cli(env, "target", "flush", "emu", "-g", "emu-rg", "-t", "nas1", "--yes", "--no-wait")
    assert r.exit_code == 0, r.output
    assert "started flush of storage target 'nas1'" in r.stdout
    assert world.ns.dirty_count("nas1") == 1  # still running in "Azure"
    world.ops.gate.set()
    wait_until(lambda: world.ns.dirty_count("nas1") == 0, timeout=60)


def test_suspend_resume_invalidate_and_cache_flush(world: ArmWorld, env: dict[str, str]) -> None:
    r = run_cli(env, "target", "suspend", "emu", "-g", "emu-rg", "-t", "nas1")
    assert r.exit_code == 2  # disruptive: needs --yes
    r = run_cli(env, "target", "suspend", "emu", "-g", "emu-rg", "-t", "nas1", "-y")
    assert r.exit_code == 0 and "nas1" in world.ns.suspended
    r = run_cli(env, "target", "resume", "emu", "-g", "emu-rg", "-t", "nas1")  # harmless
    assert r.exit_code == 0 and "nas1" not in world.ns.suspended
    clean = world.write_cache_file("/proj/c.txt", "same")
    world.backend_file("nas1", "c.txt").write_text("same")
    r = run_cli(env, "target", "invalidate", "emu", "-g", "emu-rg", "-t", "nas1", "--yes")
    assert r.exit_code == 0 and not clean.exists()
    world.write_cache_file("/blob/z.txt", "z")
    r = run_cli(env, "cache", "flush", "emu", "-g", "emu-rg")
    assert r.exit_code == 2 and "whole cache" in r.stderr
    r = run_cli(env, "cache", "flush", "emu", "-g", "emu-rg", "--yes")
    assert r.exit_code == 0 and "flushed cache 'emu'" in r.stdout
    assert world.ns.dirty_count() == 0


def test_usage_errors_are_one_line(env: dict[str, str]) -> None:
    r = run_cli(env, "cache", "show", "emu")
    assert r.exit_code == 2 and "-g/--resource-group" in r.stderr
    r = run_cli(env, "cache", "show", "/subscriptions/x/resourceGroups")
    assert r.exit_code == 2 and "not an HPC Cache resource id" in r.stderr
    r = run_cli(env, "cache", "list", "--query", "[[")
    assert r.exit_code == 2 and "not valid JMESPath" in r.stderr
    r = run_cli({**env, "HPCCACHE_ARM_ENDPOINT": "http://127.0.0.1:1"}, "cache", "list")
    assert r.exit_code == 2 and "must start with https://" in r.stderr
    assert "Traceback" not in r.output


def test_azure_commands_do_not_import_the_sdk_until_run() -> None:
    code = (
        "import sys, hpccache_cli.cli.cache_cmd, hpccache_cli.cli.target_cmd, "
        "hpccache_cli.cli.namespace_cmd, hpccache_cli.control.resolve, "
        "hpccache_cli.control.operations, hpccache_cli.emulator.arm; "
        "print(sorted(m for m in sys.modules if m.startswith(('azure', 'cryptography'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
