"""NFSv3 procedure handlers of the emulator, including the HPC Cache flush COMMITs.

Each handler takes the decoded arguments and returns the procedure's ``(status, body)`` result
(or a coroutine for the one call that waits: a sync flush). A failure anywhere is raised as
:class:`NfsStatusError` and encoded by the dispatcher with the procedure's empty failure body.

A suspended storage target answers every call on its handles with NFS3ERR_JUKEBOX ("try again
later"): a real client keeps retrying, which is how a client hangs on a suspended target of a
real cache, while a test can still see the status at once.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

from hpccache_cli.emulator.config import Faults
from hpccache_cli.emulator.namespace import Namespace
from hpccache_cli.emulator.nodes import MAX_FILE_SIZE, REAL, NfsStatusError, Node, parent_path
from hpccache_cli.emulator.writeback import path_fails
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

OK = S.NFS3_OK
MAX_READ = 1 << 20  # FSINFO's rtmax
# Sizes for READDIRPLUS paging (RFC 1813 3.3.17): what one entry and the reply frame take.
_RESOK_FIXED = 4 + 88 + 8 + 4 + 4  # status, dir post_op_attr, cookieverf, list end, eof
_ENTRY_FIXED = 4 + 8 + 4 + 8 + 88 + 4 + 4 + 16  # follows, fileid, name len, cookie, attr, fh
_EMPTY_WCC = nfs3.WccData()


class NfsHandlers:
    """The NFS program's procedures over one namespace; counts flush COMMITs for faults."""

    def __init__(self, namespace: Namespace, faults: Faults, write_verf: bytes) -> None:
        self.ns = namespace
        self.faults = faults
        self.verf = write_verf
        self.flush_commits = 0
        self.flush_ops: Counter[int] = Counter()  # flush COMMITs by request (count field)
        self.overdue_status = 0  # STATUS answered "running" after the scheduled end
        self.table: dict[int, Callable[[Any], Any]] = {
            nfs3.NULL.number: self.null,
            nfs3.GETATTR.number: self.getattr,
            nfs3.LOOKUP.number: self.lookup,
            nfs3.ACCESS.number: self.access,
            nfs3.READ.number: self.read,
            nfs3.READDIRPLUS.number: self.readdirplus,
            nfs3.FSSTAT.number: self.fsstat,
            nfs3.FSINFO.number: self.fsinfo,
            nfs3.PATHCONF.number: self.pathconf,
            nfs3.COMMIT.number: self.commit,
        }

    def _node(self, fh: bytes) -> Node:
        node = self.ns.node_for_handle(fh)
        self._check_suspended(node)
        self._check_denied(node)
        return node

    def _check_denied(self, node: Node) -> None:
        """``denied_paths`` refuse every call on their handles, however the client came by
        the handle (a LOOKUP, or a READDIRPLUS listing of the directory above: a back end
        refusing this client still lets the cache name the file)."""
        if self.faults.denied_paths and path_fails(node.path, self.faults.denied_paths):
            raise NfsStatusError(S.NFS3ERR_ACCES)

    def _check_suspended(self, node: Node) -> None:
        if node.target is not None and node.target.name in self.ns.suspended:
            raise NfsStatusError(S.NFS3ERR_JUKEBOX)

    def _attrs(self, node: Node) -> tuple[os.stat_result | None, nfs3.Fattr3]:
        st = self.ns.stat_handle(node)
        return st, self.ns.fattr(node, st)

    def null(self, _: None) -> None:
        return None

    def getattr(self, fh: bytes) -> tuple[int, Any]:
        return OK, self._attrs(self._node(fh))[1]

    def lookup(self, a: nfs3.LookupArgs) -> tuple[int, Any]:
        directory = self._node(a.dir)
        node, st = self.ns.lookup(directory, a.name)
        if self.faults.denied_paths and path_fails(node.path, self.faults.denied_paths):
            raise NfsStatusError(S.NFS3ERR_ACCES)  # as a back end refusing this client would
        return OK, nfs3.LookupOk(node.handle, self.ns.fattr(node, st), None)

    def access(self, a: nfs3.AccessArgs) -> tuple[int, Any]:
        # Everything asked for is granted: the emulator does not model permissions.
        return OK, nfs3.AccessOk(self._attrs(self._node(a.object))[1], a.access)

    def read(self, a: nfs3.ReadArgs) -> tuple[int, Any]:
        node = self._node(a.file)
        if self.ns.verifier.due(node):  # the verification timer ran out: compare first
            self.ns.verify(node)
        data, eof, st = read_file(node, a.offset, min(a.count, MAX_READ))
        return OK, nfs3.ReadOk(self.ns.fattr(node, st), len(data), eof, data)

    def fsstat(self, fh: bytes) -> tuple[int, Any]:
        return OK, nfs3.FsstatOk(self._attrs(self._node(fh))[1])

    def fsinfo(self, fh: bytes) -> tuple[int, Any]:
        return OK, nfs3.FsinfoOk(self._attrs(self._node(fh))[1], rtmax=MAX_READ, rtpref=MAX_READ,
                                 maxfilesize=MAX_FILE_SIZE)

    def pathconf(self, fh: bytes) -> tuple[int, Any]:
        return OK, nfs3.PathconfOk(self._attrs(self._node(fh))[1])

    def readdirplus(self, a: nfs3.ReaddirplusArgs) -> tuple[int, Any]:
        """One page of a directory; cookie = index of the next entry in the listing."""
        node = self._node(a.dir)
        st, dir_attr = self._attrs(node)
        if not self.ns.is_dir(st):
            raise NfsStatusError(S.NFS3ERR_NOTDIR)
        names, verf = self.ns.listing(node, a.cookieverf, fresh=a.cookie == 0)
        if a.cookie > len(names):
            raise NfsStatusError(S.NFS3ERR_BAD_COOKIE)
        budget = a.maxcount - _RESOK_FIXED
        dir_budget = a.dircount or 1 << 31
        entries: list[nfs3.EntryPlus] = []
        index = a.cookie
        while index < len(names):
            name = names[index]
            raw = os.fsencode(name)
            padded = (len(raw) + 3) & ~3
            size = _ENTRY_FIXED + padded
            dsize = 8 + 4 + padded + 8
            if size > budget or dsize > dir_budget:
                if not entries:
                    raise NfsStatusError(S.NFS3ERR_TOOSMALL)
                break
            index += 1
            try:
                if name == ".":
                    child, cst = node, st
                elif name == "..":
                    child = self.ns.node_at(parent_path(node.path)) or node
                    cst = self.ns.stat(child)
                else:
                    child, cst = self.ns.child(node, name)
                    if self.ns.verify(child):  # READDIRPLUS makes the cache compare files
                        cst = self.ns.stat(child)
            except NfsStatusError:  # vanished since the listing was read: skip it
                continue
            budget -= size
            dir_budget -= dsize
            entries.append(nfs3.EntryPlus(child.fileid, raw, index,
                                          self.ns.fattr(child, cst), child.handle))
        return OK, nfs3.ReaddirplusOk(dir_attr, verf, entries, index >= len(names))

    def commit(self, a: nfs3.CommitArgs) -> Any:
        """COMMIT, plain or an HPC Cache flush. Every answer, OK or not, carries the file's
        post-op attributes (``file_wcc.after``), as COMMIT3res of a real server does:
        flush_file.py prints the mtime from them. Only a handle that names no file gets the
        empty wcc_data (the dispatcher's failure body)."""
        node = self.ns.node_for_handle(a.file)
        try:
            self._check_suspended(node)  # JUKEBOX, still with the file's attributes
            self._check_denied(node)
            if a.offset == nfs3.FLUSH_OFFSET:
                return self._flush(node, a.count)
            if self.ns.is_dir(self.ns.stat_handle(node)):
                raise NfsStatusError(S.NFS3ERR_ISDIR)
            return self._ok(node)
        except NfsStatusError as exc:
            return exc.status, self._wcc(node)

    def _wcc(self, node: Node) -> nfs3.WccData:
        """wcc_data of a COMMIT answer: no pre-op attributes, post-op ones of the winning
        copy (the cache copy while there is one); none with ``bare_commit_replies``."""
        if self.faults.bare_commit_replies:
            return _EMPTY_WCC
        try:
            st = self.ns.stat(node)
        except NfsStatusError:  # vanished: nothing to describe
            return _EMPTY_WCC
        return nfs3.WccData(None, self.ns.fattr(node, st))

    def _ok(self, node: Node) -> tuple[int, nfs3.CommitOk]:
        return OK, nfs3.CommitOk(self._wcc(node), self.verf)

    def _flush(self, node: Node, op: int) -> Any:
        """The HPC Cache flush protocol (offset FLUSH_OFFSET, ``op`` in count)."""
        self.flush_commits += 1
        self.flush_ops[op] += 1
        every = self.faults.jukebox_every
        if every > 0 and self.flush_commits % every == 0:
            raise NfsStatusError(S.NFS3ERR_JUKEBOX)
        if op not in (nfs3.FLUSH_SYNC, nfs3.FLUSH_ASYNC_START, nfs3.FLUSH_STATUS):
            raise NfsStatusError(S.NFS3ERR_INVAL)
        if self.ns.is_dir(self.ns.stat_handle(node)):
            raise NfsStatusError(S.NFS3ERR_ISDIR)
        if not node.caches_writes:  # writes went straight through: nothing is ever dirty
            return self._ok(node)
        wb = self.ns.writeback
        running = wb.running(node.path)
        if op == nfs3.FLUSH_STATUS:
            if running:
                self.overdue_status += wb.overdue(node.path)
                raise NfsStatusError(S.NFS3ERR_NOT_SYNC)
            if self.ns.node_dirty(node):
                raise NfsStatusError(S.NFS3ERR_NOTEMPTY)
            return self._ok(node)
        if not running and not self.ns.node_dirty(node):
            return self._ok(node)
        task = wb.start(node)  # joins the running write-back if there is one
        if op == nfs3.FLUSH_ASYNC_START:
            raise NfsStatusError(S.NFS3ERR_NOT_SYNC)
        return self._sync(node, task)

    def _sync(
        self, node: Node, task: asyncio.Task[bool]
    ) -> Coroutine[Any, Any, tuple[int, Any]]:
        async def wait() -> tuple[int, Any]:
            # Shielded: a client that hangs up must not cancel the write-back itself.
            if await asyncio.shield(task):
                return self._ok(node)
            return S.NFS3ERR_IO, self._wcc(node)

        return wait()


def read_file(node: Node, offset: int, count: int) -> tuple[bytes, bool, os.stat_result]:
    """READ from the cache copy, else the back-end copy (the cache reads it through)."""
    for path in (node.cache_path, node.backend_path):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:  # a symlink (not followed), no permission...
            raise NfsStatusError(S.NFS3ERR_IO) from None
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise NfsStatusError(S.NFS3ERR_ISDIR)
            data = os.pread(fd, count, offset)
        finally:
            os.close(fd)
        return data, offset + len(data) >= st.st_size, st
    raise NfsStatusError(S.NFS3ERR_STALE if node.kind == REAL else S.NFS3ERR_ISDIR)
