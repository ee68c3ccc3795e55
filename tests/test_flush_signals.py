"""SIGHUP and SIGTERM end a flush as Ctrl-C does (issue 19, "Signals and outputs"), through
real processes and real signals.

A closed terminal or a dropped ssh session (SIGHUP) used to kill the run on the spot: exit
129, no summary, no report, the previous run's failed list left in place without this run's
unflushed files, temporary files behind. Now every handled signal, wherever the run is (before
it, during it, while an output waits for a reader), ends with the summary, the records and
exit 130; a signal the user ignored (nohup) stays ignored. Readiness is observed (write-backs
paused and counted in the emulator, a line on stderr), never slept for.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest
from signals_support import (
    A1,
    FLUSH,
    Run,
    leftovers,
    no_stray_runs,  # noqa: F401  (autouse: no run outlives its test)
    unread_fifo,
)
from test_flush_support import (
    CLI,
    assert_written_back,
    backend_file,
    cli_env,
    dirty_cache,
    emulator,
)

from hpccache_cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE


def _report(path: Path) -> dict[str, dict[str, object]]:
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == len({x["path"] for x in lines}), "a path was reported twice"
    return {str(x["path"]): x for x in lines}


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_hangup_and_term_mid_run_write_summary_report_and_failed_list(
    tmp_path: Path, wait_until: Callable[..., object], sig: signal.Signals
) -> None:
    names = dirty_cache(tmp_path, [f"h/f{i:03d}" for i in range(60)])
    report, failed = tmp_path / "report.jsonl", tmp_path / "failed.lst"
    failed.write_bytes(b"previous/run\n")  # must be replaced by this run's list
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)
        run = Run(emu, ["--concurrency", "6", "--report", str(report),
                        "--failed-to", str(failed)], b"\n".join(names) + b"\n")
        wait_until(lambda: emu.run(wb.running_count) == 6, message="flushes not in flight")
        assert leftovers(tmp_path)  # the records are being written beside their targets
        run.signal(sig)
        code = run.wait()
        emu.run(wb.resume)
    err = run.err.text()
    assert code == EXIT_INTERRUPTED, err
    assert set(_report(report)) == {n.decode() for n in names}
    assert sorted(failed.read_bytes().split(b"\n")[:-1]) == sorted(names)
    assert b"interrupted" in run.out.text()  # the summary
    assert f"hpccache: interrupted ({sig.name}): 60 paths unfinished".encode() in err
    assert b"Traceback" not in err
    assert leftovers(tmp_path) == []


def test_signals_ignored_at_start_stay_ignored(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    """``nohup hpccache flush ... &`` from a script: SIGHUP and SIGINT are ignored by the
    parent's choice; the run must survive them and finish its work."""
    names = dirty_cache(tmp_path, [f"n/f{i:02d}" for i in range(12)])
    failed = tmp_path / "failed.lst"
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)
        run = Run(emu, ["--concurrency", "4", "--failed-to", str(failed)],
                  b"\n".join(names) + b"\n", ignore=[signal.SIGHUP, signal.SIGINT])
        wait_until(lambda: emu.run(wb.running_count) == 4, message="flushes not in flight")
        run.signal(signal.SIGHUP)
        run.signal(signal.SIGINT)
        emu.run(wb.resume)
        code = run.wait()
    err = run.err.text()
    assert code == EXIT_OK, err
    assert b"interrupted" not in err and failed.read_bytes() == b""
    assert_written_back(tmp_path, names)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_a_signal_while_an_output_waits_for_its_reader_ends_the_run_before_it_starts(
    tmp_path: Path, wait_until: Callable[..., object], sig: signal.Signals
) -> None:
    """``--failed-to`` a FIFO nobody reads: the wait is announced, and a signal during it ends
    the run at once: one line, exit 130, nothing flushed, the report's old file untouched
    and its temporary file gone (it was open when the signal came)."""
    names = dirty_cache(tmp_path, ["w/a", "w/b"])
    report, fifo = tmp_path / "report.jsonl", tmp_path / "failed.fifo"
    report.write_text('{"path":"old"}\n')
    release = unread_fifo(fifo)
    try:
        with emulator(tmp_path, [A1]) as emu:
            run = Run(emu, ["--report", str(report), "--failed-to", str(fifo)], b"w/a\nw/b\n")
            wait_until(lambda: run.err.has(b"waiting up to 10 s for a reader"),
                       message="the wait for the FIFO's reader was not announced")
            assert leftovers(tmp_path)  # the report's temporary file is open
            run.signal(sig)
            code = run.wait(timeout=30)
    finally:
        release()
    err = run.err.text()
    assert code == EXIT_INTERRUPTED, err
    lines = err.decode().splitlines()
    assert lines[-1] == (f"hpccache: interrupted ({sig.name}) before any file was flushed: "
                         "no output was written, old files are as they were")
    assert not any("Traceback" in x for x in lines)
    assert report.read_text() == '{"path":"old"}\n'
    assert leftovers(tmp_path) == []
    assert not any(os.path.exists(backend_file(tmp_path, n)) for n in names)  # not flushed


