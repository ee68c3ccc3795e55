"""The root group builds only the command that runs (issue #14; hpccache_cli.cli.lazy_group).

``hpccache --help``, shell completion of command names and "did you mean" read the static
command table (``hpccache_cli.cli.app.COMMANDS``); running a command imports its one module.
Checked here as a user runs it, in a subprocess: which modules a command line has loaded when
the process exits (never how long it took: speed is benchmarks/startup.py's), that the table
says what the modules register, and that help stays plain Click text without Rich, with the
option groups kept as sections. Start-up guards of the commands' own imports are in
tests/test_cli_startup.py.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import typer

from hpccache_cli.cli.app import COMMANDS
from hpccache_cli.cli.lazy_group import CommandEntry, build_command
from tests.startup_support import ROOT, run_probed

MOUNTINFO = ROOT / "tests" / "fixtures" / "mountinfo" / "docs_junction.mountinfo"

def command_modules(names: set[str]) -> set[str]:
    return {n.rsplit(".", 1)[1] for n in names
            if n.startswith("hpccache_cli.cli.") and n.endswith("_cmd")}


#: Rich's help rendering (its Markdown parser alone was ~70 ms of `hpccache --help`), and
#: what no command line here needs: pydantic (Typer's adapters), the Azure SDK.
NOT_LOADED = ("rich", "typer.rich_utils", "markdown_it", "pygments", "pydantic", "azure")


@pytest.mark.parametrize(("args", "modules"), [
    (("--help",), set()),
    (("flush-file", "--help"), {"flush_file_cmd"}),
    (("flush-file", "/NAS_12_exp5", "127.0.0.1"), {"flush_file_cmd"}),
    (("path", "/mnt/cache/NAS_12_exp5/a.txt", "--mountinfo", str(MOUNTINFO), "-o", "json"),
     {"path_cmd"}),
], ids=["help", "flush-file-help", "flush-file", "path"])
def test_a_command_line_imports_only_its_command_module(
        tmp_path: Path, args: tuple[str, ...], modules: set[str]) -> None:
    names, proc = run_probed(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert command_modules(names) == modules
    found = sorted(n for n in names if any(n == m or n.startswith(m + ".") for m in NOT_LOADED))
    assert found == [], found


def test_a_subcommand_gets_plain_values_too(tmp_path: Path) -> None:
    """A command of a group (``emulator init DIR``) converts its values without pydantic."""
    names, proc = run_probed(tmp_path, "emulator", "init", str(tmp_path / "emu"))
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert (tmp_path / "emu" / "emulator.toml").is_file()
    assert command_modules(names) == {"emulator_cmd"}
    assert sorted(n for n in names if n.split(".")[0] in ("pydantic", "pydantic_core")) == []


def test_the_command_table_is_what_the_modules_register() -> None:
    """COMMANDS says what every command module registers: the names, the modules and each
    first sentence. A new module, command or help text that the table misses fails here."""
    registered: dict[str, tuple[str, str, bool]] = {}
    for path in sorted((ROOT / "hpccache_cli" / "cli").glob("*_cmd.py")):
        module = importlib.import_module(f"hpccache_cli.cli.{path.stem}")
        app = typer.Typer()
        module.register(app)
        for name, command in typer.main.get_group(app).commands.items():
            assert name not in registered, name
            registered[name] = (path.stem, command.get_short_help_str(limit=1 << 30),
                                command.hidden)
    assert registered == {e.name: (e.module, e.short_help, False) for e in COMMANDS}


def test_help_lists_every_command_with_its_first_sentence(tmp_path: Path) -> None:
    _, proc = run_probed(tmp_path, "--help")
    text = " ".join(proc.stdout.decode().split()) + " "
    assert text.startswith("Usage: hpccache [OPTIONS] COMMAND [ARGS]... "), text
    for entry in COMMANDS:
        assert f" {entry.name} {entry.short_help} " in text, entry.name


def test_help_keeps_the_option_groups_as_sections(tmp_path: Path) -> None:
    """Plain help, the option groups Rich drew as panels as sections, in the same order."""
    _, proc = run_probed(tmp_path, "flush", "--help")
    assert proc.returncode == 0
    lines = proc.stdout.decode().splitlines()
    sections = [line for line in lines if line.endswith(":") and not line.startswith(" ")]
    assert sections == ["Arguments:", "Options:", "Input:", "Where:", "How:", "Connection:",
                        "Output:", "Pipelines and scripts:", "Azure options:"]
    connection = lines[lines.index("Connection:") + 1:lines.index("Output:")]
    assert any(line.lstrip().startswith("--nfs-port") for line in connection), connection


@pytest.mark.parametrize(("command", "usage", "arguments"), [
    (("flush-file",), "Usage: hpccache flush-file [OPTIONS] EXPORT SERVER",
     ["EXPORT", "SERVER"]),
    (("path",), "Usage: hpccache path [OPTIONS] [PATH]...", ["PATH"]),
    (("emulator", "init"), "Usage: hpccache emulator init [OPTIONS] DIRECTORY", ["DIRECTORY"]),
])
def test_help_names_arguments_as_click_does(
        tmp_path: Path, command: tuple[str, ...], usage: str, arguments: list[str]) -> None:
    """Arguments in capitals, as the usage line and the Arguments section of Rich's help
    showed them (Typer's plain help wrote "{export}" and "export <str>")."""
    _, proc = run_probed(tmp_path, *command, "--help")
    lines = proc.stdout.decode().splitlines()
    assert lines[0] == usage
    section = lines[lines.index("Arguments:") + 1:lines.index("Options:")]
    assert [line.split()[0] for line in section if line.strip()] == arguments


def test_a_missing_argument_is_named_as_help_names_it(tmp_path: Path) -> None:
    _, proc = run_probed(tmp_path, "flush-file", "/NAS_12_exp5")
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        "hpccache: error: missing argument 'SERVER'. (see 'hpccache flush-file --help')"]


def test_help_list_items_read_as_items(tmp_path: Path) -> None:
    """Each "- ..." paragraph of flush-file's differences wraps under its own text."""
    _, proc = run_probed(tmp_path, "flush-file", "--help", env={"COLUMNS": "80"})
    lines = proc.stdout.decode().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  - relative paths"))
    assert lines[first + 1].startswith("    ") and lines[first + 1][4] != " ", lines[first:][:3]
    assert max(len(line) for line in lines) <= 78


@pytest.mark.parametrize(("words", "shell", "want"), [
    ("hpccache fl", "bash", "flush\nflush-file\n"),
    ("hpccache fl", "zsh", '"flush-file":"Drop-in replacement for flush_file.py\\\\:..."'),
    ("hpccache flush-file --thr", "bash", "--threads\n"),
    ("hpccache cache s", "bash", "show\n"),
])
def test_shell_completion(tmp_path: Path, words: str, shell: str, want: str) -> None:
    """Command names (with Click's short help for zsh) from the table; options and
    subcommands from the one command's module."""
    env = {"_HPCCACHE_COMPLETE": f"complete_{shell}", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - 1), "_TYPER_COMPLETE_ARGS": words}
    names, proc = run_probed(tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert want in proc.stdout.decode()
    if words == "hpccache fl":
        assert command_modules(names) == set()


def test_a_table_row_naming_the_wrong_module_says_so() -> None:
    with pytest.raises(LookupError, match="registers no 'flush' command"):
        build_command(CommandEntry("flush", "path_cmd", "Flush."))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
