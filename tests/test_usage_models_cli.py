"""``hpccache usage-models list`` as a user runs it (a subprocess, the real SDK, the fake ARM),
and the proof of docs/DEVELOPING.md's recipe "Add a command for a new Azure resource type"
(#18): the type took one command module, one route table and a line to register each."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from arm_support import ArmWorld, error_line, example_body, run_hpccache

from hpccache_cli.errors import EXIT_AZURE, EXIT_USAGE

ROOT = Path(__file__).parent.parent
LIST = ("usage-models", "list")


def served_by_the_examples() -> list[dict[str, Any]]:
    """The REST examples' models, in the order the fake serves them (2022-01-01, 2026-08-01)."""
    old = example_body("UsageModels_List_2022-01-01.json")["value"]
    new = example_body("UsageModels_List.json")["value"]
    return [*old, *new]


@pytest.fixture
def cli_env(world: ArmWorld, tmp_path: Path) -> dict[str, str | None]:
    """The fake ARM's environment, no Azure CLI settings, nothing of the caller's AZURE_*."""
    (tmp_path / "azcfg").mkdir()
    return {
        **world.env(),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "AZURE_CONFIG_DIR": str(tmp_path / "azcfg"),
        "AZURE_CORE_OUTPUT": None,
        "TF_BUILD": None,
    }


def ok(env: dict[str, str | None], *args: str) -> str:
    proc = run_hpccache(env, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == "", proc.stderr
    return str(proc.stdout)


def test_json_is_the_rest_examples_models(cli_env: dict[str, str | None]) -> None:
    """az's JSON of the SDK's UsageModel is the REST body's (camelCase, sorted keys)."""
    out = ok(cli_env, *LIST, "-o", "json")
    assert json.loads(out) == served_by_the_examples()
    assert all(list(m) == sorted(m) for m in json.loads(out))


def test_paged_list_is_whole(world: ArmWorld, cli_env: dict[str, str | None]) -> None:
    """The list follows nextLink (the shared pager): two models a page, all five printed."""
    world.arm.page_size = 2
    names = ok(cli_env, *LIST, "--query", "[].modelName", "-o", "tsv").split()
    assert names == [m["modelName"] for m in served_by_the_examples()]


def test_query_table_and_tsv(cli_env: dict[str, str | None]) -> None:
    assert ok(cli_env, *LIST, "--query", "[?modelName=='WRITE_AROUND'].display.description",
              "-o", "tsv") == "Clients write directly to storage\n"
    table = ok(cli_env, *LIST, "-o", "table").splitlines()
    # az's automatic table: the scalar fields of each item (display is nested: no column)
    assert table[0].split() == ["ModelName", "TargetType"]
    assert set(table[1]) == {"-", " "}
    assert [row.split() for row in table[2:]] == [
        [m["modelName"], "nfs3"] for m in served_by_the_examples()]
    tsv = ok(cli_env, *LIST, "-o", "tsv").splitlines()
    # knack's tsv writes an empty column for a nested object (display), sorted keys
    assert tsv[0] == "\tREAD_HEAVY_INFREQ\tnfs3"
    assert ok(cli_env, *LIST, "-o", "none") == ""


def test_bad_subscription_is_one_line(cli_env: dict[str, str | None]) -> None:
    proc = run_hpccache(cli_env, *LIST, "--subscription", "11111111-1111-1111-1111-111111111111")
    line = error_line(proc, EXIT_AZURE)
    assert "subscription '11111111-1111-1111-1111-111111111111' could not be found" in line
    assert "SubscriptionNotFound" in line and "check --subscription" in line


def test_arm_faults_are_one_line(world: ArmWorld, cli_env: dict[str, str | None]) -> None:
    world.arm.faults.next_status(403, path_contains="/usageModels")
    line = error_line(run_hpccache(cli_env, *LIST), EXIT_AZURE)
    assert "Microsoft.StorageCache/usageModels/read" in line
    world.arm.faults.next_status(500, count=10, path_contains="/usageModels")
    line = error_line(run_hpccache(cli_env, *LIST), EXIT_AZURE)
    assert "usage models" in line and "500" in line


def test_bad_query_is_a_usage_error(cli_env: dict[str, str | None]) -> None:
    error_line(run_hpccache(cli_env, *LIST, "--query", "[?"), EXIT_USAGE)


def test_help_has_an_example(cli_env: dict[str, str | None]) -> None:
    assert "Example: hpccache usage-models list" in ok(cli_env, *LIST, "--help")


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def test_the_recipe_took_one_module_and_one_route_table() -> None:
    """The commit that added the type changed, in the package, exactly: the command module,
    the route table, and one line each in ``COMMANDS`` and ``ROUTE_TABLES``."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the recipe's commit cannot be read")
    added = _git("log", "--diff-filter=A", "--format=%H", "--",
                 "hpccache_cli/emulator/arm/usage_model_routes.py").split()
    assert added, "the commit that added usage_model_routes.py is not in this history"
    stat = _git("show", "--numstat", "--format=", added[-1], "--", "hpccache_cli")
    changed = {path: (plus, minus) for plus, minus, path in
               (line.split("\t") for line in stat.splitlines() if line)}
    assert set(changed) == {
        "hpccache_cli/cli/usage_models_cmd.py",
        "hpccache_cli/emulator/arm/usage_model_routes.py",
        "hpccache_cli/cli/app.py",
        "hpccache_cli/emulator/arm/routes.py",
    }
    assert changed["hpccache_cli/cli/app.py"] == ("1", "0")
    assert changed["hpccache_cli/emulator/arm/routes.py"] == ("1", "0")
    tree = ast.parse((ROOT / "hpccache_cli/cli/usage_models_cmd.py").read_text())
    private = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.alias)
               and n.name.rsplit(".", 1)[-1].startswith("_")]
    assert private == [], "a private helper, of its own or imported"