def test_a_signal_while_the_junit_fifo_waits_at_the_end_cuts_the_wait_short(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    """After the run: the report and failed list are written whatever happens; the JUnit
    FIFO's wait for a reader ends at the signal (not after its 10 s) with one line."""
    names = dirty_cache(tmp_path, ["e/a", "e/b"])
    report, failed, fifo = tmp_path / "r.jsonl", tmp_path / "f.lst", tmp_path / "junit.fifo"
    release = unread_fifo(fifo)
    try:
        with emulator(tmp_path, [A1]) as emu:
            run = Run(emu, ["--report", str(report), "--failed-to", str(failed),
                            "--junit", str(fifo)], b"e/a\ne/b\ne/missing\n")
            wait_until(lambda: run.err.has(b"--junit " + bytes(fifo) + b": waiting up to"),
                       timeout=30, message="the wait for the JUnit FIFO was not announced")
            run.signal(signal.SIGHUP)
            code = run.wait(timeout=30)
    finally:
        release()
    err = run.err.text()
    assert code == EXIT_USAGE, err  # an output could not be written
    errors = [x for x in err.decode().splitlines() if x.startswith("hpccache: error:")]
    assert errors == [f"hpccache: error: cannot write --junit {fifo}: [Errno 4] interrupted "
                      "while waiting for a reader of this FIFO"]
    assert set(_report(report)) == {"e/a", "e/b", "e/missing"}
    assert failed.read_bytes() == b"e/missing\n"
    assert leftovers(tmp_path) == []
    assert_written_back(tmp_path, names)


def test_a_closed_terminal_ends_the_run_with_its_records(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    """The real thing: the run's controlling terminal (a pty) goes away, as when a terminal
    window is closed or an ssh session drops. The kernel sends SIGHUP and every later write to
    the terminal fails; the run still stops cleanly, writes its records and exits 130,
    without a traceback (the console is simply gone)."""
    names = dirty_cache(tmp_path, [f"t/f{i:02d}" for i in range(30)])
    report, failed = tmp_path / "report.jsonl", tmp_path / "failed.lst"
    master, slave = pty.openpty()
    terminal = os.ttyname(slave)

    def own_terminal() -> None:  # a login shell's child: its own session, the pty its terminal
        os.setsid()
        fd = os.open(terminal, os.O_RDWR)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)

    def drained() -> None:
        with contextlib.suppress(OSError):
            while os.read(master, 65536):
                pass

    os.set_blocking(master, False)
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)
        proc = subprocess.Popen(
            CLI + [*FLUSH, "--concurrency", "5", "--report", str(report), "--failed-to",
                   str(failed)], stdin=subprocess.PIPE, env=cli_env(emu),
            preexec_fn=own_terminal)
        os.close(slave)
        try:
            assert proc.stdin is not None
            proc.stdin.write(b"\n".join(names) + b"\n")
            proc.stdin.close()
            wait_until(lambda: (drained(), emu.run(wb.running_count) == 5)[1],
                       message="flushes not in flight")
            drained()
            os.close(master)  # the terminal is gone: SIGHUP to its session's leader
            master = -1
            code = proc.wait(timeout=60)
        finally:
            if master >= 0:
                os.close(master)
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        emu.run(wb.resume)
    assert code == EXIT_INTERRUPTED
    assert set(_report(report)) == {n.decode() for n in names}
    assert sorted(failed.read_bytes().split(b"\n")[:-1]) == sorted(names)
    assert leftovers(tmp_path) == []


