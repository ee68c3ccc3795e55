"""One spelling rule for every command (#18; the table is in README and in
``hpccache_cli/cli/options/resources.py``), checked by walking every command's parameters:

- wherever a cache is named: ``--cache`` and ``--cache-name``;
- ``-n/--name`` is the command's own subject: the cache for ``cache``, ``namespace``,
  ``flush``, ``path`` (the same option as ``--cache``); the storage target for ``target``,
  where ``-t/--target`` works too;
- ``-g`` and ``--ids`` wherever a cache is named, ``--subscription`` on every Azure command.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from hpccache_cli.cli.app import COMMANDS

#: Commands whose subject is a storage target of a cache.
TARGET_GROUP = "target"


def commands() -> Iterator[tuple[str, Any]]:
    """Every command line of hpccache (``cache show``, ``flush``, ...) with its Click command."""
    for entry in COMMANDS:
        app = typer.Typer()
        importlib.import_module(f"hpccache_cli.cli.{entry.module}").register(app)
        group = typer.main.get_group(app)
        for name, command in group.commands.items():
            if hasattr(command, "commands"):  # a group (Click's, as Typer vendors it or not)
                for sub, cmd in command.commands.items():
                    yield f"{name} {sub}", cmd
            else:
                yield name, command


def option_with(command: Any, flag: str) -> Any:
    """The option of ``command`` that ``flag`` names, or None."""
    for param in command.params:
        if param.param_type_name == "option" and flag in param.opts + param.secondary_opts:
            return param
    return None


ALL = dict(commands())
NAMES_A_CACHE = sorted(n for n, c in ALL.items() if option_with(c, "--cache"))


def test_the_walk_sees_the_commands_that_name_a_cache() -> None:
    assert set(NAMES_A_CACHE) >= {
        "cache show", "cache flush", "namespace", "flush", "path", "target list",
        "target show", "target flush", "target suspend", "target resume", "target invalidate",
    }
    assert "emulator run" in ALL and "emulator run" not in NAMES_A_CACHE


@pytest.mark.parametrize("name", NAMES_A_CACHE)
def test_every_command_that_names_a_cache_spells_it_one_way(name: str) -> None:
    command = ALL[name]
    cache = option_with(command, "--cache")
    assert cache is not None and "--cache-name" in cache.opts, name
    subject = option_with(command, "-n")
    if name == "target list":  # no one target is its subject: no -n (az has none there)
        assert subject is None, name
    elif name.startswith(TARGET_GROUP + " "):
        assert subject is not None and subject is not cache, f"{name}: -n is the target"
        assert {"-n", "--name", "-t", "--target"} <= set(subject.opts), name
    else:
        assert subject is cache, f"{name}: -n/--name must be the cache, the command's subject"
        assert "--name" in subject.opts, name
    for flag in ("-g", "--resource-group", "--ids", "--subscription"):
        assert option_with(command, flag) is not None, f"{name}: no {flag}"


def test_the_issue_s_command_lines_work(env: dict[str, str]) -> None:
    """#18: both were usage errors (namespace refused --cache; target flush had no --cache)."""
    from arm_support import run_hpccache

    ns = run_hpccache(env, "namespace", "--cache", "emu", "-g", "emu-rg", "-o", "tsv",
                      "--query", "[].namespacePath")
    assert ns.returncode == 0, ns.stderr
    assert ns.stdout.split() == ["/blob", "/proj", "/ro"]
    flush = run_hpccache(env, "target", "flush", "--cache", "emu", "-g", "emu-rg", "-n",
                         "blob1", "--yes")
    assert flush.returncode == 0, flush.stderr
    assert flush.stdout.startswith("flushed storage target 'blob1' of cache 'emu' in ")
    from pathlib import Path

    mountinfo = Path(__file__).parent / "fixtures" / "mountinfo" / "docs_root.mountinfo"
    path = run_hpccache(env, "path", "--name", "emu", "-g", "emu-rg", "/mnt/cache/proj/a",
                        "--lexical", "--mountinfo", str(mountinfo), "-o", "json")
    assert path.returncode in (0, 1), path.stderr  # translated or not: not a usage error
    assert '"cache": "emu"' in path.stdout


def amlfs_commands() -> Iterator[tuple[str, Any]]:
    """Every ``amlfs`` command, the job groups' subcommands too (``amlfs import show``)."""
    for name, command in ALL.items():
        if name.startswith("amlfs ") and hasattr(command, "commands"):
            for sub, cmd in command.commands.items():
                yield f"{name} {sub}", cmd
        elif name.startswith("amlfs "):
            yield name, command


AMLFS = dict(amlfs_commands())


@pytest.mark.parametrize(
    "name", sorted(n for n, c in AMLFS.items() if option_with(c, "--amlfs-name")))
def test_amlfs_commands_spell_their_selectors_as_az_amlfs_does(name: str) -> None:
    """The file system is ``-n/--name/--amlfs-name`` where it is the subject; where a job is,
    ``--amlfs-name/--aml-filesystem-name`` names its file system and ``-n`` the job."""
    from hpccache_cli.cli.options.resources import AMLFS_NAMES, AMLFS_SUBJECT_NAMES

    command = AMLFS[name]
    fs, subject = option_with(command, "--amlfs-name"), option_with(command, "-n")
    word = name.split()[1]
    if word in ("import", "auto-export", "auto-import"):
        assert fs is not None and tuple(fs.opts) == AMLFS_NAMES, name
        if name.endswith(" list"):  # all the file system's jobs: no one job is its subject
            assert subject is None, name
        else:
            assert subject is not None and f"--{word}-job-name" in subject.opts, name
    else:
        assert fs is subject and tuple(fs.opts) == AMLFS_SUBJECT_NAMES, name
    assert option_with(command, "-g") is not None, f"{name}: no -g"
