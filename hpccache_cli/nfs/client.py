"""High-level async NFSv3 client for one server address, plus a small synchronous facade.

CONTRACT (the flush engine and tests are written against these signatures; keep them):

- ``ClientOptions``: who we are and where the services listen.
- ``NfsClient(host, options)``: one cache mount address. ``await connect()`` finds the MOUNT
  and NFS ports (portmapper unless given) and opens ``options.connections`` TCP connections to
  NFS, over which calls are spread; each connection pipelines many calls (xid matching).
  A lost connection fails its in-flight calls with ``ConnectionLost``; the next call reconnects.
- Status failures raise ``NfsError``/``MountError`` (typed, with name and number), except
  :meth:`NfsClient.flush`, which returns the raw nfsstat3 because every status is an answer.
- ``SyncNfsClient``: the same calls, blocking, for simple callers and scripts.
"""

from __future__ import annotations

import getpass  # noqa: F401  (used by defaults in the implementation)
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import IntEnum

from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.mount import ExportNode


class FlushOp(IntEnum):
    """The ``count`` values of an HPC Cache flush COMMIT (offset is ``nfs3.FLUSH_OFFSET``)."""

    SYNC = nfs3.FLUSH_SYNC
    START = nfs3.FLUSH_ASYNC_START
    STATUS = nfs3.FLUSH_STATUS


@dataclass
class ClientOptions:
    """How to reach the server and who to say we are (AUTH_SYS by default)."""

    uid: int = field(default_factory=os.getuid)
    gid: int = field(default_factory=os.getgid)
    gids: tuple[int, ...] = ()
    machinename: str = field(default_factory=socket.gethostname)
    auth: str = "sys"  # "sys" | "none"
    portmap_port: int = 111
    mount_port: int | None = None  # None: ask the portmapper
    nfs_port: int | None = None  # None: ask the portmapper
    privileged_port: bool = False  # bind a source port < 1024 (root only)
    connections: int = 1  # NFS connections to open to this address
    timeout: float = 30.0  # per call
    connect_timeout: float = 5.0


class NfsClient:
    """Async NFSv3 + MOUNTv3 client for one server address."""

    def __init__(self, host: str, options: ClientOptions | None = None) -> None:
        self.host = host
        self.options = options or ClientOptions()

    async def connect(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> NfsClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # MOUNT
    async def mount(self, path: bytes) -> bytes:
        """MNT: the root file handle of ``path`` (raises MountError)."""
        raise NotImplementedError

    async def umount(self, path: bytes) -> None:
        raise NotImplementedError

    async def exports(self) -> list[ExportNode]:
        raise NotImplementedError

    # NFS
    async def null(self) -> None:
        raise NotImplementedError

    async def getattr(self, fh: bytes) -> nfs3.Fattr3:
        raise NotImplementedError

    async def lookup(self, dir_fh: bytes, name: bytes) -> nfs3.LookupOk:
        raise NotImplementedError

    async def lookup_path(self, root_fh: bytes, path: bytes) -> bytes:
        """LOOKUP each component of a relative ``path`` (b"a/b/c") from ``root_fh``."""
        raise NotImplementedError

    async def commit(self, fh: bytes, offset: int = 0, count: int = 0) -> nfs3.CommitOk:
        raise NotImplementedError

    async def flush(self, fh: bytes, op: FlushOp) -> int:
        """Send an HPC Cache flush COMMIT; return the raw nfsstat3 (never raises for status)."""
        raise NotImplementedError

    async def readdirplus(
        self,
        dir_fh: bytes,
        cookie: int = 0,
        cookieverf: bytes = b"\0" * 8,
        dircount: int = 8192,
        maxcount: int = 32768,
    ) -> nfs3.ReaddirplusOk:
        raise NotImplementedError

    def iter_dir(self, dir_fh: bytes) -> AsyncIterator[nfs3.EntryPlus]:
        """Every entry of a directory (without . and ..), paging with cookies."""
        raise NotImplementedError

    async def fsinfo(self, fh: bytes) -> nfs3.FsinfoOk:
        raise NotImplementedError


class SyncNfsClient:
    """Blocking facade over NfsClient (runs its own event loop in a private thread)."""

    def __init__(self, host: str, options: ClientOptions | None = None) -> None:
        raise NotImplementedError
