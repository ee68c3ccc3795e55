"""One line per error, as a user sees it: in a subprocess, with Python's own logging set-up
(pytest's logging plugin would swallow a library warning in-process, hiding the very lines
these tests look for).

- A sign-in failure prints our one line, not azure-identity's multi-line warning above it;
  ``hpccache --debug`` shows that warning.
- Usage errors from Click (unknown option, misspelt command, bad value) are one line
  ``hpccache: error: ...`` with Click's suggestion and exit 2, for every command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from arm_support import ArmWorld
from test_flush_support import ROOT

from hpccache_cli.cli.app import app
from hpccache_cli.cli.runtime import run as run_app
from hpccache_cli.errors import EXIT_AZURE, EXIT_USAGE

CLI = [sys.executable, "-m", "hpccache_cli"]


def subprocess_env(extra: dict[str, str | None]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_BUILD"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + args, capture_output=True, text=True, env=env, timeout=120,
                          check=False)


def test_sign_in_failure_is_one_line_and_debug_shows_the_sdk_warning(
    world: ArmWorld, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    env = subprocess_env({
        **world.env(), "XDG_CACHE_HOME": str(tmp_path / "xdg"), "HPCCACHE_ARM_TOKEN": None,
        "HPCCACHE_AUTH": None, "PATH": str(empty),
        # Only the Azure CLI credential (no managed-identity probe); no `az`: fails locally.
        "AZURE_TOKEN_CREDENTIALS": "AzureCliCredential",
        # The fake ARM is not Azure's endpoint: a real identity needs the opt-in to use it.
        "HPCCACHE_ARM_ENDPOINT_TRUSTED": "1",
    })
    show = ["cache", "show", "emu", "-g", "emu-rg", "-o", "json", "--auth", "default"]
    proc = run(show, env)
    assert proc.returncode == EXIT_AZURE, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpccache: error: "), proc.stderr
    assert "AzureCliCredential" in lines[0]
    debug = run(["--debug", *show], env)
    assert debug.returncode == EXIT_AZURE
    assert debug.stderr.splitlines()[-1] == lines[0]  # our line still ends it
    assert "hpccache: debug: azure.identity" in debug.stderr  # the SDK's, on request


def _leaf_commands() -> list[list[str]]:
    """Every command path of the real app (``flush``, ``cache show``, ...)."""
    out: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, [*path, name])
        else:
            out.append(path)

    walk(typer.main.get_command(app), [])
    return out


def _in_process(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The process entry point (hpccache_cli.cli.runtime.run) in-process: usage errors do
    not log, so the only difference from a subprocess is speed (20+ commands)."""
    with pytest.raises(SystemExit) as exit_info:
        run_app(app, args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_unknown_option_is_one_line_exit_2_for_every_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_BUILD", raising=False)
    commands = _leaf_commands()
    assert len(commands) > 10 and ["flush"] in commands and ["cache", "show"] in commands
    for path in commands:
        code, out, err = _in_process([*path, "--no-such-option"], capsys)
        assert code == EXIT_USAGE, (path, err)
        assert out == "" and len(err.splitlines()) == 1, (path, err)
        assert err.startswith("hpccache: error: no such option: --no-such-option"), err
        assert f"{' '.join(path)} --help" in err, err


@pytest.mark.parametrize(("args", "words"), [
    (["flsh"], "no such command 'flsh'. Did you mean 'flush'?"),
    (["cache", "shw"], "Did you mean 'show'?"),
    (["flush", "--retrys", "2", "x"], "did you mean --retries, "),
    (["flush", "-o", "xml", "x"], "'xml' is not one of 'text', 'json'"),
    (["target", "flush", "--jobs"], "no such option: --jobs"),
])
def test_usage_errors_are_one_line_with_the_suggestion(args: list[str], words: str) -> None:
    proc = run(args, subprocess_env({}))
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpccache: error: "), proc.stderr
    assert words in lines[0], lines[0]
