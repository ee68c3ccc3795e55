"""What an ``az hpc-cache`` user types and reads, end to end through the real SDK and fake ARM.

The ``--query`` lines below are the ones ``az hpc-cache`` users write (Microsoft's docs and the
az extension's own scenario tests use these fields); they must work unchanged against
``hpccache cache|target`` because the JSON has az's flattened shape.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from arm_support import SUB, TOKEN, ArmWorld, run_cli

EMU_ID = f"/subscriptions/{SUB}/resourceGroups/emu-rg/providers/Microsoft.StorageCache/caches/emu"
SC1_ID = f"/subscriptions/{SUB}/resourceGroups/scgroup/providers/Microsoft.StorageCache/caches/sc1"


@pytest.fixture
def env(world: ArmWorld, tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "azure-config"  # no Azure CLI settings unless a test writes them
    empty.mkdir()
    return {**world.env(), "XDG_CACHE_HOME": str(tmp_path / "xdg"), "AZURE_CONFIG_DIR": str(empty)}


def out(env: dict[str, str], *args: str) -> str:
    r = run_cli(env, *args)
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('hpc-cache show -n emu -g emu-rg --query "mountAddresses[0]" -o tsv', "127.0.0.11\n"),
        ("hpc-cache show --name emu --resource-group emu-rg --query mountAddresses -o tsv",
         "127.0.0.11\n127.0.0.12\n"),
        ("hpc-cache show -n emu -g emu-rg --query health.state -o tsv", "Healthy\n"),
        ("hpc-cache show -n emu -g emu-rg --query provisioningState -o tsv", "Succeeded\n"),
        ("hpc-cache show -n emu -g emu-rg --query cacheSizeGb -o tsv", "3072\n"),
        ("hpc-cache show -n emu -g emu-rg --query sku.name -o tsv", "Standard_2G\n"),
        ("hpc-cache list -g emu-rg --query [].name -o tsv", "emu\n"),
        ("hpc-cache list --query \"[?name=='emu'] | length(@)\" -o tsv", "1\n"),
        ("hpc-cache storage-target list --cache-name emu -g emu-rg --query [].name -o tsv",
         "nas1\nblob1\nro1\n"),
        ("hpc-cache storage-target show --cache-name emu -g emu-rg --name nas1 "
         "--query junctions[].namespacePath -o tsv", "/proj\n"),
        ("hpc-cache storage-target show --cache-name emu -g emu-rg -n nas1 "
         "--query nfs3.usageModel -o tsv", "WRITE_WORKLOAD_15\n"),
        ("hpc-cache storage-target show --cache-name emu -g emu-rg -n nas1 "
         "--query \"{t:targetType, s:provisioningState}\" -o tsv", "nfs3\tSucceeded\n"),
        ("hpc-cache storage-target show --cache-name emu -g emu-rg -n nas1 "
         "--query \"[targetType, provisioningState]\" -o tsv", "nfs3\nSucceeded\n"),
    ],
)
def test_az_query_lines_work_unchanged(env: dict[str, str], line: str, expected: str) -> None:
    import shlex

    # az hpc-cache X -> hpccache cache X; az hpc-cache storage-target X -> hpccache target X
    args = shlex.split(line.replace("hpc-cache storage-target", "target", 1)
                       .replace("hpc-cache", "cache", 1))
    assert out(env, *args) == expected


def test_json_has_the_az_shape(env: dict[str, str]) -> None:
    data = json.loads(out(env, "cache", "show", "-n", "emu", "-g", "emu-rg", "-o", "json"))
    assert "properties" not in data
    assert data["mountAddresses"] == ["127.0.0.11", "127.0.0.12"]
    assert data["cacheSizeGb"] == 3072 and data["resourceGroup"] == "emu-rg"
    assert data["health"]["state"] == "Healthy" and data["provisioningState"] == "Succeeded"
    target = json.loads(out(env, "target", "show", "--cache-name", "emu", "-g", "emu-rg",
                            "-n", "blob1", "-o", "json"))
    assert "properties" not in target and target["targetType"] == "clfs"
    junctions = [(j["namespacePath"], j["targetPath"]) for j in target["junctions"]]
    assert junctions == [("/blob", "/sub")]
    assert target["resourceGroup"] == "emu-rg"
    listed = json.loads(out(env, "target", "list", "--cache-name", "emu", "-g", "emu-rg"))
    assert [t["provisioningState"] for t in listed] == ["Succeeded"] * 3


def test_query_matching_nothing_on_show_prints_nothing(env: dict[str, str]) -> None:
    for fmt in ("json", "tsv", "table", "yaml"):
        assert out(env, "cache", "show", "-n", "emu", "-g", "emu-rg", "--query", "noSuchField",
                   "-o", fmt) == ""
    assert out(env, "cache", "list", "--query", "[?name=='nope']", "-o", "json") == "[]\n"


def test_tsv_of_one_object_is_one_row_and_other_formats(env: dict[str, str]) -> None:
    text = out(env, "target", "show", "--cache-name", "emu", "-g", "emu-rg", "-n", "nas1",
               "-o", "tsv")
    data = json.loads(out(env, "target", "show", "--cache-name", "emu", "-g", "emu-rg",
                          "-n", "nas1", "-o", "json"))
    assert text.count("\n") == 1
    fields = text.rstrip("\n").split("\t")
    # az: the object's values sorted by key; a nested list is its length, an object empty
    assert fields[sorted(data).index("junctions")] == "1"
    assert fields[sorted(data).index("nfs3")] == ""
    assert fields[sorted(data).index("name")] == "nas1"
    assert len(fields) == len(data)

    yaml_text = out(env, "cache", "show", "-n", "emu", "-g", "emu-rg", "-o", "yaml")
    assert "mountAddresses:\n- 127.0.0.11\n- 127.0.0.12\n" in yaml_text
    assert "cacheSizeGb: 3072\n" in yaml_text and "name: emu\n" in yaml_text
    assert json.loads(out(env, "cache", "show", "-n", "emu", "-g", "emu-rg", "-o", "jsonc"))
    assert "cacheSizeGb: 3072" in out(env, "cache", "show", "-n", "emu", "-g", "emu-rg",
                                      "-o", "yamlc")
    assert out(env, "cache", "show", "-n", "emu", "-g", "emu-rg", "-o", "none") == ""


def test_ids_name_one_or_more_resources(world: ArmWorld, env: dict[str, str]) -> None:
    shown = json.loads(out(env, "cache", "show", "--ids", EMU_ID, SC1_ID, "-o", "json"))
    assert [c["name"] for c in shown] == ["emu", "sc1"]
    newline_ids = f"{EMU_ID}\n{SC1_ID}\n"  # as $(az ... --query [].id -o tsv) passes them
    assert out(env, "cache", "show", "--ids", newline_ids, "--query", "[].name", "-o", "tsv") \
        == "emu\nsc1\n"
    assert out(env, "namespace", "--ids", EMU_ID, "--query", "[0].namespacePath", "-o", "tsv") \
        == "/blob\n"
    assert out(env, "target", "list", "--ids", EMU_ID, "--query", "length(@)", "-o", "tsv") \
        == "3\n"
    nas1 = f"{EMU_ID}/storageTargets/nas1"
    ro1 = f"{EMU_ID}/storageTargets/ro1"
    shown = json.loads(out(env, "target", "show", "--ids", nas1, ro1, "-o", "json"))
    assert [t["name"] for t in shown] == ["nas1", "ro1"]
    world.write_cache_file("/proj/ids.txt", "x")
    assert "flushed storage target 'nas1'" in out(env, "target", "flush", "--ids", nas1, "--yes")
    assert world.ns.dirty_count("nas1") == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["cache", "show", "--ids", EMU_ID, "-n", "emu"], "--ids names the caches already"),
        (["cache", "show", "--ids", EMU_ID, "emu"], "neither a resource id"),
        (["cache", "show", "--ids", "/subscriptions/x"], "not an HPC Cache resource id"),
        (["cache", "show", "a", "-n", "b", "-g", "g"], "two caches named"),
        (["cache", "show", "-g", "emu-rg"], "which cache?"),
        (["target", "show", "--ids", EMU_ID], "not a storage target resource id"),
        (["target", "show", "--cache-name", "emu", "-g", "emu-rg"], "which storage target?"),
        (["cache", "show", "-n", "emu"], "az config set defaults.group"),
    ],
)
def test_naming_mistakes_are_one_line(env: dict[str, str], args: list[str], needle: str) -> None:
    r = run_cli(env, *args)
    assert r.exit_code == 2, r.output
    assert needle in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.output


def test_azure_cli_settings_are_honoured(env: dict[str, str], tmp_path: Path) -> None:
    config_dir = Path(env["AZURE_CONFIG_DIR"])
    (config_dir / "config").write_text("[core]\noutput = tsv\n\n[defaults]\ngroup = emu-rg\n")
    assert out(env, "cache", "show", "-n", "emu", "--query", "provisioningState") == "Succeeded\n"
    assert out(env, "cache", "list", "--query", "[].name") == "emu\n"  # az: -g from defaults
    assert out(env, "target", "list", "--cache-name", "emu", "--query", "[0].name") == "nas1\n"

    bare = {**env, "AZURE_CONFIG_DIR": str(tmp_path / "nowhere")}
    env_only = {**bare, "AZURE_CORE_OUTPUT": "yaml", "AZURE_DEFAULTS_GROUP": "scgroup"}
    # PyYAML ends a bare scalar document with "...", and so does az
    assert out(env_only, "cache", "show", "sc1", "--query", "name") == "sc1\n...\n"
    assert out(env_only, "cache", "show", "sc1", "--query", "name", "-o", "json") == '"sc1"\n'
    r = run_cli({**bare, "AZURE_CORE_OUTPUT": "xml"}, "cache", "list")
    assert r.exit_code == 2 and "AZURE_CORE_OUTPUT" in r.stderr


def test_debug_verbose_and_only_show_errors(env: dict[str, str]) -> None:
    show = ["cache", "show", "-n", "emu", "-g", "emu-rg", "--query", "name", "-o", "tsv"]
    r = run_cli(env, *show, "--debug")
    assert r.exit_code == 0 and r.stdout == "emu\n"
    assert "Request URL" in r.stderr and "/caches/emu" in r.stderr
    assert "Response status: 200" in r.stderr
    assert "REDACTED" in r.stderr and TOKEN not in r.stderr

    r = run_cli(env, *show, "--verbose")
    assert r.exit_code == 0 and r.stdout == "emu\n"
    lines = r.stderr.splitlines()
    assert any(line.startswith("hpccache: info: Request URL") and "GET" in line for line in lines)
    assert "Authorization" not in r.stderr

    r = run_cli(env, *show, "--only-show-errors")
    assert r.exit_code == 0 and r.stdout == "emu\n" and r.stderr == ""
    r = run_cli(env, "cache", "show", "-n", "nope", "-g", "emu-rg", "--only-show-errors")
    assert r.exit_code == 3 and r.stderr.startswith("hpccache: error: ")
    r = run_cli(env, *show)  # a later run in the same process logs nothing again
    assert r.stderr == ""


def test_debug_in_a_real_process_keeps_tokens_out(env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hpccache_cli", "target", "list", "--cache-name", "emu",
         "-g", "emu-rg", "--debug", "-o", "none"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and "hpccache: debug:" in proc.stderr
    assert TOKEN not in proc.stderr and "Traceback" not in proc.stderr
