"""``hpccache`` as a user runs it (a subprocess, real SDK, fake ARM) printing what ``az`` prints
for the same resources (tests/fixtures/az/, recorded from azure-cli 2.91), and ``-o``/
``--query`` on the operations too (#18)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from arm_support import SUB, ArmWorld, run_hpccache
from az_fixtures import text

SC1 = f"/subscriptions/{SUB}/resourceGroups/scgroup/providers/Microsoft.StorageCache/caches/sc1"
EMU = f"/subscriptions/{SUB}/resourceGroups/emu-rg/providers/Microsoft.StorageCache/caches/emu"


@pytest.fixture
def cli_env(world: ArmWorld, tmp_path: Path) -> dict[str, str | None]:
    """The fake ARM's environment, no Azure CLI settings, nothing of the caller's AZURE_*."""
    (tmp_path / "azcfg").mkdir()
    return {
        **world.env(),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "AZURE_CONFIG_DIR": str(tmp_path / "azcfg"),
        "AZURE_CORE_OUTPUT": None,
        "AZURE_DEFAULTS_GROUP": None,
        "TF_BUILD": None,
    }


def ok(env: dict[str, str | None], *args: str) -> str:
    proc = run_hpccache(env, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == "", proc.stderr
    return str(proc.stdout)


@pytest.mark.parametrize("fmt", ["tsv", "table"])
def test_cache_show_columns_are_az_s(cli_env: dict[str, str | None], fmt: str) -> None:
    """Before #18: nulls dropped and a storageTargets count added (tsv), a vertical table."""
    assert ok(cli_env, "cache", "show", "--ids", SC1, "-o", fmt) == text(f"sdk-cache-sc1.{fmt}")


def test_cache_show_json_is_az_s_plus_storage_targets(cli_env: dict[str, str | None]) -> None:
    """Before #18: REST casing (ldapBaseDN), nulls dropped, raw times, unsorted keys."""
    out = ok(cli_env, "cache", "show", "--ids", SC1, "-o", "json")
    data = json.loads(out)
    assert [t["name"] for t in data.pop("storageTargets")] == ["st1", "st2", "st3", "st4"]
    assert data == json.loads(text("sdk-cache-sc1.json"))
    assert list(json.loads(out)) == sorted(json.loads(out))
    line = ok(cli_env, "cache", "show", "-n", "sc1", "-g", "scgroup", "-o", "tsv",
              "--query", "directoryServicesSettings.usernameDownload.ldapBaseDn")
    assert line == "dc=contosoad,dc=contoso,dc=local\n"


@pytest.mark.parametrize("fmt", ["json", "yaml", "tsv", "table"])
def test_targets_and_lists_print_as_az(cli_env: dict[str, str | None], fmt: str) -> None:
    assert ok(cli_env, "target", "show", "--ids", f"{SC1}/storageTargets/st1", "-o", fmt) == text(
        f"sdk-target-sc1-st1.{fmt}")
    assert ok(cli_env, "target", "list", "--cache-name", "sc1", "-g", "scgroup", "-o", fmt) == (
        text(f"sdk-targets-sc1.{fmt}"))


def test_operations_take_output_and_query(cli_env: dict[str, str | None]) -> None:
    """Before #18: cache flush and target flush/suspend/resume/invalidate refused -o/--query."""
    assert ok(cli_env, "cache", "flush", "--ids", EMU, "--yes", "-o", "none") == ""
    out = ok(cli_env, "target", "flush", "--cache-name", "emu", "-g", "emu-rg", "-n", "nas1",
             "--yes", "-o", "json")
    data = json.loads(out)
    assert data["status"] == "Succeeded" and data["storageTarget"] == "nas1"
    assert data["action"] == "flush" and data["resourceGroup"] == "emu-rg"
    assert ok(cli_env, "target", "resume", "--cache-name", "emu", "-g", "emu-rg", "-n", "nas1",
              "--query", "status", "-o", "tsv") == "Succeeded\n"
    # without -o/--query: the sentence, as before
    assert ok(cli_env, "target", "resume", "--cache-name", "emu", "-g", "emu-rg", "-n", "nas1"
              ).startswith("resumed storage target 'nas1' of cache 'emu' in ")
