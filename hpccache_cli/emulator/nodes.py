"""One namespace path as the emulated server sees it (:class:`Node`), and the path helpers.

A module of its own so that the write-back scheduler, which copies a node's file, and the
namespace, which owns the nodes and schedules their write-backs, need not import each other.
"""

from __future__ import annotations

from hpccache_cli.emulator.config import StorageTarget
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

#: Largest file the emulator stores (FSINFO maxfilesize; the write path refuses past it): a
#: client cannot fill the disk with one sparse write far out.
MAX_FILE_SIZE = 1 << 40

SYNTH, JROOT, REAL = 0, 1, 2  # node kinds: synthetic dir, junction root, path inside a junction


class NfsStatusError(Exception):
    """A failure status the NFS handlers return as the procedure's result."""

    def __init__(self, status: int) -> None:
        super().__init__(S(status).name)
        self.status = status


class Node:
    """One namespace path as the server sees it; created on first LOOKUP/MNT/READDIRPLUS."""

    __slots__ = ("path", "kind", "target", "cache_path", "backend_path", "caches_writes",
                 "fileid", "handle")

    def __init__(self, path: str, kind: int, target: StorageTarget | None, cache_path: str,
                 backend_path: str, caches_writes: bool) -> None:
        self.path = path
        self.kind = kind
        self.target = target
        self.cache_path = cache_path
        self.backend_path = backend_path
        self.caches_writes = caches_writes
        self.fileid = 0
        self.handle = b""


def norm_path(path: str) -> str | None:
    """``/a//b/./c/`` -> ``/a/b/c``; None for relative paths or ``..`` (never leave the tree)."""
    if not path.startswith("/"):
        return None
    parts = [p for p in path.split("/") if p and p != "."]
    if ".." in parts:
        return None
    return "/" + "/".join(parts)


def child_path(parent: str, name: str) -> str:
    return parent + name if parent == "/" else f"{parent}/{name}"


def parent_path(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"
