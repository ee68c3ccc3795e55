"""Every ARM / sign-in failure ends as one clear line with exit code 3, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

from arm_support import ArmWorld, run_cli

from hpccache_cli.errors import EXIT_AZURE

SHOW = ("cache", "show", "emu", "-g", "emu-rg", "-o", "json")
FLUSH = ("target", "flush", "emu", "-g", "emu-rg", "-t", "nas1", "--yes")


def azure_error(env: dict[str, str | None], *args: str) -> str:
    r = run_cli(env, *args)
    assert r.exit_code == EXIT_AZURE, r.output
    assert r.stdout == "" and "Traceback" not in r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpccache: error: "), r.stderr
    return lines[0]


def test_401_says_what_was_tried_and_what_to_do(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_status(401)
    line = azure_error(env, *SHOW)
    assert "Azure sign-in failed: tried the static emulator token from HPCCACHE_ARM_TOKEN" in line
    assert "rejected the token (HTTP 401 InvalidAuthenticationToken" in line
    assert "next: start `hpccache emulator run`" in line
    line = azure_error({**env, "HPCCACHE_ARM_TOKEN": "stale"}, *SHOW)
    assert "rejected the token" in line


def test_403_names_the_missing_permission_and_scope(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_status(403)
    line = azure_error(env, *SHOW)
    assert "not allowed to Microsoft.StorageCache/caches/read on /subscriptions/" in line
    assert "/resourceGroups/emu-rg/providers/Microsoft.StorageCache/caches/emu" in line
    assert "ask for Reader" in line
    world.arm.faults.next_status(403, method="POST")
    line = azure_error(env, *FLUSH)
    assert "Microsoft.StorageCache/caches/storageTargets/flush/action" in line
    assert "Contributor" in line


def test_one_429_is_retried_after_its_retry_after(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_status(429, retry_after_ms=10, path_contains="/caches/emu")
    r = run_cli(env, *SHOW)
    assert r.exit_code == 0, r.output
    statuses = [q.status for q in world.arm.requests if q.path.endswith("/caches/emu")]
    assert statuses == [429, 200]


def test_persistent_throttling_and_failures_give_up_clearly(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_status(429, count=5, retry_after_ms=10)
    line = azure_error(env, *SHOW)
    assert "Azure is throttling requests" in line and "try again in a few minutes" in line
    world.arm.faults.clear()
    world.arm.faults.next_status(500, count=5)
    line = azure_error(env, *SHOW)
    assert "Azure failed on cache 'emu'" in line and "HTTP 500 InternalServerError" in line
    assert "try again later" in line


def test_failed_lro_reports_the_operation_error(world: ArmWorld, env: dict) -> None:
    world.arm.faults.fail_next_lro("Back end refused the write-back.", code="FlushFailed")
    line = azure_error(env, *FLUSH)
    assert "flush of storage target 'nas1' of cache 'emu'" in line
    assert "failed in Azure: Back end refused the write-back. (FlushFailed)" in line


def test_unknown_names_list_what_exists(env: dict) -> None:
    line = azure_error(env, "target", "flush", "emu", "-g", "emu-rg", "-t", "nas9", "--yes")
    assert "storage target 'nas9' of cache 'emu' in resource group 'emu-rg' not found" in line
    assert "storage targets of emu: blob1, nas1, ro1" in line
    line = azure_error(env, "namespace", "emx", "-g", "emu-rg")
    assert "cache 'emx'" in line and "caches in emu-rg: emu" in line
    line = azure_error(env, "cache", "list", "-g", "nope-rg")
    assert "ResourceGroupNotFound" in line or "not found" in line


def test_unreachable_and_untrusted_endpoints(world: ArmWorld, env: dict) -> None:
    line = azure_error({**env, "HPCCACHE_CA_BUNDLE": None}, *SHOW)
    assert "is not trusted; pass --ca-bundle" in line
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"https://127.0.0.1:{s.getsockname()[1]}"
    line = azure_error({**env, "HPCCACHE_ARM_ENDPOINT": closed}, *SHOW)
    assert "cannot reach Azure Resource Manager at https://127.0.0.1:" in line


def test_default_credential_failure_is_one_line(env: dict, tmp_path: Path) -> None:
    # AZURE_TOKEN_CREDENTIALS limits DefaultAzureCredential to the Azure CLI credential (no
    # managed-identity probe); with no `az` on PATH it fails locally.
    empty = tmp_path / "empty-path"
    empty.mkdir()
    base = {
        **env,
        "HPCCACHE_ARM_TOKEN": None,
        "HPCCACHE_AUTH": None,
        "PATH": str(empty),
        "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
        "HPCCACHE_ARM_ENDPOINT_TRUSTED": "1",  # a real identity, aimed at the fake ARM
    }
    line = azure_error(base, *SHOW, "--auth", "default")
    assert (
        "tried DefaultAzureCredential limited by AZURE_TOKEN_CREDENTIALS=AzureCliCredential" in line
    )
    assert "next: run `az login`" in line
    line = azure_error({**base, "AZURE_TOKEN_CREDENTIALS": "Nonsense"}, *SHOW)
    assert "AZURE_TOKEN_CREDENTIALS" in line and "Valid values" in line


def test_pipeline_and_subscription_problems(env: dict, tmp_path: Path) -> None:
    pipelines = {**env, "HPCCACHE_AUTH": "pipelines", "HPCCACHE_ARM_ENDPOINT_TRUSTED": "1"}
    line = azure_error({**pipelines, "SYSTEM_ACCESSTOKEN": None}, *SHOW)
    assert "AzurePipelinesCredential" in line and "SYSTEM_ACCESSTOKEN" in line
    assert "AzureCLI@2" in line
    no_sub = {**env, "AZURE_SUBSCRIPTION_ID": None, "AZURE_CONFIG_DIR": str(tmp_path)}
    line = azure_error(no_sub, *SHOW)
    assert "no subscription chosen: pass --subscription" in line
