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

Calls made before ``connect()`` connect on demand, so a short script needs no ceremony.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Iterator
from enum import IntEnum
from typing import Any, NoReturn, TypeVar

from hpccache_cli.nfs import mount, nfs3, readdir
from hpccache_cli.nfs.client_write import SyncWriteCalls, WriteCalls
from hpccache_cli.nfs.mount import ExportNode
from hpccache_cli.nfs.options import ClientOptions as ClientOptions  # (its home: start-up)
from hpccache_cli.nfs.portmap_client import getport
from hpccache_cli.nfs.transport import RpcClientConnection

T = TypeVar("T")


class FlushOp(IntEnum):
    """The ``count`` values of an HPC Cache flush COMMIT (offset is ``nfs3.FLUSH_OFFSET``)."""

    SYNC = nfs3.FLUSH_SYNC
    START = nfs3.FLUSH_ASYNC_START
    STATUS = nfs3.FLUSH_STATUS


def _show(name: bytes) -> str:
    return name.decode("utf-8", "backslashreplace")


def _raise_status(result: tuple[Any, Any], context: str) -> NoReturn:
    """Raise the NfsError of a failed ``(status, body)`` result."""
    nfs3.ok_body(result, context)
    raise AssertionError(f"{context}: status {result[0]} is not a failure")  # never reached