def test_a_run_stopped_by_sigterm_still_gives_its_junit_fifo_reader_the_bounded_wait(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    """The signal that stopped the run is not one that came during the JUnit FIFO's wait: the
    reader, started late, still gets the whole report, unfinished files as failures."""
    names = dirty_cache(tmp_path, [f"u/f{i}" for i in range(6)])
    fifo = tmp_path / "junit.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)
        run = Run(emu, ["--concurrency", "3", "--junit", str(fifo)], b"\n".join(names) + b"\n")
        wait_until(lambda: emu.run(wb.running_count) == 3, message="flushes not in flight")
        run.signal(signal.SIGTERM)
        wait_until(lambda: run.err.has(b"--junit " + bytes(fifo) + b": waiting up to"),
                   message="the wait for the JUnit FIFO was not announced")
        reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
        reader.start()
        code = run.wait()
        emu.run(wb.resume)
    reader.join(timeout=30)
    assert code == EXIT_INTERRUPTED, run.err.text()
    suite = ElementTree.fromstring(got[0]).find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("6", "6")


def test_sighup_during_a_fallback_target_flush_interrupts_it_as_ctrl_c_does(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    """After the per-file run, ``--fallback target-flush`` waits on Azure; SIGHUP there stops
    the wait (the target flush may go on in Azure, as the summary says) and the held-back
    records are written as they were: still failed, still in the failed list."""
    from flush_cache_support import A_JUNCTION, A_ROOT, BY_NAME, world

    report, failed = tmp_path / "report.jsonl", tmp_path / "failed.lst"
    path = "/NAS_12_exp5/g/a"
    with world(tmp_path, faults={"down_addresses": [A_ROOT, A_JUNCTION]}) as w:
        w.dirty(path)
        wb = w.emu.namespace.writeback
        w.emu.run(wb.pause)  # the target flush starts its write-back and stays running
        proc = subprocess.Popen(
            CLI + ["flush", *BY_NAME, "--fallback", "target-flush", "--report", str(report),
                   "--failed-to", str(failed), path], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=w.env())
        try:
            wait_until(lambda: w.emu.run(wb.running_count) == 1, timeout=60,
                       message="the target flush did not start")
            proc.send_signal(signal.SIGHUP)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=30)
            w.emu.run(wb.resume)
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert b"Traceback" not in err
    assert b"interrupted" in out
    assert _report(report)[path]["outcome"] == "failed"
    assert failed.read_bytes() == path.encode() + b"\n"
    assert leftovers(tmp_path) == []


def test_a_signal_between_opening_the_outputs_and_the_engine_start_stops_it_at_once() -> None:
    """In this process, with real signals: the window between the two phases is where a
    signal can be neither raised (outputs are open) nor given to the loop (not running yet);
    it is noted and the engine is stopped as soon as it starts; a second one also stops
    input reading. No instant without our handler when the loop's handlers go."""
    import asyncio

    from hpccache_cli.cli.flush.interrupts import Interrupts

    before = signal.getsignal(signal.SIGHUP)
    interrupts = Interrupts().install()
    stops: list[str] = []
    try:
        interrupts.hold()
        os.kill(os.getpid(), signal.SIGHUP)  # noted, not raised
        os.kill(os.getpid(), signal.SIGTERM)
        assert interrupts.count() == 2

        async def engine() -> None:
            loop = asyncio.get_running_loop()
            interrupts.route(loop, lambda: stops.append("stop"))
            try:
                assert stops == ["stop", "stop"]  # replayed before any work
                os.kill(os.getpid(), signal.SIGHUP)  # now through the loop
                await asyncio.wait_for(_until(lambda: len(stops) == 3), timeout=10)
            finally:
                interrupts.unroute(loop)

        asyncio.run(engine())
        assert signal.getsignal(signal.SIGHUP) == interrupts._on_signal
        assert interrupts.first == "SIGHUP" and interrupts.count() == 3
    finally:
        interrupts.restore()
    assert signal.getsignal(signal.SIGHUP) == before


async def _until(predicate: Callable[[], bool]) -> None:
    import asyncio

    while not predicate():
        await asyncio.sleep(0.01)
