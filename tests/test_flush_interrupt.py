"""Ctrl-C: SIGINT to a running ``hpccache flush`` stops new work, records every path not done
as unfinished in the report and the failed list, and exits 130.

The emulator's write-backs are paused, so the run is certainly mid-flight when the signal
arrives; readiness is observed through the emulator (write-backs running), never slept for.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from test_flush_support import CLI, cli_env, dirty_cache, emulator

A1 = "127.0.0.38"


def _start(emu: object, tmp_path: Path, extra: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        CLI + ["flush", "--ip", A1, "--export", "/NAS_12_exp5", "--concurrency", "8",
               "--report", str(tmp_path / "report.jsonl"),
               "--failed-to", str(tmp_path / "failed.lst"), *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=cli_env(emu),  # type: ignore[arg-type]
    )


def _outputs(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    assert proc.stdout is not None and proc.stderr is not None
    with proc.stdout, proc.stderr:
        return proc.stdout.read(), proc.stderr.read()


def _report(tmp_path: Path) -> dict[str, dict[str, object]]:
    lines = [json.loads(x) for x in (tmp_path / "report.jsonl").read_text().splitlines()]
    paths = [str(x["path"]) for x in lines]
    assert len(paths) == len(set(paths)), "a path was reported twice"
    return {str(x["path"]): x for x in lines}


def test_sigint_mid_run_writes_report_and_failed_list(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    names = dirty_cache(tmp_path, [f"i/f{i:03d}" for i in range(200)])
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)
        proc = _start(emu, tmp_path, [])
        assert proc.stdin is not None
        proc.stdin.write(b"\n".join(names) + b"\n")
        proc.stdin.close()
        wait_until(lambda: emu.run(wb.running_count) == 8, message="flushes not in flight")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        out, err = _outputs(proc)
        emu.run(wb.resume)
    assert proc.returncode == 130, err
    report = _report(tmp_path)
    assert set(report) == {n.decode() for n in names}  # every input path, exactly once
    outcomes = [r["outcome"] for r in report.values()]
    assert outcomes.count("unfinished") == 200
    in_flight = [p for p, r in report.items() if r["reason"] == "interrupted before it finished"]
    assert len(in_flight) == 8
    failed = (tmp_path / "failed.lst").read_bytes().split(b"\n")
    assert sorted(failed[:-1]) == sorted(names) and failed[-1] == b""
    assert b"interrupted" in out and b"hpccache: interrupted: 200 paths unfinished" in err


def test_sigint_while_input_is_still_open(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    """The producer has not finished (stdin stays open): stop reading after a short idle."""
    names = dirty_cache(tmp_path, [f"o/f{i}" for i in range(12)])
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)
        proc = _start(emu, tmp_path, ["-o", "json"])
        assert proc.stdin is not None
        proc.stdin.write(b"\n".join(names) + b"\n")
        proc.stdin.flush()
        wait_until(lambda: emu.run(wb.running_count) == 8, message="flushes not in flight")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)  # stdin still open: the run must not wait for its end
        out, _err = _outputs(proc)
        proc.stdin.close()
        emu.run(wb.resume)
    assert proc.returncode == 130
    summary = json.loads(out)
    assert summary["interrupted"] is True and summary["input_complete"] is False
    assert summary["unfinished"] == 12 and set(_report(tmp_path)) == {n.decode() for n in names}