class NfsClient(WriteCalls):
    """Async NFSv3 + MOUNTv3 client for one server address (the write calls: WriteCalls)."""

    def __init__(self, host: str, options: ClientOptions | None = None) -> None:
        self.host = host
        self.options = options or ClientOptions()
        self.mount_port: int | None = self.options.mount_port
        self.nfs_port: int | None = self.options.nfs_port
        self._cred = self.options.credential()
        self._mount: RpcClientConnection | None = None
        self._nfs: list[RpcClientConnection] = []
        self._next: itertools.cycle[RpcClientConnection] | None = None
        self._connect_lock: asyncio.Lock | None = None

    @property
    def nfs_connections(self) -> list[RpcClientConnection]:
        """The NFS connections calls are spread over (for stats and tests)."""
        return list(self._nfs)

    def _conn(self, port: int, label: str, option: str) -> RpcClientConnection:
        o = self.options
        return RpcClientConnection(
            self.host,
            port,
            privileged_port=o.privileged_port,
            connect_timeout=o.connect_timeout,
            connect_attempts=o.connect_attempts,
            label=label,
            hint=f"is the cache/NFS server up at {self.host}? check the address and {{{option}}}",
            fields=(option,),
        )

    async def connect(self) -> None:
        """Find the MOUNT and NFS ports and open the NFS connections."""
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            if self._next is not None:
                return
            o = self.options
            if self.mount_port is None or self.nfs_port is None:
                pm = self.options.portmap_port
                if self.mount_port is None:
                    self.mount_port = await getport(
                        self.host, mount.PROGRAM, mount.VERSION, pm, o.connect_timeout
                    )
                if self.nfs_port is None:
                    self.nfs_port = await getport(
                        self.host, nfs3.PROGRAM, nfs3.VERSION, pm, o.connect_timeout
                    )
            self._mount = self._conn(self.mount_port, "MOUNT", "mount_port")
            conns = [
                self._conn(self.nfs_port, "NFS", "nfs_port")
                for _ in range(max(1, o.connections))
            ]
            tasks = [asyncio.ensure_future(c.connect()) for c in conns]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                # Wait for every connect to end before closing: before Python 3.12 one may
                # miss its cancel (CPython gh-86296) and would otherwise open a connection
                # after the close, owned by nobody. Connects are bounded by their attempts.
                for task in tasks:
                    task.cancel()
                try:
                    await asyncio.wait(tasks)
                    for task in tasks:  # retrieved: no "never retrieved" warnings
                        if not task.cancelled():
                            task.exception()
                finally:
                    await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
                raise
            self._nfs = conns
            self._next = itertools.cycle(conns)

    async def close(self) -> None:
        conns = [c for c in [self._mount, *self._nfs] if c is not None]
        self._mount, self._nfs, self._next = None, [], None
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)

    async def __aenter__(self) -> NfsClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _call_nfs(
        self, proc: nfs3.Procedure, args: Any = None, timeout: float | None = None
    ) -> Awaitable[Any]:
        """Send an NFS call on the next connection; await the result for its results.

        A plain function, not a coroutine: once connected, the call is on its way when this
        returns, and the caller awaits the call's own future (one layer less per call).
        """
        conns = self._next
        if conns is None:
            return self._connect_then(self._call_nfs, proc, args, timeout)
        return next(conns).request(
            proc, nfs3.PROGRAM, nfs3.VERSION, args, self._cred,
            self.options.timeout if timeout is None else timeout,
        )

    def _call_mount(self, proc: nfs3.Procedure, args: Any = None) -> Awaitable[Any]:
        conn = self._mount
        if conn is None:
            return self._connect_then(self._call_mount, proc, args)
        return conn.request(
            proc, mount.PROGRAM, mount.VERSION, args, self._cred, self.options.timeout
        )

    async def _connect_then(self, send: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """A call made before :meth:`connect`: connect on demand, then make it."""
        await self.connect()
        return await send(*args)

    # MOUNT
    async def mount(self, path: bytes) -> bytes:
        """MNT: the root file handle of ``path`` (raises MountError)."""
        res = await self._call_mount(mount.MNT, path)
        ok: mount.MountOk = mount.ok_body(res, f"MNT {_show(path)}")
        return ok.fhandle

    async def umount(self, path: bytes) -> None:
        await self._call_mount(mount.UMNT, path)

    async def exports(self) -> list[ExportNode]:
        nodes: list[ExportNode] = await self._call_mount(mount.EXPORT)
        return nodes

    async def mount_null(self) -> None:
        """MOUNT NULL: is the MOUNT service answering?"""
        await self._call_mount(mount.NULL)

    # NFS
    async def null(self) -> None:
        await self._call_nfs(nfs3.NULL)

    async def getattr(self, fh: bytes) -> nfs3.Fattr3:
        attrs: nfs3.Fattr3 = nfs3.ok_body(await self._call_nfs(nfs3.GETATTR, fh), "GETATTR")
        return attrs

    async def lookup(self, dir_fh: bytes, name: bytes) -> nfs3.LookupOk:
        res = await self._call_nfs(nfs3.LOOKUP, nfs3.LookupArgs(dir_fh, name))
        if res[0] == 0:  # NFS3_OK: the error's context text is made only when needed
            ok: nfs3.LookupOk = res[1]
            return ok
        _raise_status(res, f"LOOKUP {_show(name)}")

    async def lookup_path(self, root_fh: bytes, path: bytes) -> bytes:
        """LOOKUP each component of a relative ``path`` (b"a/b/c") from ``root_fh``."""
        fh = root_fh
        done: list[bytes] = []
        for part in path.split(b"/"):
            if part in (b"", b"."):
                continue
            res = await self._call_nfs(nfs3.LOOKUP, nfs3.LookupArgs(fh, part))
            done.append(part)
            fh = nfs3.ok_body(res, f"LOOKUP {_show(b'/'.join(done))}").object
        return fh

    async def commit(self, fh: bytes, offset: int = 0, count: int = 0) -> nfs3.CommitOk:
        res = await self._call_nfs(nfs3.COMMIT, nfs3.CommitArgs(fh, offset, count))
        ok: nfs3.CommitOk = nfs3.ok_body(res, "COMMIT")
        return ok

    async def flush(self, fh: bytes, op: FlushOp, timeout: float | None = None) -> int:
        """Send an HPC Cache flush COMMIT; return the raw nfsstat3 (never raises for status).

        ``timeout`` replaces the client's per-call timeout for this call alone: a SYNC flush
        is answered only when the file's write-back ends, which may take far longer than any
        other call should, so it gets its own limit and the others keep theirs.
        """
        args = nfs3.CommitArgs(fh, nfs3.FLUSH_OFFSET, int(op))
        status: int = await self._call_nfs(nfs3.FLUSH_COMMIT, args, timeout)
        return status

    async def readdirplus(
        self,
        dir_fh: bytes,
        cookie: int = 0,
        cookieverf: bytes = b"\0" * 8,
        dircount: int = 8192,
        maxcount: int = 32768,
    ) -> nfs3.ReaddirplusOk:
        args = nfs3.ReaddirplusArgs(dir_fh, cookie, cookieverf, dircount, maxcount)
        res = await self._call_nfs(nfs3.READDIRPLUS, args)
        ok: nfs3.ReaddirplusOk = nfs3.ok_body(res, "READDIRPLUS")
        return ok

    async def iter_dir(
        self, dir_fh: bytes, dircount: int = 8192, maxcount: int = 32768
    ) -> AsyncGenerator[nfs3.EntryPlus, None]:
        """Every entry of a directory (without . and ..), paging with cookies; a page that
        neither ends nor moves the listing raises :class:`~.readdir.TruncatedListing`."""
        async for entry in readdir.entries(
            lambda cookie, verf: self.readdirplus(dir_fh, cookie, verf, dircount, maxcount)
        ):
            yield entry

    async def fsinfo(self, fh: bytes) -> nfs3.FsinfoOk:
        ok: nfs3.FsinfoOk = nfs3.ok_body(await self._call_nfs(nfs3.FSINFO, fh), "FSINFO")
        return ok


class SyncNfsClient(SyncWriteCalls):
    """Blocking facade over NfsClient (runs its own event loop in a private thread).

    A private loop rather than ``asyncio.run`` per call keeps the connections open between
    calls, and works from code that already runs inside another event loop's thread.
    """

    def __init__(self, host: str, options: ClientOptions | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"nfs-client-{host}", daemon=True
        )
        self._thread.start()
        self.client = NfsClient(host, options)
        self._closed = False

    def _writer(self) -> NfsClient:
        return self.client

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise RuntimeError("SyncNfsClient is closed")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result()
        except BaseException:
            fut.cancel()  # e.g. Ctrl-C while waiting: do not leave the call running
            raise

    def close(self) -> None:
        """Close the connections and stop the private loop (idempotent)."""
        if self._closed:
            return
        try:
            self._run(self.client.close())
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> SyncNfsClient:
        try:
            self.connect()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        self._run(self.client.connect())

    def mount(self, path: bytes) -> bytes:
        return self._run(self.client.mount(path))

    def umount(self, path: bytes) -> None:
        self._run(self.client.umount(path))

    def exports(self) -> list[ExportNode]:
        return self._run(self.client.exports())

    def mount_null(self) -> None:
        self._run(self.client.mount_null())

    def null(self) -> None:
        self._run(self.client.null())

    def getattr(self, fh: bytes) -> nfs3.Fattr3:
        return self._run(self.client.getattr(fh))

    def lookup(self, dir_fh: bytes, name: bytes) -> nfs3.LookupOk:
        return self._run(self.client.lookup(dir_fh, name))

    def lookup_path(self, root_fh: bytes, path: bytes) -> bytes:
        return self._run(self.client.lookup_path(root_fh, path))

    def commit(self, fh: bytes, offset: int = 0, count: int = 0) -> nfs3.CommitOk:
        return self._run(self.client.commit(fh, offset, count))

    def flush(self, fh: bytes, op: FlushOp, timeout: float | None = None) -> int:
        return self._run(self.client.flush(fh, op, timeout))

    def readdirplus(
        self,
        dir_fh: bytes,
        cookie: int = 0,
        cookieverf: bytes = b"\0" * 8,
        dircount: int = 8192,
        maxcount: int = 32768,
    ) -> nfs3.ReaddirplusOk:
        return self._run(self.client.readdirplus(dir_fh, cookie, cookieverf, dircount, maxcount))

    def iter_dir(
        self, dir_fh: bytes, dircount: int = 8192, maxcount: int = 32768
    ) -> Iterator[nfs3.EntryPlus]:
        """Entries one by one; each page is fetched on the private loop when needed."""
        agen = self.client.iter_dir(dir_fh, dircount, maxcount)
        try:
            while True:
                try:
                    yield self._run(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            if not self._closed:
                self._run(agen.aclose())

    def fsinfo(self, fh: bytes) -> nfs3.FsinfoOk:
        return self._run(self.client.fsinfo(fh))
