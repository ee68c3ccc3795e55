"""A hostile NFS server for ``--recursive`` tests: an in-memory directory tree whose
READDIRPLUS answers a test can script (cookie loops, a subdirectory with its parent's handle,
names no directory can hold, a listing that never ends), served over real TCP by the scripted
RPC server of ``test_nfs_transport``.

Why not the emulator: it lists real directories, which cannot hold a name with ``/`` or a
directory that is its own child. Here a test builds the tree by path (``server.add("d/f1")``)
and then bends whatever it wants: ``server.pagers[handle]`` replaces one directory's pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bounded_support import run_bounded
from test_flush_support import FAST
from test_nfs_transport import DEADLINE, ROOT_FH, VERF, RpcTestServer

from hpccache_cli.flush.api import flush_paths_async
from hpccache_cli.flush.results import FileResult, FlushSummary
from hpccache_cli.nfs import nfs3

S = nfs3.Nfsstat3
DIR, REG = nfs3.Ftype3.NF3DIR, nfs3.Ftype3.NF3REG
EXPORT = b"/export"
FSID = 7

#: A directory's scripted pages: ``pager(cookie)`` -> (entries, eof).
Pager = Callable[[int], tuple[list[nfs3.EntryPlus], bool]]


@dataclass
class Node:
    """One file or directory of the tree; ``children`` are (name, handle) in listing order."""

    handle: bytes
    fileid: int
    kind: int
    children: list[tuple[bytes, bytes]] = field(default_factory=list)

    @property
    def attrs(self) -> nfs3.Fattr3:
        return nfs3.Fattr3(self.kind, size=10, fsid=FSID, fileid=self.fileid)


class TreeServer(RpcTestServer):
    """MOUNT of ``/export`` + an NFS tree built with :meth:`add`; every flush COMMIT is
    recorded (``flushed``: handles, in order) and answered as a write-back that ends at once
    (START: NOT_SYNC, STATUS and SYNC: OK), so a flushed file reports ``flushed``."""

    def __init__(self, page: int = 50) -> None:
        super().__init__(files=0, page=page)
        self._ids = itertools.count(2)
        self.nodes: dict[bytes, Node] = {ROOT_FH: Node(ROOT_FH, 1, DIR)}
        self.pagers: dict[bytes, Pager] = {}
        self.readdirs = 0  # READDIRPLUS calls answered
        self.flushed: list[bytes] = []
        self.held: list[tuple[int, nfs3.ReaddirplusArgs, Any]] = []
        self.hold_cookies = False  # hold every page after the first one until release()
        self.commit_delay = 0.0  # seconds before each flush COMMIT is answered
        self.bare: set[bytes] = set()  # names listed without attributes or handle

    # -- building -----------------------------------------------------------------------------

    def add(self, path: str | bytes, kind: int = REG) -> bytes:
        """Create ``path`` (its directories too); returns its handle."""
        raw = path.encode() if isinstance(path, str) else path
        *dirs, leaf = raw.split(b"/")
        parent = ROOT_FH
        for name in dirs:
            parent = self.child(parent, name) or self.link(parent, name, self.new(DIR))
        return self.child(parent, leaf) or self.link(parent, leaf, self.new(kind))

    def new(self, kind: int, fileid: int | None = None) -> bytes:
        """A node not linked anywhere yet (``fileid``: to give it another node's)."""
        number = next(self._ids)
        handle = b"fh-%06d" % number
        self.nodes[handle] = Node(handle, fileid or number, kind)
        return handle

    def link(self, parent: bytes, name: bytes, handle: bytes) -> bytes:
        """Name ``handle`` in ``parent`` (any name, any handle: this is the hostile part)."""
        self.nodes[parent].children.append((name, handle))
        return handle

    def child(self, parent: bytes, name: bytes) -> bytes | None:
        return next((h for n, h in self.nodes[parent].children if n == name), None)

    def handle(self, path: str) -> bytes:
        fh = ROOT_FH
        for name in path.encode().split(b"/"):
            found = self.child(fh, name)
            assert found is not None, path
            fh = found
        return fh

    def entry(self, name: bytes, handle: bytes, cookie: int) -> nfs3.EntryPlus:
        node = self.nodes[handle]
        if name in self.bare:
            return nfs3.EntryPlus(node.fileid, name, cookie)
        return nfs3.EntryPlus(node.fileid, name, cookie, node.attrs, handle)

    def release(self) -> None:
        """Answer the READDIRPLUS calls held by ``hold_cookies`` (and stop holding)."""
        self.hold_cookies = False
        for xid, args, writer in self.held:
            self._send(writer, xid, nfs3.READDIRPLUS.res.encode(self._page(args)))
        self.held.clear()

    # -- serving ------------------------------------------------------------------------------

    def _nfs(self, proc: nfs3.Procedure, xid: int, args: Any, w: Any) -> Any:
        ok = S.NFS3_OK
        if proc is nfs3.GETATTR:
            node = self.nodes.get(args)
            return ((ok, node.attrs) if node else (S.NFS3ERR_STALE, None),)
        if proc is nfs3.LOOKUP:
            found = self.child(args.dir, args.name) if args.dir in self.nodes else None
            if found is None:
                return ((S.NFS3ERR_NOENT, None),)
            return ((ok, nfs3.LookupOk(found, self.nodes[found].attrs)),)
        if proc is nfs3.COMMIT:
            if args.offset != nfs3.FLUSH_OFFSET or args.file not in self.nodes:
                return ((S.NFS3ERR_INVAL, nfs3.WccData()),)
            self.flushed.append(args.file)
            status = S.NFS3ERR_NOT_SYNC if args.count == nfs3.FLUSH_ASYNC_START else ok
            result = (status, nfs3.WccData()) if status != ok else (ok, nfs3.CommitOk())
            if not self.commit_delay:
                return (result,)
            asyncio.get_running_loop().call_later(
                self.commit_delay, self._send, w, xid, proc.res.encode(result))
            return None
        if proc is nfs3.READDIRPLUS:
            if self.hold_cookies and args.cookie:
                self.held.append((xid, args, w))
                return None
            return (self._page(args),)
        return super()._nfs(proc, xid, args, w)

    def _page(self, args: nfs3.ReaddirplusArgs) -> Any:
        self.readdirs += 1
        node = self.nodes.get(args.dir)
        if node is None:
            return (S.NFS3ERR_STALE, None)
        pager = self.pagers.get(args.dir)
        if pager is not None:
            entries, eof = pager(args.cookie)
        else:
            listing = [self.entry(b".", node.handle, 1), self.entry(b"..", ROOT_FH, 2), *(
                self.entry(name, fh, i + 3) for i, (name, fh) in enumerate(node.children))]
            entries = listing[args.cookie : args.cookie + self.page]
            eof = args.cookie + len(entries) >= len(listing)
        return (S.NFS3_OK, nfs3.ReaddirplusOk(node.attrs, VERF, entries, eof))


def flush_tree(server: TreeServer, paths: list[bytes], **kwargs: Any) -> FlushSummary:
    """A recursive flush of ``paths`` against ``server`` (already started on this thread's
    future loop: see :func:`run_against`)."""
    kwargs.setdefault("policies", FAST)
    kwargs.setdefault("timeout", 10.0)
    return flush_paths_async(  # type: ignore[return-value]
        paths, ips=["127.0.0.1"], export=EXPORT, mount_port=server.port,
        nfs_port=server.port, recursive=True, **kwargs)


def run_against(server: TreeServer, paths: list[bytes], limit: float = 60.0,
                **kwargs: Any) -> FlushSummary:
    """Start ``server``, flush ``paths`` recursively, stop it; bounded (``run_bounded``)."""

    async def body() -> FlushSummary:
        await server.start()
        try:
            return await flush_tree(server, paths, **kwargs)  # type: ignore[misc]
        finally:
            await server.stop()

    return run_bounded(body(), limit)


def results(summary: FlushSummary) -> dict[bytes, FileResult]:
    assert summary.results is not None
    seen: dict[bytes, FileResult] = {}
    for result in summary.results:
        assert result.path not in seen, f"two outcomes for {result.path!r}"
        seen[result.path] = result
    return seen


@contextlib.contextmanager
def tree_server_thread(server: TreeServer) -> Iterator[TreeServer]:
    """``server`` on its own loop in a thread, for a CLI subprocess to talk to."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(DEADLINE)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(DEADLINE)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(DEADLINE)
        loop.close()
