"""``hpccache flush`` in Azure Pipelines and scripts: logging commands, ``--junit``,
``--shard``, ``--allow-partial``, no colour or redraws in logs, and ``--help`` examples.

Most tests run the CLI in a subprocess under ``TF_BUILD=True`` against the emulator (in this
process, loopback 127.0.0.71-79, ports picked free); the N = 1..7 shard sweep calls the same
``execute()`` in-process, because 28 interpreter start-ups would cost more than the flushing.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pipeline_support import (
    check_junit,
    colours,
    commands,
    issues,
    on_terminal,
    read_report,
    variables,
)
from test_flush_support import (
    CLI,
    FAST,
    ROOT,
    assert_written_back,
    backend_file,
    cli_env,
    dirty_cache,
    emulator,
)
from test_flush_support import (
    run_cli as run,
)

from hpccache_cli.cli.flush.pipeline_run import PipelineRun
from hpccache_cli.cli.flush.pipeline_sinks import PipelineLogSink
from hpccache_cli.cli.flush.runner import client_options, execute
from hpccache_cli.cli.flush.shard_resolve import ShardResolver, namespace_path
from hpccache_cli.cli.flush.values import FlushRequest
from hpccache_cli.flush.options import FlushOptions
from hpccache_cli.flush.resolve import OUTSIDE_SHARD, ExportResolver, Target
from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome
from hpccache_cli.pipelines.guard import neutralise
from hpccache_cli.pipelines.shard import shard_of
from hpccache_cli.pipelines.text import display_name
from hpccache_cli.pipelines.vso import PipelineLog

A1, A2, A3, DOWN = "127.0.0.71", "127.0.0.72", "127.0.0.73", "127.0.0.79"
JUNCTION = "/NAS_12_exp5"
EXPORT = ["--export", JUNCTION]
PIPELINE_ENV = {"TF_BUILD": "True"}
NO_JOB_VARS = ("SYSTEM_JOBPOSITIONINPHASE", "SYSTEM_TOTALJOBSINPHASE", "NO_COLOR")

# A name holding every character a logging command treats as syntax, a literal escape
# ("%0A") that must survive, and a newline followed by a would-be forged command.
NASTY = b"v/x;y]z%0A%w\n##vso[task.complete result=Succeeded;]"


# -- helpers ------------------------------------------------------------------------------------


def env_for(emu: Any, **extra: str) -> dict[str, str]:
    env = cli_env(emu)
    for name in NO_JOB_VARS:
        env.pop(name, None)
    env.update(extra)
    return env


# -- logging commands, JSON, JUnit ---------------------------------------------------------------


@pytest.mark.parametrize("output", ["text", "json"])
def test_logging_commands_escaped_counted_and_junit(tmp_path: Path, output: str) -> None:
    good = dirty_cache(tmp_path, ["v/a", "v/b", "v/c"])
    bad = dirty_cache(tmp_path, ["v/bad"])
    inputs = [*good, *bad, NASTY, b"v/./a"]  # NASTY does not exist: NFS3ERR_NOENT
    report, junit = tmp_path / "report.jsonl", tmp_path / "out" / "flush.xml"
    junit.parent.mkdir()
    faults = {"failing_paths": [f"{JUNCTION}/v/bad"]}
    with emulator(tmp_path, [A1], faults=faults) as emu:
        proc = run(["flush", "-0", "--ip", A1, *EXPORT, "--retries", "0", "-o", output,
                    "--report", str(report), "--junit", str(junit)],
                   env_for(emu, **PIPELINE_ENV), b"\0".join(inputs) + b"\0")
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 1, err
    # No colour and no redraws in a pipeline log; no forged command from the odd name.
    for stream in (proc.stdout, proc.stderr):
        assert b"\x1b" not in stream and b"\r" not in stream
    for line in (out + err).splitlines():
        assert not line.startswith("##vso[task.complete"), line
    if output == "json":  # stdout is the JSON summary alone; the commands are on stderr
        summary = json.loads(out)
        text = err
        assert summary["failed"] == 2 and summary["total"] == len(inputs)
    else:
        text = out
        lines = out.splitlines()
        n = sum(1 for line in lines if line.startswith("##vso["))
        assert all(line.startswith("##vso[") for line in lines[:n])
        assert lines[n].startswith("flush of ") and "##vso[" not in "".join(lines[n:])
    cmds = commands(text)
    records = read_report(report)
    assert len(records) == len(inputs)
    by_outcome = Counter(r["outcome"] for r in records)
    assert by_outcome == {"flushed": 3, "failed": 2, "skipped": 1}

    expected_errors = {neutralise(f"Flush failed: {display_name(r['path'])}: {r['reason']}")
                       for r in records if r["outcome"] == "failed"}
    assert set(issues(cmds, "error")) == expected_errors and len(expected_errors) == 2
    nasty_shown = neutralise(display_name(os.fsdecode(NASTY)))
    assert "\\x0a##vso\\u005b" in nasty_shown  # the newline is shown, the "[" neutralised
    assert any(nasty_shown in msg for msg in expected_errors)
    raw_nasty = next(line for line in text.splitlines() if "v/x;y]z" in line)
    assert "%AZP250A%AZP25w" in raw_nasty  # "%" escaped first: the literal %0A survives
    assert issues(cmds, "warning") == [
        f"Skipped: v/./a: {r['reason']}" for r in records if r["outcome"] == "skipped"]

    progress = [int(props["value"]) for cmd, props, _ in cmds if cmd == "task.setprogress"]
    assert progress and progress == sorted(progress) and progress[-1] == 100
    assert variables(cmds) == {"flushed": 3, "clean": 0, "failed": 2, "skipped": 1,
                               "unfinished": 0, "total": len(inputs)}
    assert not any(cmd == "task.complete" for cmd, _, _ in cmds)
    check_junit(junit, records)
    assert_written_back(tmp_path, good)


def test_no_pipeline_log_turns_the_commands_off(tmp_path: Path) -> None:
    dirty_cache(tmp_path, ["q/a"])
    with emulator(tmp_path, [A1]) as emu:
        proc = run(["flush", "--ip", A1, *EXPORT, "--no-pipeline-log", "q/a", "q/missing"],
                   env_for(emu, **PIPELINE_ENV))
    assert proc.returncode == 1
    assert b"##vso" not in proc.stdout + proc.stderr
    assert b"failed q/missing" in proc.stderr and b"flushed: 1" in proc.stdout


# -- --allow-partial and the codes it must not hide ----------------------------------------------


def test_allow_partial_exits_0_with_succeeded_with_issues(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["p/a", "p/b"])
    with emulator(tmp_path, [A1]) as emu:
        args = ["flush", "--ip", A1, *EXPORT, "--allow-partial", "-o", "json", "p/a", "p/b",
                "p/missing"]
        proc = run(args, env_for(emu, **PIPELINE_ENV))
        plain = run(args, env_for(emu))  # outside a pipeline: exit 0, no commands
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["failed"], summary["exit_code"]) == (1, 0)
    cmds = commands(proc.stderr.decode())
    assert cmds[-1] == ("task.complete", {"result": "SucceededWithIssues"},
                        "1 of 3 files was not flushed (--allow-partial)")
    assert variables(cmds)["failed"] == 1
    assert plain.returncode == 0 and b"##vso" not in plain.stdout + plain.stderr
    assert json.loads(plain.stdout)["failed"] == 1
    assert_written_back(tmp_path, names)


def test_allow_partial_keeps_unreachable_at_4(tmp_path: Path) -> None:
    with emulator(tmp_path, [DOWN], faults={"down_addresses": [DOWN]}) as emu:
        proc = run(["flush", "--ip", DOWN, *EXPORT, "--allow-partial", "u/a", "u/b"],
                   env_for(emu, **PIPELINE_ENV))
    assert proc.returncode == 4, proc.stderr
    cmds = commands(proc.stdout.decode())
    assert variables(cmds)["failed"] == 2
    assert not any(cmd == "task.complete" for cmd, _, _ in cmds)
    assert b"hpccache: error: cache unreachable" in proc.stderr


def test_allow_partial_keeps_interrupted_at_130(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    names = dirty_cache(tmp_path, [f"i/f{i}" for i in range(10)])
    junit = tmp_path / "flush.xml"
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)
        proc = subprocess.Popen(
            CLI + ["flush", "--ip", A1, *EXPORT, "-j", "4", "--allow-partial", "--junit",
                   str(junit), "--report", str(tmp_path / "report.jsonl")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env_for(emu, **PIPELINE_ENV))
        assert proc.stdin is not None
        proc.stdin.write(b"\n".join(names) + b"\n")
        proc.stdin.close()
        wait_until(lambda: emu.run(wb.running_count) == 4, message="flushes not in flight")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)  # small outputs: the pipes cannot fill up and block it
        assert proc.stdout is not None and proc.stderr is not None
        with proc.stdout, proc.stderr:
            out, err = proc.stdout.read(), proc.stderr.read()
        emu.run(wb.resume)
    assert proc.returncode == 130, err
    cmds = commands(out.decode())
    assert variables(cmds)["unfinished"] == 10
    assert not any(cmd == "task.complete" for cmd, _, _ in cmds)
    check_junit(junit, read_report(tmp_path / "report.jsonl"))  # written when interrupted


# -- --shard -------------------------------------------------------------------------------------


def owner(rel: bytes, n: int) -> int:
    """The documented contract: blake2b of the namespace path, mod N, plus 1."""
    return shard_of(JUNCTION.encode() + b"/" + rel, n)


def test_shards_are_disjoint_and_cover_the_input_for_n_1_to_7(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with emulator(tmp_path, [A1]) as emu:
        client = client_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs)
        for n in range(1, 8):
            names = dirty_cache(tmp_path, [f"s{n}/f{i:02d}" for i in range(24)])
            covered: set[bytes] = set()
            for k in range(1, n + 1):
                before = {x for x in names if os.path.exists(backend_file(tmp_path, x))}
                report = tmp_path / f"report-{n}-{k}.jsonl"
                request = FlushRequest(
                    paths=[os.fsdecode(x) for x in names], ips=[A1], export=JUNCTION,
                    options=FlushOptions(client=client, policies=FAST), output="json",
                    report=str(report), pipeline=PipelineRun(shard=(k, n)))
                assert execute(request) == 0
                summary = json.loads(capsys.readouterr().out)
                mine = {os.fsencode(r["path"]) for r in read_report(report)}
                after = {x for x in names if os.path.exists(backend_file(tmp_path, x))}
                assert after - before == mine  # flushed its share, nothing of the others'
                assert mine == {x for x in names if owner(x, n) == k}
                assert mine.isdisjoint(covered)
                covered |= mine
                assert summary["total"] == summary["flushed"] == len(mine)
                assert summary["shard"] == {"k": k, "n": n, "outside": len(names) - len(mine)}
            assert covered == set(names), n
            assert_written_back(tmp_path, names)


def test_shard_auto_reads_the_job_variables(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"a/f{i:02d}" for i in range(20)])
    data = b"\n".join(names) + b"\n"
    with emulator(tmp_path, [A1, A2, A3]) as emu:
        jobs = []
        for k in (1, 2, 3):  # three parallel jobs of one phase, as the agent runs them
            env = env_for(emu, **PIPELINE_ENV, SYSTEM_JOBPOSITIONINPHASE=str(k),
                          SYSTEM_TOTALJOBSINPHASE="3")
            report = tmp_path / f"auto-{k}.jsonl"
            proc = subprocess.Popen(
                CLI + ["flush", "--ip", A1, "--ip", A2, "--ip", A3, *EXPORT, "--shard", "auto",
                       "-o", "json", "--report", str(report)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            jobs.append((k, proc, report))
        results = [(k, *proc.communicate(data, timeout=60), proc.returncode, report)
                   for k, proc, report in jobs]
        alone = run(["flush", "--ip", A1, *EXPORT, "--shard", "auto", "-o", "json"],
                    env_for(emu, **PIPELINE_ENV), data)
    covered: set[bytes] = set()
    for k, out, err, code, report in results:
        assert code == 0, err
        summary = json.loads(out)
        mine = {os.fsencode(r["path"]) for r in read_report(report)}
        assert mine == {x for x in names if owner(x, 3) == k}
        assert summary["shard"] == {"k": k, "n": 3, "outside": len(names) - len(mine)}
        assert variables(commands(err.decode()))["total"] == summary["total"] == len(mine)
        assert mine.isdisjoint(covered)
        covered |= mine
    assert covered == set(names)
    assert_written_back(tmp_path, names)
    # No job variables (not a parallel job, or not a pipeline): the whole list.
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout)["shard"] == {"k": 1, "n": 1, "outside": 0}


@pytest.mark.parametrize(("args", "extra", "words"), [
    (["--shard", "auto"], {"SYSTEM_JOBPOSITIONINPHASE": "2"}, "SYSTEM_TOTALJOBSINPHASE is not"),
    (["--shard", "auto"], {"SYSTEM_JOBPOSITIONINPHASE": "4", "SYSTEM_TOTALJOBSINPHASE": "3"},
     "larger"),
    (["--shard", "0/3"], {}, "whole numbers"),
    (["--shard", "3"], {}, "is not K/N"),
    (["--junit", "/nonexistent-dir/flush.xml"], {}, "cannot write the JUnit report"),
])
def test_bad_pipeline_options_are_one_line_and_exit_2(
    args: list[str], extra: dict[str, str], words: str
) -> None:
    """Reported before anything is flushed (no cache at all here), in one line."""
    env = {k: v for k, v in os.environ.items() if k not in NO_JOB_VARS}
    env.update(PYTHONPATH=str(ROOT), **extra)
    proc = run(["flush", "--ip", A1, *EXPORT, *args, "x"], env)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and err.startswith("hpccache: error: ") and words in err, err
    assert err.count("\n") == 1 and proc.stdout == b""


def test_shard_follows_the_namespace_path_not_the_spelling() -> None:
    """Relative, absolute and untidy spellings of one file resolve to one namespace path and
    so to one shard; a client that mounted the namespace root ("/") and one that mounted
    the junction give the same namespace path; an unresolvable path goes to one shard."""
    inner = ExportResolver([A1], JUNCTION)
    spellings = [b"d/f", b"/NAS_12_exp5/d/f", b"./d//f", b"d/e/../f"]
    for n in (2, 3, 5):
        owners = {raw: [k for k in range(1, n + 1)
                        if ShardResolver(inner, k, n).resolve(raw) is not OUTSIDE_SHARD]
                  for raw in [*spellings, b"../escape"]}
        assert all(len(ks) == 1 for ks in owners.values()), owners
        assert len({owners[raw][0] for raw in spellings}) == 1
        assert owners[b"d/f"] == [shard_of(b"/NAS_12_exp5/d/f", n)]
        assert owners[b"../escape"] == [shard_of(b"../escape", n)]
        refused = ShardResolver(inner, owners[b"../escape"][0], n).resolve(b"../escape")
        assert isinstance(refused, FileResult) and refused.outcome is Outcome.FAILED
    root = Target((A1,), b"/", b"NAS_12_exp5/d/f")
    assert namespace_path(root) == namespace_path(Target((A2,), b"/NAS_12_exp5", b"d/f"))
    assert namespace_path(root) == b"/NAS_12_exp5/d/f"


# -- the pipeline log sink -----------------------------------------------------------------------


def test_retry_storm_warns_once_and_progress_waits_for_the_whole_input() -> None:
    stream = io.StringIO()
    sink = PipelineLogSink(PipelineLog(stream))
    summary = FlushSummary(total=4)
    sink.attach(summary)
    for result in (FileResult(b"calm", Outcome.FLUSHED, attempts=2),
                   FileResult(b"stormy", Outcome.FLUSHED, attempts=3),
                   FileResult(b"lost", Outcome.FAILED, "still dirty", attempts=4)):
        summary.add(result)
        sink.emit(result)
    assert "task.setprogress" not in stream.getvalue()  # the input is not complete yet
    summary.input_complete = True
    summary.add(last := FileResult(b"last", Outcome.CLEAN, attempts=1))
    sink.emit(last)
    cmds = commands(stream.getvalue())
    assert issues(cmds, "warning") == [
        "Flush retried 3 times: stormy (the cache kept asking to retry or did not answer in "
        "time)"]
    assert issues(cmds, "error") == ["Flush failed: lost: still dirty"]  # no storm warning too
    assert [p["value"] for c, p, _ in cmds if c == "task.setprogress"] == ["100"]


# -- terminals: NO_COLOR, and no bar in a pipeline -----------------------------------------------


def test_progress_bar_honours_no_color_and_is_off_in_a_pipeline(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"t/f{i}" for i in range(6)])
    data = b"\n".join([*names, b"t/missing"]) + b"\n"  # one failure: a red line above the bar
    cmd = CLI + ["flush", "--ip", A1, *EXPORT]
    with emulator(tmp_path, [A1]) as emu:
        base = env_for(emu, COLUMNS="120", TERM="xterm")
        _, coloured = on_terminal(cmd, base, data, "stderr")
        _, plain = on_terminal(cmd, dict(base, NO_COLOR="1"), data, "stderr")
        proc, pipeline = on_terminal(cmd, dict(base, **PIPELINE_ENV), data, "stderr")
    assert b"files/s" in coloured and colours(coloured)  # the control: rich does colour
    assert b"files/s" in plain and b"failed t/missing" in plain and not colours(plain)
    # TF_BUILD: the agent may give the step a terminal, but its log keeps every byte.
    assert b"\x1b" not in pipeline and b"\r" not in pipeline.replace(b"\r\n", b"\n")
    assert b"failed t/missing" in pipeline and b"files/s" not in pipeline
    assert any(c == "task.setprogress" for c, _, _ in commands(proc.stdout.decode()))


def test_path_table_on_a_terminal_honours_no_color() -> None:
    fixtures = Path(__file__).parent / "fixtures" / "mountinfo"
    env = {k: v for k, v in os.environ.items() if k not in NO_JOB_VARS}
    env.update(PYTHONPATH=str(ROOT), HPCCACHE_MOUNTINFO=str(fixtures / "two_caches.mountinfo"),
               COLUMNS="120", TERM="xterm")
    cmd = CLI + ["path", "--lexical", "/nowhere/x", "/mnt/cache/NAS_12_exp5/a"]
    _, coloured = on_terminal(cmd, env, b"", "stdout")
    _, plain = on_terminal(cmd, dict(env, NO_COLOR="1"), b"", "stdout")
    assert b"not under an NFS mount" in coloured and colours(coloured)
    assert b"not under an NFS mount" in plain and not colours(plain)


# -- every command's --help has an example -------------------------------------------------------


def test_every_command_help_has_an_example() -> None:
    import typer
    from typer.testing import CliRunner

    from hpccache_cli.cli.app import app

    def walk(command: Any, path: list[str]) -> list[list[str]]:
        found = [path]
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            found += walk(sub, [*path, name])
        return found

    paths = walk(typer.main.get_command(app), [])
    assert ["target", "invalidate"] in paths and ["emulator", "init"] in paths
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert result.exit_code == 0, (path, result.output)
        text = " ".join(result.output.split())
        assert re.search(r"Example: [^│]*hpccache ", text), path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
