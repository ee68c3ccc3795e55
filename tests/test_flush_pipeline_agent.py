"""``hpccache`` under ``TF_BUILD=True`` held to the Azure Pipelines agent's own rules.

The agent runs a logging command wherever ``##vso[`` appears in a line of stdout or stderr,
not only at the start (:func:`pipeline_support.commands` parses that way). These tests run the
CLI in a subprocess, as the agent does, with file names built to forge commands, a file whose
write-back keeps failing (retries) and a mount address that does not answer; they check that
only our own commands appear, with the reasons and attempts of each file.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from junit_schema import validate_junit
from pipeline_support import commands, issues, read_report, variables
from test_flush_support import assert_written_back, cli_env, dirty_cache, emulator
from test_flush_support import run_cli as run

from hpccache_cli.pipelines.guard import neutralise
from hpccache_cli.pipelines.text import display_name

A1, DOWN = "127.0.0.81", "127.0.0.89"
JUNCTION = "/NAS_12_exp5"
TF = {"TF_BUILD": "True"}

#: Names that would be logging commands if written raw anywhere in a line.
FORGERS = [
    "odd/##vso[task.complete result=Failed;]x.txt",
    "odd/##vso[task.setvariable variable=failed]0",
    "odd/##[error]looks like an error",
    "odd/#\u200b#vso[task.complete result=Failed;]zw.txt",  # zero-width space inside
    "odd/##vso[artifact.upload]y",
]


def env_for(emu: Any, **extra: str) -> dict[str, str]:
    env = cli_env(emu)
    for name in ("SYSTEM_JOBPOSITIONINPHASE", "SYSTEM_TOTALJOBSINPHASE"):
        env.pop(name, None)
    env.update(extra)
    return env


def test_retries_and_a_down_address_under_tf_build(tmp_path: Path) -> None:
    """A write-back that fails and is retried, and an address that does not answer, end with
    their real reasons and attempts (not "internal error ... not callable" after 0)."""
    good = dirty_cache(tmp_path, [f"r/f{i}" for i in range(6)])
    bad = dirty_cache(tmp_path, ["r/bad"])
    report, junit = tmp_path / "report.jsonl", tmp_path / "flush.xml"
    faults = {"failing_paths": [f"{JUNCTION}/r/bad"], "down_addresses": [DOWN]}
    with emulator(tmp_path, [A1, DOWN], faults=faults) as emu:
        proc = run(["flush", "--ip", DOWN, "--ip", A1, "--export", JUNCTION, "--retries", "2",
                    "-v", "--report", str(report), "--junit", str(junit), *map(os.fsdecode,
                                                                                  good + bad)],
                   env_for(emu, **TF))
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "internal error" not in out + err
    records = {r["path"]: r for r in read_report(report)}
    assert records["r/bad"]["outcome"] == "failed"
    assert records["r/bad"]["attempts"] == 3  # the first write-back and two restarts
    assert "after 3 attempts" in records["r/bad"]["reason"]
    for name in good:
        rec = records[os.fsdecode(name)]
        assert (rec["outcome"], rec["attempts"]) == ("flushed", 1), rec
    # The run-level notes reached the console (-v): the restarts and the silent address.
    assert "note: r/bad: write-back ended" in err
    assert f"note: mount address {DOWN} does not answer" in err
    cmds = commands(out + "\n" + err)
    assert issues(cmds, "error") == [f"Flush failed: r/bad: {records['r/bad']['reason']}"]
    assert variables(cmds)["failed"] == 1 and variables(cmds)["flushed"] == len(good)
    validate_junit(junit)
    assert "attempts: 3" in junit.read_text()
    assert_written_back(tmp_path, good)


def _check_no_forgery(proc: subprocess.CompletedProcess[bytes]) -> list[Any]:
    text = proc.stdout.decode() + "\n" + proc.stderr.decode()
    return commands(text)  # fails on any command that is not ours, anywhere in a line


def test_no_file_name_forges_a_command(tmp_path: Path) -> None:
    """Forging names flushed, failed (missing) and skipped, shown with -v in every line kind
    (per-file lines, notes, issues, summary, -o json, flush-file, error lines)."""
    present = dirty_cache(tmp_path, FORGERS)
    missing = [os.fsencode(n.replace("odd/", "gone/")) for n in FORGERS]
    report, listed = tmp_path / "report.jsonl", tmp_path / "odd ##vso[x.y]list"
    listed.write_bytes(b"".join(x + b"\n" for x in present + missing))
    with emulator(tmp_path, [A1]) as emu:
        env = env_for(emu, **TF)
        base = ["flush", "--ip", A1, "--export", JUNCTION]
        text = run([*base, "-v", "--from-file", str(listed), "--report", str(report)], env)
        as_json = run([*base, "-o", "json", *map(os.fsdecode, present + missing)], env)
        flush_file = run(["flush-file", JUNCTION, A1, "--verbose"], env,
                         b"".join(b"/" + x + b"\n" for x in present + missing))
        bad_input = run([*base, "--from-file", str(tmp_path / "##vso[task.complete]no")], env)
    for proc in (text, as_json, flush_file):
        assert proc.returncode == 1, proc.stderr
    # Every name shows up, neutralised: the "[" of the prefix is written \u005b.
    for name in FORGERS:
        shown = neutralise(display_name(name))
        assert shown in text.stderr.decode(), name  # -v: one line per path
    cmds = _check_no_forgery(text)
    errors = issues(cmds, "error")
    assert len(errors) == len(missing)
    assert all("\\u005b" in e or "#\u200b#vso" in e for e in errors)
    assert variables(cmds)["flushed"] == len(present)
    assert not any(c == "task.complete" for c, _, _ in cmds)  # no forged Failed / Succeeded
    # -o json: still one valid JSON document, which decodes to the real names.
    _check_no_forgery(as_json)
    summary = json.loads(as_json.stdout)
    assert (summary["clean"], summary["failed"]) == (len(present), len(missing))  # 2nd run
    _check_no_forgery(flush_file)
    assert flush_file.stderr.count(b"ERROR") >= len(missing)
    assert bad_input.returncode == 2
    assert _check_no_forgery(bad_input) == []
    assert bad_input.stderr.decode().startswith("hpccache: error: cannot read --from-file")
    records = read_report(report)
    assert sorted(r["path"] for r in records) == sorted(map(os.fsdecode, present + missing))
    assert_written_back(tmp_path, present)


def test_progress_knows_the_total_of_a_from_file_list_from_the_start(tmp_path: Path) -> None:
    """More paths than the engine queues at once: before, the first task.setprogress came
    when the input was read to its end (~90 %). Now the records are counted up front, so the
    percentage starts near 0 and never jumps more than 5 points."""
    real = dirty_cache(tmp_path, [f"p/f{i}" for i in range(4)])
    names = real + [f"p/missing{i:04d}".encode() for i in range(1200)]  # fail fast: NOENT
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"\n\n".join(names) + b"\n")  # empty lines are not records
    with emulator(tmp_path, [A1]) as emu:
        proc = run(["flush", "--ip", A1, "--export", JUNCTION, "-j", "4", "--from-file",
                    str(listing)], env_for(emu, **TF))
    assert proc.returncode == 1, proc.stderr
    cmds = commands(proc.stdout.decode())
    steps = [(int(p["value"]), msg) for c, p, msg in cmds if c == "task.setprogress"]
    values = [v for v, _ in steps]
    assert values[0] <= 5 and values[-1] == 100, values
    assert all(0 <= b - a <= 5 for a, b in zip(values, values[1:], strict=False)), values
    assert all(msg.endswith(f"/{len(names)}") for _, msg in steps), steps[:3]
    assert variables(cmds)["total"] == len(names)
    assert_written_back(tmp_path, real)
