"""The emulator's write path: CREATE, MKDIR, WRITE, SETATTR and REMOVE (COMMIT is shared with
the flush protocol in :mod:`~hpccache_cli.emulator.handlers_nfs`).

Where bytes land follows the storage target's usage model, as on a real cache:

- a target that caches writes gets them in the *cache copy* (``cache_dir/<namespace path>``):
  the file is then dirty, written back on the emulator's schedule (``write_back_delay_seconds``
  after its last change) or when a flush asks, exactly as a file dirtied any other way;
- a target whose model does not cache writes gets them on the back end directly.

A write to a file that exists only on the back end first copies it into the cache (the cache
reads a file in before changing part of it). Directories are created on both sides at once:
the emulator writes back file data, not empty directories.

Nothing a client sends is trusted: one WRITE carries at most ``nfs3_write.MAX_WRITE`` bytes
(its codec refuses more before any buffer is made), a file may not grow past
:data:`MAX_FILE_SIZE` (FSINFO says so), names are checked as LOOKUP checks them, and writes
are plain ``pwrite`` calls to disk, so no client can make the emulator hold its data in memory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hpccache_cli.emulator.nodes import MAX_FILE_SIZE, REAL, NfsStatusError, Node, child_path
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs import nfs3_write as w
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

if TYPE_CHECKING:
    from hpccache_cli.emulator.handlers_nfs import NfsHandlers

OK = S.NFS3_OK


class WriteHandlers:
    """The write procedures over the namespace of ``nfs`` (which owns the write verifier and
    the suspended-target check: one of each per server)."""

    def __init__(self, nfs: NfsHandlers) -> None:
        self.nfs = nfs
        self.ns = nfs.ns
        self.writes = 0  # WRITE calls answered (tests and benchmarks read it)
        self.table: dict[int, Callable[[Any], Any]] = {
            w.SETATTR.number: self.setattr,
            w.WRITE.number: self.write,
            w.CREATE.number: self.create,
            w.MKDIR.number: self.mkdir,
            w.REMOVE.number: self.remove,
        }

    # --- helpers ----------------------------------------------------------------------------

    def _wcc(self, node: Node) -> nfs3.WccData:
        try:
            return nfs3.WccData(None, self.ns.fattr(node, self.ns.stat(node)))
        except NfsStatusError:
            return nfs3.WccData()

    def _dir(self, fh: bytes) -> Node:
        node = self.nfs._node(fh)
        if not self.ns.is_dir(self.ns.stat_handle(node)):
            raise NfsStatusError(S.NFS3ERR_NOTDIR)
        return node

    def _new(self, directory: Node, name: bytes) -> tuple[Node, os.stat_result | None, bool]:
        """The node ``name`` would be in ``directory``: (node, its stat, exists)."""
        if len(name) > 255:
            raise NfsStatusError(S.NFS3ERR_NAMETOOLONG)
        text = os.fsdecode(name)
        if not text or "/" in text or "\0" in text:
            raise NfsStatusError(S.NFS3ERR_INVAL)
        if text in (".", ".."):
            raise NfsStatusError(S.NFS3ERR_EXIST)
        node = self.ns.node_for_new(child_path(directory.path, text))
        if node.kind != REAL:  # a synthetic directory or a junction: not the client's
            raise NfsStatusError(S.NFS3ERR_ACCES)
        try:
            return node, self.ns.stat(node), True
        except NfsStatusError:
            return node, None, False

    @staticmethod
    def _home(node: Node) -> str:
        """Where this node's bytes are changed: the cache copy, or the back end."""
        return node.cache_path if node.caches_writes else node.backend_path

    def _writable(self, node: Node) -> str:
        """The file to change, made first: a back-end-only file is read into the cache."""
        home = self._home(node)
        if home == node.cache_path and not os.path.lexists(home):
            os.makedirs(os.path.dirname(home), exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                shutil.copy2(node.backend_path, home, follow_symlinks=False)
        return home

    # --- procedures -------------------------------------------------------------------------

    def create(self, a: w.CreateArgs) -> tuple[int, Any]:
        directory = self._dir(a.dir)
        if a.how.mode == w.CreateMode.EXCLUSIVE:
            raise NfsStatusError(S.NFS3ERR_NOTSUPP)
        node, st, exists = self._new(directory, a.name)
        if exists and (a.how.mode == w.CreateMode.GUARDED or self.ns.is_dir(st)
                       or (st is not None and not stat.S_ISREG(st.st_mode))):
            raise NfsStatusError(S.NFS3ERR_EXIST)
        home = self._writable(node) if exists else self._home(node)
        os.makedirs(os.path.dirname(home), exist_ok=True)
        mode = a.how.attributes.mode
        fd = os.open(home, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW,
                     0o644 if mode is None else mode & 0o7777)
        os.close(fd)
        self._apply(home, a.how.attributes)
        return OK, w.CreateOk(node.handle, self.ns.fattr(node, self.ns.stat(node)),
                              self._wcc(directory))

    def mkdir(self, a: w.MkdirArgs) -> tuple[int, Any]:
        directory = self._dir(a.dir)
        node, _, exists = self._new(directory, a.name)
        if exists:
            raise NfsStatusError(S.NFS3ERR_EXIST)
        mode = a.attributes.mode
        sides = [node.backend_path] + ([node.cache_path] if node.caches_writes else [])
        for path in sides:
            os.makedirs(path, mode=0o755 if mode is None else mode & 0o7777, exist_ok=True)
            self._apply(path, a.attributes)
        return OK, w.CreateOk(node.handle, self.ns.fattr(node, self.ns.stat(node)),
                              self._wcc(directory))

    def write(self, a: w.WriteArgs) -> tuple[int, Any]:
        node = self.nfs._node(a.file)
        st = self.ns.stat_handle(node)
        if self.ns.is_dir(st):
            raise NfsStatusError(S.NFS3ERR_ISDIR)
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise NfsStatusError(S.NFS3ERR_INVAL)
        data = a.data[:a.count]
        if a.offset + len(data) > MAX_FILE_SIZE:
            raise NfsStatusError(S.NFS3ERR_FBIG)
        fd = os.open(self._writable(node), os.O_WRONLY | os.O_NOFOLLOW)
        try:
            view = memoryview(data)
            at = a.offset
            while view:  # a write may be short
                n = os.pwrite(fd, view, at)
                view, at = view[n:], at + n
        finally:
            os.close(fd)
        self.writes += 1
        committed = w.StableHow.UNSTABLE if a.stable == w.StableHow.UNSTABLE \
            else w.StableHow.FILE_SYNC
        return OK, w.WriteOk(self._wcc(node), len(data), committed, self.nfs.verf)

    def setattr(self, a: w.SetattrArgs) -> tuple[int, Any]:
        node = self.nfs._node(a.object)
        st = self.ns.stat_handle(node)
        if node.kind != REAL:
            raise NfsStatusError(S.NFS3ERR_ACCES)
        if a.guard is not None and st is not None and (
                a.guard.seconds, a.guard.nseconds) != divmod(st.st_ctime_ns, 1_000_000_000):
            raise NfsStatusError(S.NFS3ERR_NOT_SYNC)
        attrs = a.new_attributes
        if self.ns.is_dir(st):
            if attrs.size is not None:
                raise NfsStatusError(S.NFS3ERR_ISDIR)
            for path in (node.cache_path, node.backend_path):
                if os.path.isdir(path):
                    self._apply(path, attrs)
        else:
            if attrs.size is not None and attrs.size > MAX_FILE_SIZE:
                raise NfsStatusError(S.NFS3ERR_FBIG)
            self._apply(self._writable(node), attrs)
        return OK, self._wcc(node)

    def remove(self, a: w.RemoveArgs) -> tuple[int, Any]:
        directory = self._dir(a.dir)
        node, st, exists = self._new(directory, a.name)
        if not exists:
            raise NfsStatusError(S.NFS3ERR_NOENT)
        if self.ns.is_dir(st):
            raise NfsStatusError(S.NFS3ERR_ISDIR)
        for path in (node.cache_path, node.backend_path):
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                os.unlink(path)
        self.ns.invalidate_handle(node.path)  # its handle is STALE from now on
        return OK, self._wcc(directory)

    @staticmethod
    def _apply(path: str, attrs: w.Sattr3) -> None:
        """Set what a sattr3 asks on ``path`` (owners are not modelled: ignored)."""
        try:
            if attrs.size is not None:
                os.truncate(path, attrs.size)
            if attrs.mode is not None:
                os.chmod(path, attrs.mode & 0o7777, follow_symlinks=False)
            if attrs.atime != w.TimeHow.DONT_CHANGE or attrs.mtime != w.TimeHow.DONT_CHANGE:
                st = os.lstat(path)
                now = time.time_ns()
                os.utime(path, ns=(_when(attrs.atime, st.st_atime_ns, now),
                                   _when(attrs.mtime, st.st_mtime_ns, now)),
                         follow_symlinks=False)
        except IsADirectoryError:
            raise NfsStatusError(S.NFS3ERR_ISDIR) from None
        except OSError:
            raise NfsStatusError(S.NFS3ERR_IO) from None


def _when(value: w.SetTime, old: int, now: int) -> int:
    if isinstance(value, nfs3.NfsTime3):
        return value.seconds * 1_000_000_000 + min(value.nseconds, 999_999_999)
    return now if value == w.TimeHow.SET_TO_SERVER_TIME else old


__all__ = ["WriteHandlers"]
