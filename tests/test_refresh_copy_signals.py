"""SIGTERM and SIGHUP end ``refresh`` and ``copy`` as they end ``flush``, in every phase, through
real processes and real signals.

Before, the two commands handled signals only while their engine ran: a SIGTERM while an
output waited for its FIFO's reader (before the run) or while the records were being closed
(after it) took the default action, so the process died on the spot with the old failed list
in place and its temporary files behind. Readiness is observed (a line on stderr), never
slept for.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

from signals_support import (
    A1,
    Run,
    leftovers,
    no_stray_runs,  # noqa: F401  (autouse: no run outlives its test)
    unread_fifo,
)
from test_flush_support import dirty_cache, emulator

from hpccache_cli.errors import EXIT_INTERRUPTED, EXIT_USAGE

EXPORT = ["--ip", A1, "--export", "/NAS_12_exp5"]


def test_a_sigterm_while_refresh_waits_for_a_fifo_reader_ends_it_before_it_starts(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    dirty_cache(tmp_path, ["r/a"])
    report, fifo = tmp_path / "report.jsonl", tmp_path / "failed.fifo"
    report.write_text('{"path":"old"}\n')
    release = unread_fifo(fifo)
    try:
        with emulator(tmp_path, [A1]) as emu:
            run = Run(emu, ["--report", str(report), "--failed-to", str(fifo), "r"],
                      command=["refresh", *EXPORT])
            wait_until(lambda: run.err.has(b"waiting up to 10 s for a reader"), timeout=60,
                       message="the wait for the FIFO's reader was not announced")
            assert leftovers(tmp_path)  # the report's temporary file is open
            run.signal(signal.SIGTERM)
            code = run.wait(timeout=30)
    finally:
        release()
    err = run.err.text().decode()
    assert code == EXIT_INTERRUPTED, err
    assert err.splitlines()[-1] == (
        "hpccache: interrupted (SIGTERM) before any path was refreshed: no output was written, "
        "old files are as they were")
    assert "Traceback" not in err
    assert report.read_text() == '{"path":"old"}\n'
    assert leftovers(tmp_path) == []


def test_a_sighup_while_copy_closes_its_records_still_writes_them(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    """After the run: the JUnit FIFO's wait for a reader (at the end) is cut short by the
    signal, and the report and failed list are still written whole."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(b"a" * 1000)
    missing = src / "missing"
    report, failed, fifo = tmp_path / "r.jsonl", tmp_path / "f.lst", tmp_path / "junit.fifo"
    failed.write_bytes(b"previous/run\n")  # must be replaced by this run's list
    release = unread_fifo(fifo)
    dirty_cache(tmp_path, ["dest/keep"])
    try:
        with emulator(tmp_path, [A1]) as emu:
            run = Run(emu, ["--report", str(report), "--failed-to", str(failed),
                            "--junit", str(fifo), str(src / "a"), str(missing), "dest"],
                      command=["copy", *EXPORT])
            wait_until(lambda: run.err.has(b"--junit " + bytes(fifo) + b": waiting up to"),
                       timeout=60, message="the wait for the JUnit FIFO was not announced")
            run.signal(signal.SIGHUP)
            code = run.wait(timeout=30)
    finally:
        release()
    err = run.err.text().decode()
    assert code == EXIT_USAGE, err  # an output could not be written
    assert "Traceback" not in err
    assert f"hpccache: error: cannot write --junit {fifo}: [Errno 4] interrupted while " \
        "waiting for a reader of this FIFO" in err
    outcomes = {os.path.basename(x.split('"path":"')[1].split('"')[0])
                for x in report.read_text().splitlines()}
    assert outcomes == {"a", "missing"}
    assert failed.read_bytes() == os.fsencode(missing) + b"\n"
    assert leftovers(tmp_path) == []
