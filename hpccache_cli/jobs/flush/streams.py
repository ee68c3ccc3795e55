"""Lines on stdout/stderr that survive a closed or broken stream.

A flush often runs at the end of a pipe (``| head``) or under a scheduler whose log is gone;
a write that fails there must not turn into a traceback or change the run's exit code. The
command line prints its summary through :func:`say`; the job prints through it only what must
be said while it runs (a wait on a FIFO's reader, a record that could not hold a name).
"""

from __future__ import annotations

import contextlib
import os
import sys


def say(text: str, *, err: bool = False) -> None:
    """Print a line to stdout or stderr; a closed or broken stream is silenced (no traceback,
    no 'Exception ignored' at exit) and the run's exit code stays what it was."""
    stream = sys.stderr if err else sys.stdout
    try:
        stream.write(text + "\n")
        stream.flush()
    except (OSError, ValueError, AttributeError):
        quiet_stream(stream)


def quiet_stream(stream: object) -> None:
    """Point a broken stream's descriptor at /dev/null, so the interpreter's last flush of it
    succeeds (a failed flush at exit prints a traceback and changes the exit code to 120)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fd = stream.fileno()  # type: ignore[attr-defined]
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


def announce(text: str) -> None:
    """A wait on an output (a FIFO's reader), said at once on stderr."""
    say(f"hpccache: {text}", err=True)


def to_stderr(line: str) -> None:
    """The default for a job's notices: the line as it is, on stderr."""
    say(line, err=True)
