"""Temporary output files: their name, the lock a live run holds on them, and the sweep that
removes a dead run's leftovers.

A record file (``--report``, ``--failed-to``, ``--junit``) is written to
``.NAME.PID.HEX.hpccache-tmp`` beside its target ``NAME`` and renamed over it at the end
(:mod:`hpccache_cli.flush.outputs`). Every ending the process sees removes it (the output's
own ``abandon``/``commit``; then :func:`remove_own`, called by the runner as it ends and at
interpreter exit, for any ending that skipped them); the endings it cannot see
(``kill -9``, a power cut, the OOM killer) leave it behind. So each run, before it writes
beside a target, removes the leftovers of runs that are certainly dead.

"Certainly dead" is decided by two tests, both required, because a PID alone is not proof:

* the PID in the name is not a live process here (``kill(pid, 0)`` says no such process). A
  PID reused by another process keeps the leftover (the safe side: a later run removes it);
* nobody holds the file's lock. Every run takes an exclusive ``flock`` on each temporary file
  it creates and holds it until it ends; the kernel drops it when the process dies, however
  it dies. This covers what the PID test cannot: a live run on another host, or in another
  PID namespace (a container), writing beside the same target on a shared file system, whose
  PID means nothing here. Where locks are not supported the file is left alone. (An NFS
  mount with ``nolock`` or ``local_lock=flock`` keeps locks to one host: there, a live run
  on another host with a PID that is dead here is not protected; such mounts are rare for
  an output directory, and an age test would not protect it either.)

An age threshold was the other candidate and was rejected: a run lasting days (a failed list
no failure wrote to) is legitimate, and an age says nothing about whether its writer lives.

Only names of exactly our pattern for that very target are ever considered (``.NAME.`` +
digits + ``.`` + 8 lowercase hex digits + ``.hpccache-tmp``), only regular files owned by the
user running the sweep, and a directory is scanned for at most :data:`SCAN_LIMIT` entries.
"""

from __future__ import annotations

import errno
import os
import re
import stat

SUFFIX = ".hpccache-tmp"
#: Entries of a target's directory looked at by one sweep (a huge directory is not walked
#: whole for the sake of a leftover).
SCAN_LIMIT = 100_000
_TAIL = re.compile(r"([0-9]{1,10})\.[0-9a-f]{8}" + re.escape(SUFFIX))


#: The temporary files this process made and has not yet renamed or removed: named here
#: *before* they are created, so an exception (a signal's) at any instant cannot leave one
#: unnamed; :func:`remove_own` removes what is left, at the run's end and at exit.
_OWN: set[str] = set()
_AT_EXIT = False


def create_temp(final: str) -> tuple[str, int]:
    """A new temporary file beside ``final`` (write-only descriptor), locked by this process
    for as long as it lives (the lock tells a later run's sweep it is not a leftover). A
    file another host's sweep removed in the instant before the lock was taken is replaced."""
    global _AT_EXIT
    if not _AT_EXIT:
        import atexit

        atexit.register(remove_own)
        _AT_EXIT = True
    for _ in range(8):
        temp = temp_path(final)
        _OWN.add(temp)
        try:
            # 0o666: the umask decides a new file's mode, as for any output
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except OSError:
            _OWN.discard(temp)  # (EEXIST: not ours to remove)
            raise
        if not hold(fd) or still_named(temp, fd):
            return temp, fd
        os.close(fd)
        _OWN.discard(temp)
    raise OSError(errno.EAGAIN, "temporary files made beside it keep disappearing")


def forget(temp: str) -> None:
    """``temp`` was renamed into place or removed: no longer this process's to clean."""
    _OWN.discard(temp)


def remove_own() -> int:
    """Remove every temporary file this process made and still has (an ending that skipped
    its output's own cleanup); never raises. Returns how many were removed."""
    removed = 0
    for temp in list(_OWN):
        _OWN.discard(temp)
        try:
            os.unlink(temp)
            removed += 1
        except OSError:
            pass
    return removed


def temp_path(final: str) -> str:
    """A new temporary name beside ``final`` (which is a resolved path)."""
    # os.urandom(4).hex() is secrets.token_hex(4) without importing secrets (hmac,
    # hashlib: milliseconds of every flush's start-up)
    return os.path.join(os.path.dirname(final), f".{os.path.basename(final)}."
                        f"{os.getpid()}.{os.urandom(4).hex()}{SUFFIX}")


def owner_pid(name: str, final_name: str) -> int | None:
    """The PID in ``name`` if it is a temporary file of target ``final_name``, else None."""
    prefix = f".{final_name}."
    if not name.startswith(prefix):
        return None
    match = _TAIL.fullmatch(name, len(prefix))
    return int(match.group(1)) if match else None


def hold(fd: int) -> bool:
    """Take this run's lock on a temporary file it just created; False where the file system
    has no locks (the file is then only protected by the PID test)."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def still_named(path: str, fd: int) -> bool:
    """True while ``path`` is the file open as ``fd`` (another host's sweep cannot have
    removed it between its creation and our lock)."""
    try:
        a, b = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a process we could test: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # EPERM: alive, someone else's
    return True


def _remove_if_unlocked(path: str) -> bool:
    """Remove ``path`` if nobody holds its lock (we hold it while unlinking)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # held by a live run (or no locks here: cannot tell, keep it)
        if not still_named(path, fd):
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def sweep(final: str) -> int:
    """Remove the leftovers of dead runs beside ``final`` (see the module docstring).
    Returns how many were removed; never raises."""
    directory, final_name = os.path.split(final)
    removed = 0
    me = os.getpid()
    try:
        with os.scandir(directory or ".") as entries:
            for n, entry in enumerate(entries):
                if n >= SCAN_LIMIT:
                    break
                pid = owner_pid(entry.name, final_name)
                if pid is None:
                    continue
                if pid != me and not _alive(pid) and _remove_if_unlocked(entry.path):
                    removed += 1
    except OSError:
        pass
    return removed
