"""The local side of ``hpccache copy``: what each source path is, where it goes, its bytes.

Kept apart from the NFS side (:mod:`hpccache_cli.flush.copy_file`) so the rules a user reads
in the help are in one place:

- a source named on the command line is followed if it is a symbolic link (``cp -H``): the
  user named it to copy what it points to;
- inside a directory, a symbolic link is *skipped* with its target in the reason, and so are
  FIFOs, sockets and devices: only regular files and directories have a meaning on a storage
  target reached through a cache (a link would point at a client path that the other clients
  of the cache may not have);
- ``SRC/`` (trailing slash) copies the directory's *contents* into DEST, as rsync does;
  ``SRC`` copies the directory itself (DEST/SRC);
- sparse files keep their holes: only the data extents are written (``SEEK_DATA``/
  ``SEEK_HOLE``) and the length is set at the end.
"""

from __future__ import annotations

import errno
import os
import stat

#: Extents read per sparse file at most; past that the rest is copied as one range (a file
#: fragmented into millions of extents must not become a list of millions).
MAX_EXTENTS = 4096

_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device"}


def skip_reason(path: bytes, st: os.stat_result) -> str | None:
    """Why an entry found inside a directory is not copied, or None (a file or directory)."""
    mode = st.st_mode
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISLNK(mode):
        try:
            to = os.fsdecode(os.readlink(path))
        except OSError:
            to = "?"
        return (f"a symbolic link (to {to!r}): links are not copied; name its target to copy "
                "what it points to")
    kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
    return f"{kind}: only regular files and directories are copied"


def dest_name(src: bytes) -> bytes | None:
    """The name a source gets under DEST; None for ``SRC/`` (its contents go into DEST)."""
    if src.endswith(b"/") and src.strip(b"/"):
        return None
    name = os.path.basename(src.rstrip(b"/"))
    return name if name not in (b"", b".", b"..") else None


def is_sparse(st: os.stat_result) -> bool:
    """Fewer blocks than bytes: holes worth keeping (small files are never called sparse)."""
    return st.st_size > 65536 and st.st_blocks * 512 < st.st_size


def extents(fd: int, size: int) -> list[tuple[int, int]]:
    """The ``(offset, length)`` data ranges of an open file (one range if the file system
    cannot tell holes from data, or past :data:`MAX_EXTENTS`)."""
    out: list[tuple[int, int]] = []
    at = 0
    try:
        while at < size:
            if len(out) >= MAX_EXTENTS:
                out.append((at, size - at))
                return out
            try:
                start = os.lseek(fd, at, os.SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # only a hole from here on
                    return out
                raise
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
            if end > start:
                out.append((start, end - start))
            at = max(end, start + 1)
    except OSError:
        return [(0, size)] if size else []
    return out


def read_exactly(fd: int, offset: int, count: int) -> bytes:
    """``count`` bytes at ``offset``; a shorter read means the file shrank while copied."""
    data = os.pread(fd, count, offset)
    if len(data) != count:
        raise ChangedWhileCopied(f"it shrank while being copied (read {len(data)} of {count} "
                                 f"bytes at {offset})")
    return data


class ChangedWhileCopied(Exception):
    """The source file changed during its copy: the copy on the cache is not trustworthy."""


def same_version(a: os.stat_result, b: os.stat_result) -> bool:
    """Is ``b`` the same version of the file as ``a`` (size and mtime, ns)?"""
    return (a.st_size, a.st_mtime_ns) == (b.st_size, b.st_mtime_ns)


__all__ = ["MAX_EXTENTS", "ChangedWhileCopied", "dest_name", "extents", "is_sparse",
           "read_exactly", "same_version", "skip_reason"]
