"""A flush with nothing to read (issue #14): known empty before anything is read, it ends
without the engine, with the summary, output files and exit code of any other run.

What decides it (``hpccache_cli.flush.inputs.known_empty``) is checked on real descriptors:
regular files, ``/dev/null``, pipes open and closed. The stand-in for the engine
(``hpccache_cli.cli.flush.no_input.NothingToRead``) is held to the engine's own summary of an
empty input. The commands are run as a user runs them, in a subprocess; which modules they
load is tests/test_cli_startup.py's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_flush_support import CLI, ROOT

from hpccache_cli.cli.flush.no_input import NothingToRead, make_engine
from hpccache_cli.flush.engine import FlushEngine
from hpccache_cli.flush.inputs import (
    IterableSource,
    StrippedSource,
    ThreadedReader,
    known_empty,
    open_source,
)
from hpccache_cli.flush.options import FlushOptions
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.results import FileResult, FlushSummary
from hpccache_cli.flush.sinks import Sink

EXPORT, IP = "/NAS_12_exp5", "127.0.0.1"


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        with contextlib.suppress(OSError):  # (closed by the test)
            os.close(fd)


def reader(fd: int) -> ThreadedReader:
    return ThreadedReader(fd, b"\n")


def test_a_file_without_records_is_known_empty(tmp_path: Path) -> None:
    for name, data, empty in (("empty", b"", True), ("blank", b"\n\n\n", True),
                              ("one", b"\na\n", False), ("unterminated", b"a", False)):
        path = tmp_path / name
        path.write_bytes(data)
        with path.open("rb") as fh:
            assert known_empty(reader(fh.fileno())) is empty, name


def test_dev_null_is_known_empty_and_other_devices_are_not() -> None:
    with open(os.devnull, "rb") as null, open("/dev/zero", "rb") as zero:
        assert known_empty(reader(null.fileno()))
        assert not known_empty(reader(zero.fileno()))


def test_a_pipe_is_known_empty_only_once_closed_and_drained(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    assert not known_empty(reader(read_end))  # open: its writer may still write
    os.write(write_end, b"a\n")
    assert not known_empty(reader(read_end))
    os.close(write_end)
    assert not known_empty(reader(read_end))  # closed, but a path is waiting in it
    assert os.read(read_end, 100) == b"a\n"
    assert known_empty(reader(read_end))


def test_a_list_file_never_read_is_closed(tmp_path: Path) -> None:
    listing = tmp_path / "list"
    listing.write_bytes(b"")
    source, _ = open_source(None, str(listing), b"\n")
    assert isinstance(source, ThreadedReader) and source.fd is not None and known_empty(source)
    NothingToRead(FlushOptions(), Sink()).run(source)
    with pytest.raises(OSError):
        os.fstat(source.fd)


def test_wrapped_and_listed_sources(tmp_path: Path) -> None:
    with open(os.devnull, "rb") as null:
        assert known_empty(StrippedSource(reader(null.fileno())))
    assert known_empty(IterableSource([]))
    assert not known_empty(IterableSource(["a"]))
    assert not known_empty(IterableSource(iter([])))  # a generator: unknown until iterated
    source, _ = open_source(["x"], None, b"\n")
    assert not known_empty(source)


class Attached(Sink):
    """Records what the run gives its sink."""

    def __init__(self) -> None:
        self.summaries: list[FlushSummary] = []
        self.results: list[FileResult] = []
        self.closed = False

    def attach(self, summary: FlushSummary) -> None:
        self.summaries.append(summary)

    def emit(self, result: FileResult) -> None:
        self.results.append(result)

    def close(self) -> None:
        self.closed = True


def comparable(summary: FlushSummary) -> dict[str, Any]:
    data = dataclasses.asdict(summary)
    assert data.pop("seconds") >= 0
    return data


@pytest.mark.parametrize("options", [
    FlushOptions(), FlushOptions(mode="sync"), FlushOptions(status_only=True),
    FlushOptions(wait=False), FlushOptions(recursive=True),
], ids=["async", "sync", "status-only", "no-wait", "recursive"])
@pytest.mark.parametrize("make_source", [
    lambda: IterableSource([]), lambda: StrippedSource(IterableSource([])),
], ids=["list", "stripped"])
def test_the_stand_in_gives_the_engines_summary(options: FlushOptions,
                                               make_source: Any) -> None:
    """The engine run on an empty input (it connects nowhere) and the stand-in agree on
    every field of the summary but the time, and both attach it to their sink."""
    resolver = ExportResolver([IP], EXPORT)
    by_engine, by_stand_in = Attached(), Attached()
    engine_summary = asyncio.run(FlushEngine(resolver, options, by_engine).run(make_source()))
    chosen = make_engine(make_source(), resolver, options, by_stand_in)
    assert isinstance(chosen, NothingToRead)
    stand_in_summary = chosen.run(make_source())
    assert comparable(stand_in_summary) == comparable(engine_summary)
    assert by_stand_in.summaries == [stand_in_summary]
    assert by_engine.summaries == [engine_summary]
    assert by_stand_in.results == by_engine.results == []


def test_input_goes_to_the_engine() -> None:
    chosen = make_engine(IterableSource(["a"]), ExportResolver([IP], EXPORT), FlushOptions(),
                         Sink())
    assert isinstance(chosen, FlushEngine)


# --- as a user runs it ----------------------------------------------------------------------


def run(args: list[str], stdin: Any = subprocess.DEVNULL,
        data: str | None = None) -> subprocess.CompletedProcess[str]:
    """``hpccache ARGS`` with stdin from ``stdin`` (default /dev/null), or ``data`` through a
    pipe closed once written."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(CLI + args, stdin=None if data is not None else stdin, input=data,
                          capture_output=True, text=True, env=env, timeout=120, check=False)


