"""The user's files are safe from the tool's own outputs (issue 11, sections 1 to 3), as a user
runs ``hpccache flush``: a subprocess over TCP against the emulator in this process.

1. An output never destroys an input or another output (same file by inode: links and
   ``/dev/fd`` paths count), and record files appear whole at the end of the run.
2. An output that cannot be written (``/dev/full``, a closed pipe) fails on its own: the
   other outputs still get every result, one error line names the file and errno, exit 2;
   a closed stderr does not stop a flush whose records are fine.
3. A name holding the failed list's separator is never written into it as a split record.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

from test_flush_support import CLI, assert_written_back, cli_env, dirty_cache, emulator
from test_flush_support import run_cli as run

from hpccache_cli.errors import EXIT_SOME_FAILED, EXIT_USAGE

A1 = "127.0.0.40"
FLUSH = ["flush", "--ip", A1, "--export", "/NAS_12_exp5"]


def error_lines(stderr: bytes) -> list[str]:
    lines = stderr.decode().splitlines()
    assert not any("Traceback" in x or "Exception ignored" in x for x in lines), stderr
    return [x for x in lines if x.startswith("hpccache: error:")]


def report_paths(path: Path) -> list[str]:
    return [json.loads(x)["path"] for x in path.read_text().splitlines()]


# -- 1. outputs never destroy inputs or each other ----------------------------------------------

def test_retry_loop_reads_the_list_before_replacing_it(tmp_path: Path) -> None:
    """``--from-file retry.lst --failed-to retry.lst``: the natural retry loop."""
    names = dirty_cache(tmp_path, [f"r/f{i}" for i in range(20)])
    retry = tmp_path / "retry.lst"
    retry.write_bytes(b"\n".join(names + [b"r/gone1", b"r/gone2"]) + b"\n")
    with emulator(tmp_path, [A1]) as emu:
        proc = run([*FLUSH, "-o", "json", "--from-file", str(retry), "--failed-to",
                    str(retry)], cli_env(emu))
    assert proc.returncode == EXIT_SOME_FAILED, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["total"], summary["flushed"], summary["failed"]) == (22, 20, 2)
    assert sorted(retry.read_bytes().split(b"\n")) == [b"", b"r/gone1", b"r/gone2"]
    assert_written_back(tmp_path, names)


def test_an_output_named_through_dev_fd_is_the_input_too(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["d/one", "d/two"])
    retry = tmp_path / "retry.lst"
    retry.write_bytes(b"d/one\nd/missing\nd/two\n")
    fd = os.open(retry, os.O_RDONLY)
    try:
        with emulator(tmp_path, [A1]) as emu:
            proc = run([*FLUSH, "--from-file", str(retry), "--failed-to", f"/dev/fd/{fd}"],
                       cli_env(emu), pass_fds=(fd,))
    finally:
        os.close(fd)
    assert proc.returncode == EXIT_SOME_FAILED, proc.stderr
    assert retry.read_bytes() == b"d/missing\n"
    assert_written_back(tmp_path, names)


def test_two_outputs_on_one_file_are_refused_before_anything(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["t/a"])
    old = tmp_path / "out.txt"
    old.write_bytes(b"yesterday's list\n")
    (tmp_path / "link.txt").symlink_to(old)
    with emulator(tmp_path, [A1]) as emu:
        for other in (old, tmp_path / "link.txt"):
            proc = run([*FLUSH, "--report", str(old), "--failed-to", str(other), "t/a"],
                       cli_env(emu))
            assert proc.returncode == EXIT_USAGE, proc.stderr
            [line] = error_lines(proc.stderr)
            assert "--report and --failed-to name the same file" in line
        dirty = emu.namespace.dirty_files()
    assert old.read_bytes() == b"yesterday's list\n"
    assert len(dirty) == len(names)  # refused before any flush


def test_an_output_on_a_pipe_being_read_is_refused(tmp_path: Path) -> None:
    dirty_cache(tmp_path, ["p/a"])
    with emulator(tmp_path, [A1]) as emu:
        proc = run([*FLUSH, "--failed-to", "/dev/stdin"], cli_env(emu), b"p/a\n")
    assert proc.returncode == EXIT_USAGE, proc.stderr
    [line] = error_lines(proc.stderr)
    assert "--failed-to /dev/stdin is the input being read" in line


def test_records_replace_the_old_files_only_at_the_end(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    """While the run goes the old lists stay whole; at the end the new ones replace them."""
    names = dirty_cache(tmp_path, [f"w/f{i:02d}" for i in range(40)])
    report, failed = tmp_path / "report.jsonl", tmp_path / "failed.lst"
    report.write_text('{"path":"old"}\n')
    failed.write_bytes(b"old/one\nold/two\n")
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)
        proc = subprocess.Popen(
            CLI + [*FLUSH, "--concurrency", "4", "--report", str(report), "--failed-to",
                   str(failed), "--from-file", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=cli_env(emu))
        assert proc.stdin is not None
        proc.stdin.write(b"\n".join(names) + b"\n")
        proc.stdin.close()
        wait_until(lambda: emu.run(wb.running_count) == 4, message="flushes not in flight")
        assert failed.read_bytes() == b"old/one\nold/two\n"  # not truncated mid-run
        assert report_paths(report) == ["old"]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        emu.run(wb.resume)
    assert proc.stdout is not None and proc.stderr is not None
    with proc.stdout, proc.stderr:
        err = proc.stderr.read()
    assert proc.returncode == 130, err
    assert sorted(failed.read_bytes().split(b"\n")[:-1]) == sorted(names)
    assert sorted(report_paths(report)) == sorted(n.decode() for n in names)
    assert [p.name for p in tmp_path.iterdir() if "hpccache-tmp" in p.name] == []


def test_retry_loop_stopped_twice_keeps_every_path_in_the_list(
    tmp_path: Path, wait_until: Callable[..., object]
) -> None:
    """Two Ctrl-Cs may stop reading the list before its end: then the list is not replaced
    (the paths not read would go with it); if it was read to the end, the new list holds
    every path, none being done. Either way no path leaves the list."""
    names = dirty_cache(tmp_path, [f"x/f{i}" for i in range(8)])
    names += [f"x/later{i:05d}".encode() for i in range(20000)]
    retry = tmp_path / "retry.lst"
    retry.write_bytes(b"\n".join(names) + b"\n")
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)
        proc = subprocess.Popen(
            CLI + [*FLUSH, "--concurrency", "8", "--from-file", str(retry), "--failed-to",
                   str(retry)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=cli_env(emu))
        wait_until(lambda: emu.run(wb.running_count) == 8, message="flushes not in flight")
        proc.send_signal(signal.SIGINT)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        emu.run(wb.resume)
    assert proc.stderr is not None
    with proc.stderr:
        err = proc.stderr.read()
    assert proc.returncode in (130, EXIT_USAGE), err
    assert sorted(retry.read_bytes().split(b"\n")[:-1]) == sorted(names)
    if proc.returncode == EXIT_USAGE:
        [line] = error_lines(err)
        assert "is also the input, which was not read to the end: left as it was" in line
    assert [p.name for p in tmp_path.iterdir() if "hpccache-tmp" in p.name] == []


def test_a_list_that_is_the_input_is_kept_when_the_input_was_not_read_to_the_end(
    tmp_path: Path,
) -> None:
    """In process, made certain: the input (a pipe whose writer stays open) never ends, the
    run is stopped; the failed list standing for the input file must not replace it."""
    from test_flush_support import FAST, Recorder

    from hpccache_cli.cli.flush.runner import _run
    from hpccache_cli.flush.api import make_options
    from hpccache_cli.flush.engine import FlushEngine
    from hpccache_cli.flush.inputs import ThreadedReader
    from hpccache_cli.flush.outputs import OutputFile
    from hpccache_cli.flush.resolve import ExportResolver
    from hpccache_cli.flush.sinks import FailedList, MultiSink

    names = dirty_cache(tmp_path, ["k/a", "k/b"])
    retry = tmp_path / "retry.lst"
    retry.write_bytes(b"k/a\nk/b\nk/never-read\n")
    failed = FailedList(OutputFile.open(str(retry), "--failed-to"), b"\n")
    read_end, write_end = os.pipe()
    os.write(write_end, b"\n".join(names) + b"\n")  # the rest is never written
    engines: list[FlushEngine] = []
    stop = Recorder(lambda _result: engines[0].request_stop())
    try:
        with emulator(tmp_path, [A1]) as emu:
            options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                                   policies=FAST)
            engines.append(FlushEngine(ExportResolver([A1], "/NAS_12_exp5"), options,
                                       MultiSink([failed, stop])))
            summary, _ = _run(engines[0], ThreadedReader(read_end, b"\n"), None, None,
                              [failed])
    finally:
        os.close(write_end)
        os.close(read_end)
    assert summary.interrupted and not summary.input_complete
    assert retry.read_bytes() == b"k/a\nk/b\nk/never-read\n"
    [problem] = failed.problems()
    assert "is also the input, which was not read to the end: left as it was" in problem
    assert [p.name for p in tmp_path.iterdir() if "hpccache-tmp" in p.name] == []


# -- 2. an output that cannot be written loses nothing silently ---------------------------------

def test_full_disk_report_leaves_the_failed_list_whole(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"full/f{i:03d}" for i in range(150)])
    missing = [f"full/missing{i:03d}".encode() for i in range(60)]
    failed = tmp_path / "failed.lst"
    with emulator(tmp_path, [A1]) as emu:
        proc = run([*FLUSH, "--report", "/dev/full", "--failed-to", str(failed)], cli_env(emu),
                   b"\n".join(names + missing) + b"\n")
    assert proc.returncode == EXIT_USAGE, proc.stderr
    [line] = error_lines(proc.stderr)
    assert "cannot write --report /dev/full: [Errno 28] No space left on device" in line
    assert sorted(failed.read_bytes().split(b"\n")[:-1]) == missing  # every failure listed
    assert_written_back(tmp_path, names)  # the run went on: the report is no reason to stop


def test_report_to_a_closed_stdout_leaves_the_failed_list_whole(tmp_path: Path) -> None:
    """``--report /dev/stdout | head -1``, made certain: the pipe's reader is gone at once."""
    names = dirty_cache(tmp_path, [f"so/f{i:03d}" for i in range(120)])
    missing = [f"so/missing{i:03d}".encode() for i in range(30)]
    failed = tmp_path / "failed.lst"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        with emulator(tmp_path, [A1]) as emu:
            proc = run([*FLUSH, "--report", "/dev/stdout", "--failed-to", str(failed)],
                       cli_env(emu), b"\n".join(names + missing) + b"\n",
                       capture_output=False, stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    [line] = error_lines(proc.stderr)
    assert "cannot write --report /dev/stdout: [Errno 32] Broken pipe" in line
    assert sorted(failed.read_bytes().split(b"\n")[:-1]) == missing
    assert_written_back(tmp_path, names)


def test_closed_stderr_does_not_stop_a_flush_whose_records_are_fine(tmp_path: Path) -> None:
    """``2>&1 | head -1``: stdout and stderr both into a pipe nobody reads any more."""
    names = dirty_cache(tmp_path, [f"se/f{i:03d}" for i in range(80)])
    missing = [f"se/missing{i:03d}".encode() for i in range(40)]  # a stderr line each
    report, failed = tmp_path / "report.jsonl", tmp_path / "failed.lst"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        with emulator(tmp_path, [A1]) as emu:
            proc = run([*FLUSH, "-v", "--report", str(report), "--failed-to", str(failed)],
                       cli_env(emu), b"\n".join(names + missing) + b"\n",
                       capture_output=False, stdout=write_end, stderr=write_end)
    finally:
        os.close(write_end)
    assert proc.returncode == EXIT_SOME_FAILED  # the run's own code: some files failed
    assert len(report_paths(report)) == len(names) + len(missing)
    assert sorted(failed.read_bytes().split(b"\n")[:-1]) == missing
    assert_written_back(tmp_path, names)


# -- 3. names cannot corrupt newline-separated outputs ------------------------------------------

def test_found_name_with_a_newline_is_not_split_in_the_failed_list(tmp_path: Path) -> None:
    odd = b"nl/bad\nname"
    dirty_cache(tmp_path, [odd, b"nl/fine", b"nl/stuck"])
    report, failed = tmp_path / "report.jsonl", tmp_path / "failed.lst"
    faults = {"failing_paths": ["/NAS_12_exp5/nl/bad\nname", "/NAS_12_exp5/nl/stuck"]}
    with emulator(tmp_path, [A1], faults=faults) as emu:
        env = cli_env(emu)
        proc = run([*FLUSH, "--recursive", "--mode", "sync", "--report", str(report),
                    "--failed-to", str(failed)], env, b"nl\n")
        bare = run([*FLUSH, "--recursive", "--mode", "sync", "--failed-to", str(failed)],
                   env, b"nl\n")
    assert proc.returncode == EXIT_SOME_FAILED, proc.stderr
    assert failed.read_bytes() == b"nl/stuck\n"  # never "nl/bad" + "name" as two paths
    assert "1 failed or unfinished path has a newline in the name" in proc.stderr.decode()
    lines = {x["path"]: x for x in map(json.loads, report.read_text().splitlines())}
    bad = lines[odd.decode()]
    assert bad["outcome"] == "failed" and bad["path_b64"] == "bmwvYmFkCm5hbWU="
    # Without a report nothing holds that failure: results unwritable.
    assert bare.returncode == EXIT_USAGE, bare.stderr
    [line] = error_lines(bare.stderr)
    assert "cannot be listed in --failed-to" in line and "add --report FILE" in line
    assert failed.read_bytes() == b"nl/stuck\n"


def test_summary_to_a_full_stdout_with_stderr_closed_still_flushes(tmp_path: Path) -> None:
    """``> /dev/full 2>&-``: the console is gone, the run is not; its own exit code."""
    names = dirty_cache(tmp_path, [f"fo/f{i:02d}" for i in range(30)])
    report = tmp_path / "report.jsonl"
    with emulator(tmp_path, [A1]) as emu, open("/dev/full", "wb") as full:
        proc = subprocess.run(
            ["sh", "-c", 'exec "$@" 2>&-', "sh", *CLI, *FLUSH, "-v", "-o", "json",
             "--report", str(report)],
            input=b"\n".join(names) + b"\n", stdout=full, env=cli_env(emu), timeout=60,
            check=False)
    assert proc.returncode == 0
    assert sorted(report_paths(report)) == sorted(n.decode() for n in names)
    assert_written_back(tmp_path, names)


def test_junit_to_a_fifo_is_written_into_it_not_renamed_over_it(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["j/a", "j/b"])
    fifo = tmp_path / "junit.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    with emulator(tmp_path, [A1]) as emu:
        proc = run([*FLUSH, "--junit", str(fifo)], cli_env(emu), b"j/a\nj/b\nj/missing\n")
    reader.join(timeout=30)
    if reader.is_alive():  # nothing was written into the FIFO: unblock the reader, then fail
        with open(fifo, "wb"):
            pass
        reader.join(timeout=30)
    assert proc.returncode == EXIT_SOME_FAILED, proc.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the FIFO, not a regular file
    suite = ElementTree.fromstring(got[0]).find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("3", "1")
    assert_written_back(tmp_path, names)
