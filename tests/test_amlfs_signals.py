"""SIGINT, SIGTERM and SIGHUP end ``amlfs export`` (both ways) and ``amlfs state`` as they end
``flush``, in every phase, through real processes and real signals (a Slurm job gets SIGTERM
at its time limit; a closed ssh session, SIGHUP).

Before: ``export --via archive-job`` interrupted while Azure's job ran ended with one line
and no per-file record at all; SIGTERM or SIGHUP killed ``export`` and ``state`` on the spot
(no record, no line, the old failed list in place). Readiness is observed (a line on stderr,
the emulated copytool's queue, a file the fake ``lfs`` writes), never slept for.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from aml_support import FS, RG
from lustre_support import LustreWorld, wait_for
from signals_support import Lines, leftovers, unread_fifo

from hpccache_cli.errors import EXIT_INTERRUPTED, EXIT_USAGE
from hpccache_cli.lustre.hsm import LfsCommand

SHOW = f"show it: hpccache amlfs show {FS} -g {RG}; cancel it: hpccache amlfs cancel-archive " \
    f"{FS} -g {RG}"


def NAME(sig: int) -> str:  # noqa: N802 - a test id
    return signal.Signals(sig).name


class Amlfs:
    """``hpccache amlfs ARGS`` as a child process, its stderr read as it comes."""

    def __init__(self, lw: LustreWorld, tmp: Path, *args: str,
                 env: dict[str, str | None] | None = None) -> None:
        full = {**os.environ, **lw.env(tmp), **(env or {}),
                "PYTHONPATH": str(Path(__file__).parent.parent)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hpccache_cli", "amlfs", *args], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={k: v for k, v in full.items() if v is not None})
        assert self.proc.stdout and self.proc.stderr
        self.out = Lines(self.proc.stdout)
        self.err = Lines(self.proc.stderr)

    def wait(self, timeout: float = 60) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(30)
        err = self.err.text().decode()
        assert "Traceback" not in err, err
        return code, err


def rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def no_client(tmp: Path) -> list[str]:
    empty = tmp / "mountinfo"
    empty.write_text("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n")
    return ["--mountinfo", str(empty)]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=NAME)
def test_a_signal_while_the_archive_job_runs_ends_every_file_once(
    lw: LustreWorld, tmp_path: Path, sig: int,
) -> None:
    lw.write("agent/a", b"a")
    lw.write("agent/b/c", b"c")
    lw.aml.fs.faults.scan_seconds = 120.0  # the job stays in its scan until cancelled
    report, failed = tmp_path / "r.jsonl", tmp_path / "failed.txt"
    failed.write_text("/old/run\n")
    run = Amlfs(lw, tmp_path, "export", "-n", FS, "-g", RG, "--via", "archive-job",
                "/agent/a", "/agent/b/c", *no_client(tmp_path), "--report", str(report),
                "--failed-to", str(failed), env={"PATH": os.environ.get("PATH", "")})
    wait_for(lambda: run.err.has(b"archive of '/agent' on fs1: FSScanInProgress"),
             "the wait on the archive job to be announced")
    run.proc.send_signal(sig)
    code, err = run.wait()
    assert code == EXIT_INTERRUPTED, err
    got = rows(report)
    assert sorted(str(r["path"]) for r in got) == ["/agent/a", "/agent/b/c"]
    for r in got:
        assert r["outcome"] == "unfinished", r
        assert "still running in Azure" in str(r["reason"]) and SHOW in str(r["reason"]), r
    assert sorted(failed.read_text().split()) == ["/agent/a", "/agent/b/c"]
    assert SHOW in err
    assert leftovers(tmp_path) == []
    assert lw.aml.fs.archive_status[0]["status"]["state"] == "FSScanInProgress"  # not ours


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=NAME)
def test_a_signal_during_the_lfs_wait_writes_every_record(
    lw: LustreWorld, tmp_path: Path, sig: int,
) -> None:
    lw.client.faults.hold = True
    a, b = lw.write("int/a", b"a"), lw.write("int/b", b"b")
    report, failed = tmp_path / "r.jsonl", tmp_path / "failed.txt"
    failed.write_text("/old/run\n")
    run = Amlfs(lw, tmp_path, "export", a, b, "--wait", "--report", str(report),
                "--failed-to", str(failed))
    side = LfsCommand(str(lw.client.bin_dir / "lfs"))
    wait_for(lambda: all(getattr(x, "pending_archive", False)
                         for x in side.actions([a, b]).values()), "the archive requests")
    run.proc.send_signal(sig)
    code, err = run.wait()
    lw.client.faults.hold = False
    assert code == EXIT_INTERRUPTED, err
    got = rows(report)
    assert sorted(str(r["path"]) for r in got) == sorted([a, b])
    assert {r["outcome"] for r in got} == {"unfinished"}
    assert sorted(failed.read_text().split()) == sorted([a, b])
    assert leftovers(tmp_path) == []


def test_a_sigterm_while_an_output_waits_for_its_reader_ends_export_before_it_starts(
    lw: LustreWorld, tmp_path: Path,
) -> None:
    a = lw.write("fifo/a", b"a")
    report, fifo = tmp_path / "r.jsonl", tmp_path / "failed.fifo"
    report.write_text('{"path":"old"}\n')
    release = unread_fifo(fifo)
    try:
        run = Amlfs(lw, tmp_path, "export", a, "--wait", "--report", str(report),
                    "--failed-to", str(fifo))
        wait_for(lambda: run.err.has(b"waiting up to 10 s for a reader"),
                 "the wait for the FIFO's reader to be announced")
        run.proc.send_signal(signal.SIGTERM)
        code, err = run.wait()
    finally:
        release()
    assert code == EXIT_INTERRUPTED, err
    assert err.splitlines()[-1] == (
        "hpccache: interrupted (SIGTERM) before any file was exported: no output was written, "
        "old files are as they were")
    assert report.read_text() == '{"path":"old"}\n'
    assert leftovers(tmp_path) == []
    assert lw.client.archived_count == 0


def test_a_sighup_while_export_closes_its_records_still_writes_them(
    lw: LustreWorld, tmp_path: Path,
) -> None:
    """After the run: the JUnit FIFO's wait for a reader (at the end) is cut short by the
    signal; the report and the failed list are written whole."""
    a = lw.write("end/a", b"a")
    missing = str(lw.root / "end" / "missing")
    report, failed, fifo = tmp_path / "r.jsonl", tmp_path / "f.lst", tmp_path / "junit.fifo"
    failed.write_text("/old/run\n")
    release = unread_fifo(fifo)
    try:
        run = Amlfs(lw, tmp_path, "export", a, missing, "--wait", "--report", str(report),
                    "--failed-to", str(failed), "--junit", str(fifo))
        wait_for(lambda: run.err.has(b"--junit " + bytes(fifo) + b": waiting up to"),
                 "the wait for the JUnit FIFO to be announced")
        run.proc.send_signal(signal.SIGHUP)
        code, err = run.wait()
    finally:
        release()
    assert code == EXIT_USAGE, err  # an output could not be written
    assert f"cannot write --junit {fifo}" in err
    got = {Path(str(r["path"])).name: r["outcome"] for r in rows(report)}
    assert got == {"a": "flushed", "missing": "failed"}
    assert failed.read_text() == missing + "\n"
    assert leftovers(tmp_path) == []


def slow_lfs(tmp: Path) -> tuple[Path, Path]:
    """An ``lfs`` that says it was asked (a file) and then never answers."""
    asked = tmp / "lfs-asked"
    prog = tmp / "slow-lfs"
    prog.write_text(f"#!/bin/sh\ntouch '{asked}'\nexec sleep 300\n")
    prog.chmod(0o755)
    return prog, asked


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=NAME)
def test_a_signal_while_state_judges_is_one_line_and_leaves_the_old_report(
    lw: LustreWorld, tmp_path: Path, sig: int,
) -> None:
    a = lw.write("st/a", b"a")
    prog, asked = slow_lfs(tmp_path)
    report = tmp_path / "state.jsonl"
    report.write_text('{"path":"old"}\n')
    run = Amlfs(lw, tmp_path, "state", a, "--lfs", str(prog), "--report", str(report))
    wait_for(asked.exists, "lfs to be asked")
    run.proc.send_signal(sig)
    code, err = run.wait()
    assert code == EXIT_INTERRUPTED, err
    assert err.splitlines() == [
        f"hpccache: interrupted ({signal.Signals(sig).name}) before any file was judged: no "
        "output was written, old files are as they were"]
    assert report.read_text() == '{"path":"old"}\n'
    assert leftovers(tmp_path) == []


def test_an_archive_job_that_outlives_the_timeout_fails_every_file_with_its_record(
    lw: LustreWorld, tmp_path: Path,
) -> None:
    """``--via archive-job --timeout``: the job still running in Azure at the deadline is an
    Azure error (one line, exit 3), and every file still gets its record (failed, with that
    line's words), so ``--failed-to`` lists them for the retry. Before: no record at all."""
    lw.write("late/a", b"a")
    lw.write("late/b", b"b")
    lw.aml.fs.faults.scan_seconds = 120.0  # the job stays in its scan past the timeout
    report, failed = tmp_path / "r.jsonl", tmp_path / "failed.txt"
    failed.write_text("/old/run\n")
    run = Amlfs(lw, tmp_path, "export", "-n", FS, "-g", RG, "--via", "archive-job",
                "--timeout", "2", "/late/a", "/late/b", *no_client(tmp_path), "--report",
                str(report), "--failed-to", str(failed), env={"PATH": os.environ.get("PATH", "")})
    code, err = run.wait(timeout=120)
    assert code == 3, err
    errors = [x for x in err.splitlines() if x.startswith("hpccache: error:")]
    assert len(errors) == 1 and "did not end within 2 s" in errors[0], err
    assert "still running in Azure" in errors[0] and SHOW in errors[0]
    got = rows(report)
    assert sorted(str(r["path"]) for r in got) == ["/late/a", "/late/b"]
    for r in got:
        assert r["outcome"] == "failed" and r["kind"] == "azure", r
        assert "did not end within 2 s" in str(r["reason"]), r
    assert sorted(failed.read_text().split()) == ["/late/a", "/late/b"]
    assert leftovers(tmp_path) == []