TOTAL = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: Total elapsed time \d+\.\d{6}\n")


@pytest.mark.parametrize("given", ["dev-null", "closed-pipe", "blank-lines-file"])
def test_flush_file_with_nothing_to_read_prints_its_total(given: str, tmp_path: Path) -> None:
    """flush_file.py's closing line and exit 0, as before, however the empty input comes."""
    listing = tmp_path / "list"
    listing.write_bytes(b"\n \n\n")
    with listing.open("rb") as fh:
        proc = run(["flush-file", EXPORT, IP], stdin=fh if given == "blank-lines-file"
                   else subprocess.DEVNULL, data="" if given == "closed-pipe" else None)
    assert (proc.returncode, proc.stdout) == (0, ""), proc.stderr
    assert TOTAL.fullmatch(proc.stderr), proc.stderr


SUMMARY = "flush of 0 paths in 0.00 s (0 files/s)\n  flushed: 0   clean: 0   failed: 0\n"


def test_flush_with_nothing_to_read_prints_its_summary_and_writes_its_files(
    tmp_path: Path,
) -> None:
    report, failed = tmp_path / "report.jsonl", tmp_path / "failed.txt"
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    proc = run(["flush", "--ip", IP, "--export", EXPORT, "--report", str(report),
                "--failed-to", str(failed)])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, SUMMARY + f"  report: {report}\n"
                                                          f"  failed list: {failed}\n", "")
    assert report.read_bytes() == failed.read_bytes() == b""
    proc = run(["flush", "--ip", IP, "--export", EXPORT, "--from-file", str(empty), "-o",
                "json", "--mode", "sync"])
    assert (proc.returncode, proc.stderr) == (0, "")
    data = json.loads(proc.stdout)
    assert {k: data[k] for k in ("mode", "total", "flushed", "failed", "input_complete",
                                 "interrupted", "exit_code")} == {
        "mode": "sync", "total": 0, "flushed": 0, "failed": 0, "input_complete": True,
        "interrupted": False, "exit_code": 0}
    quiet = run(["flush", "--ip", IP, "--export", EXPORT, "-q"], data="")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


@pytest.mark.parametrize(("args", "message"), [
    (["flush-file", EXPORT, "nothost"], "hpccache: error: SERVER 'nothost' is not an IPv4 or IPv6"),
    (["flush-file", EXPORT, IP, "--threads", "5000"],
     "hpccache: error: --threads must be at most 4096"),
    (["flush", "--export", EXPORT], "hpccache: error: --export needs the cache's mount"),
    (["flush", "--ip", IP, "--export", EXPORT, "--from-file", "/nonexistent/list"],
     "hpccache: error: cannot read --from-file /nonexistent/list"),
])
def test_bad_options_are_errors_with_nothing_to_read_too(args: list[str], message: str) -> None:
    """Nothing to flush is no reason to accept what would fail with input: exit 2, one line."""
    proc = run(args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(message) and proc.stderr.count("\n") == 1, proc.stderr
