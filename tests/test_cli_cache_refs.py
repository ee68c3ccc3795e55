"""One way from a cache's name to its layout (#18): the same wrong reference reads the same line
from every command that names a cache (``flush --cache``, ``path --cache``, ``namespace``,
``target list``), in a subprocess, as a user sees it.

Before #18 each command had its own copy: ``flush`` asked for ``-g`` in other words than the
rest, and ``path --ids bad-id`` took the id for a cache name and asked for its group.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from arm_support import ArmWorld, error_line, run_hpccache

#: Each command, by the option that names its cache (a path argument where one is needed).
BY_NAME = {
    "flush": ("flush", "/NAS/x", "--cache"),
    "path": ("path", "/x", "--cache"),
    "namespace": ("namespace",),
    "target list": ("target", "list", "--cache"),
}
#: Each command, by ``--ids``.
BY_ID = {
    "flush": ("flush", "/NAS/x", "--ids"),
    "path": ("path", "/x", "--ids"),
    "namespace": ("namespace", "--ids"),
    "target list": ("target", "list", "--ids"),
}


@pytest.fixture
def cli_env(world: ArmWorld, tmp_path: Path) -> dict[str, str | None]:
    """The fake ARM; no Azure CLI default group; no resolution cache."""
    (tmp_path / "azcfg").mkdir()
    return {
        **world.env(),
        "XDG_CACHE_HOME": str(tmp_path / "xdg"),
        "AZURE_CONFIG_DIR": str(tmp_path / "azcfg"),
        "AZURE_DEFAULTS_GROUP": None,
        "HPCCACHE_LAYOUT_TTL": "0",
        "TF_BUILD": None,
    }


def lines(env: dict[str, str | None], commands: dict[str, tuple[str, ...]], *args: str,
          code: int) -> dict[str, str]:
    return {name: error_line(run_hpccache(env, *cmd, *args), code)
            for name, cmd in commands.items()}


def test_no_group_reads_the_same_everywhere(cli_env: dict[str, str | None]) -> None:
    got = lines(cli_env, BY_NAME, "c1", code=2)
    assert set(got.values()) == {
        "hpccache: error: which resource group is cache 'c1' in? pass -g/--resource-group (or "
        "the cache's resource id in place of its name, or set the Azure CLI's default: az "
        "config set defaults.group=NAME)"}, got


@pytest.mark.parametrize("bad", ["bad-id", "/subscriptions/s/resourceGroups/rg/providers/"
                                            "Microsoft.Foo/caches/x"])
def test_a_malformed_id_reads_the_same_everywhere(cli_env: dict[str, str | None],
                                                  bad: str) -> None:
    got = lines(cli_env, BY_ID, bad, code=2)
    assert set(got.values()) == {
        f"hpccache: error: {bad!r} is not an HPC Cache resource id; expected /subscriptions/"
        "SUB/resourceGroups/RG/providers/Microsoft.StorageCache/caches/NAME"}, got


def test_an_unknown_cache_reads_the_same_everywhere(cli_env: dict[str, str | None]) -> None:
    got = lines(cli_env, BY_NAME, "nosuch", "-g", "emu-rg", code=3)
    assert len(set(got.values())) == 1, got
    line = next(iter(got.values()))
    assert line.startswith("hpccache: error: cache 'nosuch' in resource group 'emu-rg' not "
                           "found in subscription "), line
    assert line.endswith("; caches in emu-rg: emu"), line


def test_path_ids_and_cache_are_one_choice(cli_env: dict[str, str | None]) -> None:
    proc = run_hpccache(cli_env, "path", "/x", "--cache", "c1", "--ids", "/subscriptions/s/"
                        "resourceGroups/rg/providers/Microsoft.StorageCache/caches/c1")
    assert error_line(proc, 2) == "hpccache: error: --ids names the cache already; drop --cache"


def test_path_ids_takes_the_cache_by_its_id(cli_env: dict[str, str | None]) -> None:
    from arm_support import SUB

    rid = f"/subscriptions/{SUB}/resourceGroups/emu-rg/providers/Microsoft.StorageCache/caches/emu"
    proc = run_hpccache(cli_env, "path", "--to-local", "/proj/a", "--ids", rid, "-o", "json")
    assert "Traceback" not in proc.stderr
    # the layout came from Azure: the cache is named (no mount of it here: exit 1)
    assert proc.returncode == 1 and "no NFS mount of cache emu" in proc.stdout, proc
