"""No output can block a flush (issue 19, "Signals and outputs"): ``--report``,
``--failed-to`` and ``--junit`` on a FIFO, through real processes and real FIFOs.

Opening a FIFO nobody reads used to block forever before any flush, silently (and SIGTERM
then killed the run with the default action); a reader that opened it and took nothing
blocked the run at its end. Now the open waits at most 10 s, said at once on stderr, and a
reader that stops taking bytes fails that output alone after 10 s; the other outputs are
written all the same. The two "nobody" cases below each wait out those 10 s: that is the
behaviour under test.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from signals_support import (
    A1,
    Run,
    leftovers,
    no_stray_runs,  # noqa: F401  (autouse: no run outlives its test)
    unread_fifo,
)
from test_flush_support import assert_written_back, backend_file, dirty_cache, emulator

from hpccache_cli.errors import EXIT_SOME_FAILED, EXIT_USAGE


def _errors(err: bytes) -> list[str]:
    lines = err.decode().splitlines()
    assert not any("Traceback" in x for x in lines), err
    return [x for x in lines if x.startswith("hpccache: error:")]


def test_a_report_fifo_nobody_reads_is_refused_after_a_bounded_announced_wait(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    names = dirty_cache(tmp_path, ["q/a", "q/b"])
    fifo, failed = tmp_path / "report.fifo", tmp_path / "failed.lst"
    failed.write_bytes(b"old/list\n")
    release = unread_fifo(fifo)
    try:
        with emulator(tmp_path, [A1]) as emu:
            run = Run(emu, ["--report", str(fifo), "--failed-to", str(failed)], b"q/a\nq/b\n")
            wait_until(lambda: run.err.has(b"waiting up to 10 s for a reader of this FIFO"),
                       message="the wait for a reader was not announced")
            code = run.wait(timeout=60)
    finally:
        release()
    err = run.err.text()
    assert code == EXIT_USAGE, err
    assert _errors(err) == [f"hpccache: error: cannot write --report {fifo}: no reader opened "
                            "this FIFO in 10 s: start its reader first, or give a regular file"]
    assert not any(os.path.exists(backend_file(tmp_path, n)) for n in names)  # not started
    assert failed.read_bytes() == b"old/list\n" and leftovers(tmp_path) == []


def test_a_failed_list_fifo_whose_reader_comes_late_gets_the_list(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    """The usual case: ``cat fifo &`` started a moment after the run, not before."""
    names = dirty_cache(tmp_path, ["l/a", "l/b"])
    fifo = tmp_path / "failed.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    with emulator(tmp_path, [A1]) as emu:
        run = Run(emu, ["--failed-to", str(fifo)], b"l/a\nl/b\nl/missing\n")
        wait_until(lambda: run.err.has(b"--failed-to " + bytes(fifo) + b": waiting up to"),
                   message="the wait for a reader was not announced")
        reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
        reader.start()
        code = run.wait()
    reader.join(timeout=30)
    assert code == EXIT_SOME_FAILED, run.err.text()
    assert got == [b"l/missing\n"]
    assert_written_back(tmp_path, names)


def test_a_junit_fifo_nobody_reads_fails_alone_at_the_end(tmp_path: Path) -> None:
    """--junit is written at the end: the files are flushed, the report and failed list are
    whole, and the JUnit FIFO is given up after its bounded wait (exit 2, one line)."""
    names = dirty_cache(tmp_path, ["j/a", "j/b"])
    report, failed, fifo = tmp_path / "r.jsonl", tmp_path / "f.lst", tmp_path / "junit.fifo"
    release = unread_fifo(fifo)
    try:
        with emulator(tmp_path, [A1]) as emu:
            run = Run(emu, ["--report", str(report), "--failed-to", str(failed),
                            "--junit", str(fifo)], b"j/a\nj/b\nj/missing\n")
            code = run.wait(timeout=60)
    finally:
        release()
    err = run.err.text()
    assert code == EXIT_USAGE, err
    assert _errors(err) == [f"hpccache: error: cannot write --junit {fifo}: [Errno 6] no "
                            "reader opened this FIFO in 10 s: start its reader first, or give "
                            "a regular file"]
    assert len(report.read_text().splitlines()) == 3 and failed.read_bytes() == b"j/missing\n"
    assert_written_back(tmp_path, names)


def test_a_fifo_reader_that_takes_nothing_fails_that_output_alone(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    """The reader opens the FIFO and never reads: more than a pipe holds is written (long
    failed names), the run still ends, the failed list output fails with one line naming the
    stuck reader, and the report has every path."""
    long = "x" * 200
    missing = [f"s/{long}{i:04d}".encode() for i in range(600)]  # ~125 KB > a pipe's 64 KiB
    report, fifo = tmp_path / "r.jsonl", tmp_path / "failed.fifo"
    os.mkfifo(fifo)
    held: list[int] = []
    opener = threading.Thread(target=lambda: held.append(os.open(fifo, os.O_RDONLY)),
                              daemon=True)
    opener.start()  # opens (once the run opens its end) and never reads
    try:
        with emulator(tmp_path, [A1]) as emu:
            run = Run(emu, ["--report", str(report), "--failed-to", str(fifo)],
                      b"\n".join(missing) + b"\n")
            code = run.wait(timeout=90)
    finally:
        opener.join(timeout=30)
        for fd in held:
            os.close(fd)
    err = run.err.text()
    assert code == EXIT_USAGE, err
    assert _errors(err) == [f"hpccache: error: cannot write --failed-to {fifo}: [Errno 110] "
                            "its reader took nothing for 10 s (stuck) (0 results after it not "
                            "written)"]
    assert len(report.read_text().splitlines()) == len(missing)

