"""The pipe writer under the FIFO outputs (``hpccache_cli.flush.pipes``), on real pipes in this
process: a write never waits during the run, a reader that falls too far behind fails the
output instead of blocking it, and the last flush waits a bounded time, or until a signal.

The end-to-end cases (a real ``hpccache flush`` child, real FIFOs) are in
test_flush_fifo_outputs.py; here the limits are made small so each case is quick.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpccache_cli.flush.pipes import PipeWriter, open_fifo


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        yield read_end, write_end  # (the write end is the PipeWriter's to close)
    finally:
        os.close(read_end)


def _pipe_size(fd: int) -> int:
    import fcntl

    return int(fcntl.fcntl(fd, 1032))  # F_GETPIPE_SZ


def test_writes_never_wait_and_a_stuck_reader_fails_the_output(pipe: tuple[int, int]) -> None:
    _read_end, write_end = pipe
    backlog = 1 << 20
    out = PipeWriter(write_end, backlog=backlog)
    chunk = b"x" * 4096
    written = 0
    with pytest.raises(OSError) as info:
        while written < 64 * backlog:  # (a bound: the writer must give up long before)
            out.write(chunk)  # the pipe filled long ago: this returns at once, buffering
            written += len(chunk)
    assert info.value.errno == errno.ENOBUFS and "stuck, not reading" in str(info.value)
    assert _pipe_size(write_end) < written <= _pipe_size(write_end) + backlog + 2 * len(chunk)
    out.close()


def test_the_last_flush_waits_a_bounded_time_then_names_the_stuck_reader(
    pipe: tuple[int, int],
) -> None:
    read_end, write_end = pipe
    out = PipeWriter(write_end, stall=0.3)
    out.write(b"y" * (_pipe_size(write_end) + 10_000))
    with pytest.raises(OSError) as info:
        out.flush()
    assert info.value.errno == errno.ETIMEDOUT
    assert "its reader took nothing for 0.3 s (stuck)" in str(info.value)
    out.close()
    assert os.read(read_end, 10) == b"y" * 10  # what the pipe took is there, in order


def test_the_last_flush_ends_at_a_signal_during_it_not_one_before(
    pipe: tuple[int, int],
) -> None:
    _read_end, write_end = pipe
    looks = 0

    def signals() -> int:
        """One signal before the flush (the one that stopped the run), a second one seen
        at the third look, while the flush waits."""
        nonlocal looks
        looks += 1
        return 1 if looks < 3 else 2

    out = PipeWriter(write_end, stall=30, signals=signals)
    out.write(b"z" * (_pipe_size(write_end) + 10_000))
    with pytest.raises(OSError) as info:
        out.flush()  # ends at the new signal, long before the 30 s
    assert info.value.errno == errno.EINTR and looks == 3
    out.close()


def test_a_fifo_without_a_reader_is_given_up_after_the_wait(tmp_path: Path) -> None:
    path = str(tmp_path / "nobody.fifo")
    os.mkfifo(path)
    said: list[str] = []
    with pytest.raises(OSError) as info:
        open_fifo(path, wait=0.2, on_wait=said.append)
    assert info.value.errno == errno.ENXIO
    assert said == ["waiting up to 0.2 s for a reader of this FIFO"]
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fd = open_fifo(path, wait=0.2, on_wait=said.append)  # a reader: at once, unannounced
        os.close(fd)
    finally:
        os.close(reader)
    assert len(said) == 1
