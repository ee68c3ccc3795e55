"""Output files (``--report``, ``--failed-to``, ``--junit``) that never destroy the user's files.

Two promises, kept here once for every record file:

* **No half list where a full one was.** A regular file (or a name not there yet) is written
  to a temporary file beside it and renamed into place when the run ends, so an interrupted or
  failed run leaves either the old file or the new, complete one. Where the target is a
  symbolic link, the file it points to is replaced, not the link. Targets that are not regular
  files (``/dev/stdout``, a pipe, a terminal, ``/dev/null``) cannot be renamed over: they are
  written directly; a FIFO or pipe so that no reader can block the run
  (:mod:`hpccache_cli.flush.pipes`). The temporary file is removed on every ending the
  process sees; what a killed run left, the next run beside that target removes
  (:mod:`hpccache_cli.flush.leftovers`).
* **No output clobbers an input or another output.** Files are compared by identity (device
  and inode, after following links, so ``/dev/fd/N`` and hard links count), not by name,
  before anything is opened. Two outputs on one file: exit 2. An output on the input file
  (``--from-file retry.lst --failed-to retry.lst``, the retry loop) works for a regular file:
  the input is read through its own descriptor, which keeps the old file even after the new
  one is renamed over its name; the rename waits for the end of the run and does not happen
  at all when the input was not read to the end (a second Ctrl-C), so no unread path is lost.
  Any other input/output overlap (a pipe read and written) is exit 2 before anything starts.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Sequence
from typing import Protocol

from hpccache_cli.errors import UsageError
from hpccache_cli.flush.leftovers import create_temp, forget, sweep
from hpccache_cli.flush.pipes import READER_WAIT, PipeWriter, open_fifo

#: Identity of a file: (device, inode) when it exists, else its resolved absolute name.
FileKey = tuple[int, int] | str


def file_key(path: str) -> FileKey:
    """Who ``path`` is: device and inode if it exists (links followed), else its real path."""
    try:
        st = os.stat(path)
    except OSError:
        return os.path.realpath(path)
    return (st.st_dev, st.st_ino)


def fd_key(fd: int) -> tuple[FileKey, bool] | None:
    """Identity of an open descriptor and whether it is a regular file (None: not open)."""
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return (st.st_dev, st.st_ino), stat.S_ISREG(st.st_mode)


def check_outputs(outputs: Sequence[tuple[str, str]], input_fd: int | None) -> set[str]:
    """Refuse (UsageError, exit 2) two outputs on one file, or an output on an input that
    cannot be read first and replaced after (see the module docstring). ``outputs`` are
    (option, path) pairs; returns the options whose file is also the (regular) input file:
    those must not be replaced unless the input was read to the end."""
    seen: dict[FileKey, str] = {}
    on_input: set[str] = set()
    source = fd_key(input_fd) if input_fd is not None else None
    for option, path in outputs:
        key = file_key(path)
        if key in seen:
            raise UsageError(f"{seen[key]} and {option} name the same file ({path}): two "
                             "outputs would mix in one file; give each its own file")
        seen[key] = option
        if source is not None and key == source[0]:
            if not source[1] or not _regular_or_absent(path):
                raise UsageError(f"{option} {path} is the input being read: writing it would "
                                 "destroy the input; give another file")
            on_input.add(option)
    return on_input


def _regular_or_absent(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return True


class Stream(Protocol):
    """What an output writes to: a file object, or a :class:`PipeWriter`."""

    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    def fileno(self) -> int: ...


def _none() -> int:
    return 0


class OutputFile:
    """One record file (see the module docstring): ``write`` bytes, then ``commit`` (rename
    into place) or ``abandon`` (leave the target as it was). Both raise nothing twice."""

    def __init__(self, stream: Stream, label: str, *, final: str | None = None,
                 temp: str | None = None, mode: int | None = None) -> None:
        self.stream = stream
        self.label = label  # "--report FILE": how messages name it
        self._final = final  # where the temporary file goes; None: written directly
        self._temp = temp
        self._mode = mode
        self._done = False

    @classmethod
    def open(cls, path: str, option: str, *, in_place_ok: bool = True,
             reader_wait: float = READER_WAIT,
             on_wait: Callable[[str], None] | None = None,
             signals: Callable[[], int] | None = None) -> OutputFile:
        """Open for the run; an OSError here is the caller's usage error (nothing started).

        When no file can be made beside an existing target that can be written (a directory
        the user may not write to, holding a file they own), the target is written in place
        as before, unless ``in_place_ok`` is false (it is the input: truncating it would
        lose the list). A FIFO or pipe is opened without blocking
        (:mod:`hpccache_cli.flush.pipes`): at most ``reader_wait`` seconds for its reader,
        announced through ``on_wait``; a signal during it (``signals``, the caller's count of
        them, grows) ends it early.
        Before a temporary file is made, the leftovers of dead runs beside the target are
        removed (:mod:`hpccache_cli.flush.leftovers`)."""
        label = f"{option} {path}"
        try:
            st: os.stat_result | None = os.stat(path)
        except FileNotFoundError:
            st = None
        if st is not None and stat.S_ISFIFO(st.st_mode):
            count = signals or _none
            fd = open_fifo(path, wait=reader_wait, signals=count,
                           on_wait=(lambda text: on_wait(f"{label}: {text}"))
                           if on_wait is not None else None)
            return cls(PipeWriter(fd, stall=reader_wait, signals=count), label)
        if st is not None and not stat.S_ISREG(st.st_mode):
            return cls(open(path, "wb"), label)  # noqa: SIM115 - closed by commit/abandon
        final = os.path.realpath(path)
        sweep(final)  # a killed run's leftovers beside this target
        try:  # (an old file's mode is kept: set at commit)
            temp, fd = create_temp(final)
        except OSError as exc:
            if st is None or not in_place_ok or not os.access(path, os.W_OK) or \
                    exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            return cls(open(path, "wb"), label)  # noqa: SIM115 - closed by commit/abandon
        mode = stat.S_IMODE(st.st_mode) if st is not None else None
        return cls(os.fdopen(fd, "wb"), label, final=final, temp=temp, mode=mode)

    @classmethod
    def direct(cls, stream: Stream, label: str) -> OutputFile:
        """An already open stream, written as it goes (tests, callers with their own file)."""
        return cls(stream, label)

    @property
    def replaces(self) -> bool:
        """True when the target is replaced at commit (so a failure leaves it untouched)."""
        return self._final is not None

    def write(self, data: bytes) -> None:
        self.stream.write(data)

    def commit(self) -> None:
        """Finish the file: flush, then rename the temporary file into place."""
        if self._done:
            return
        self._done = True
        try:
            self.stream.flush()
            if self._temp is not None and self._final is not None:
                os.fsync(self.stream.fileno())  # a rename must not publish unwritten blocks
                self.stream.close()
                if self._mode is not None:
                    os.chmod(self._temp, self._mode)
                os.replace(self._temp, self._final)
                forget(self._temp)
                self._temp = None
            else:
                self.stream.close()
        except OSError:
            self._discard()
            raise

    def abandon(self) -> None:
        """Drop what was written to the temporary file; the target stays as it was."""
        if self._done:
            return
        self._done = True
        self._discard()

    def _discard(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.close()
        if self._temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._temp)
            forget(self._temp)
            self._temp = None
