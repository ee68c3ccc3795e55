"""Helpers for the signal, FIFO and leftover tests: a ``hpccache flush`` child process whose
stderr is read as it comes (so a test can wait for a line instead of sleeping), and a look at
the temporary files left beside the outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

import pytest
from test_flush_support import CLI, cli_env

from hpccache_cli.emulator.server import EmulatorThread

A1 = "127.0.0.41"
FLUSH = ["flush", "--ip", A1, "--export", "/NAS_12_exp5"]


class Lines:
    """A stream's lines, collected by a thread as they are written."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines: list[bytes] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        with stream:
            for line in stream:
                self.lines.append(line)

    def has(self, text: bytes) -> bool:
        return any(text in line for line in list(self.lines))

    def text(self, timeout: float = 30) -> bytes:
        """Everything, once the stream has ended (the process exited)."""
        self._thread.join(timeout)
        return b"".join(self.lines)


class Run:
    """``hpccache flush ARGS`` (or another ``command``) running against ``emu``, input written
    and closed."""

    def __init__(self, emu: EmulatorThread, args: Sequence[str], data: bytes = b"",
                 ignore: Sequence[int] = (), command: Sequence[str] = FLUSH) -> None:
        def ignored() -> None:  # what nohup / trap '' SIG / a background job do
            for sig in ignore:
                signal.signal(sig, signal.SIG_IGN)

        self.proc = subprocess.Popen(
            CLI + [*command, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=cli_env(emu), preexec_fn=ignored if ignore else None)
        _RUNS.append(self)
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        self.out = Lines(self.proc.stdout)
        self.err = Lines(self.proc.stderr)
        self.proc.stdin.write(data)
        self.proc.stdin.close()

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = 60) -> int:
        """The exit code; a run still going after ``timeout`` is killed (the test fails)."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)
            raise

    def reap(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


_RUNS: list[Run] = []


@pytest.fixture(autouse=True)
def no_stray_runs() -> Iterator[None]:
    """Import into a test module: a test that fails before its run ended kills that run."""
    yield
    while _RUNS:
        _RUNS.pop().reap()


def leftovers(directory: Path) -> list[str]:
    """Our temporary files in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".hpccache-tmp"))


def dead_pid() -> int:
    """The PID of a process that has ended (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def unread_fifo(path: Path) -> Callable[[], None]:
    """Make ``path`` a FIFO; returns what unblocks anything left waiting on it at the end."""
    os.mkfifo(path)

    def release() -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return
        os.close(fd)

    return release
