"""The TF_BUILD output guard: no ``##vso[`` or ``##[`` gets past it, however it is written."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pipeline_support import commands

from hpccache_cli.pipelines.guard import CommandGuard, command_stream, neutralise


@pytest.mark.parametrize("text", [
    "x ##vso[task.complete result=Failed;]y",
    "##[error]at the start",
    "#\u200b#vso[task.setvariable variable=a]1",  # zero-width space inside the prefix
    "#\u00ad#\u2060v\u200cso[x.y]z",
    "a\r##vso[task.complete]b",  # a bare CR starts a new line for the agent
])
def test_prefix_is_neutralised_anywhere(text: str) -> None:
    out = neutralise(text)
    assert out.count("\\u005b") == 1
    assert commands(out) == []  # the agent's rule finds nothing
    assert neutralise("plain #hash [x] ## [y]") == "plain #hash [x] ## [y]"


def test_guard_catches_a_prefix_split_over_writes_and_lets_our_commands_through() -> None:
    inner = io.StringIO()
    guard = CommandGuard(inner)
    for piece in ("failed odd/#", "#v", "so", "[task.complete result=Failed;]x\n", "##", "[y\n"):
        guard.write(piece)
    command_stream(guard).write("##vso[task.setvariable variable=failed;isoutput=true]1\n")  # type: ignore[arg-type]
    assert commands(inner.getvalue()) == [
        ("task.setvariable", {"variable": "failed", "isoutput": "true"}, "1")]
    assert "odd/##vso\\u005btask.complete" in inner.getvalue()
    with pytest.raises(TypeError):
        guard.write(b"")  # type: ignore[arg-type]
    assert guard.getvalue() == inner.getvalue()  # other attributes are the inner stream's


def test_json_through_the_guard_stays_json_with_the_same_strings() -> None:
    inner = io.StringIO()
    name = "odd/##vso[task.complete result=Failed;]x.txt"
    CommandGuard(inner).write(json.dumps({"path": name}, indent=2))
    assert "##vso[" not in inner.getvalue()
    assert json.loads(inner.getvalue()) == {"path": name}


@pytest.mark.parametrize("fmt", ["json", "tsv", "table"])
def test_every_command_is_guarded_whatever_it_prints(fmt: str, tmp_path: Path) -> None:
    """#18: ``hpccache path`` writes names byte for byte (sys.stdout.buffer), and under
    TF_BUILD that went past the text guard: the agent would have run the command."""
    import os
    import subprocess
    import sys

    mountinfo = Path(__file__).parent / "fixtures" / "mountinfo" / "docs_root.mountinfo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "HPCCACHE_"))}
    env.update(TF_BUILD="True", XDG_CACHE_HOME=str(tmp_path / "xdg"),
               PYTHONPATH=str(Path(__file__).parent.parent))
    name = "/mnt/cache/x ##vso[task.complete result=Succeeded;]"
    proc = subprocess.run(
        [sys.executable, "-m", "hpccache_cli", "path", name, "--mountinfo", str(mountinfo),
         "--lexical", "-o", fmt],
        env=env, capture_output=True, timeout=60,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert b"task.complete" in proc.stdout  # the name was printed...
    assert b"##vso[" not in proc.stdout + proc.stderr  # ...but never as a command
