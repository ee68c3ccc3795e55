"""The NFS client's write path (SETATTR, CREATE, MKDIR, WRITE, COMMIT, REMOVE), as mixins.

Kept apart from :mod:`hpccache_cli.nfs.client` so that module stays the read/flush client a
flush imports, and this one (with its codecs, :mod:`hpccache_cli.nfs.nfs3_write`) loads only
for ``hpccache copy`` and tests. :class:`WriteCalls` is mixed into ``NfsClient`` and
:class:`SyncWriteCalls` into ``SyncNfsClient``; both only need the host class's call hooks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.nfs3_const import CreateMode, StableHow

if TYPE_CHECKING:  # imported by each call: a flush, which never writes, never loads them
    from hpccache_cli.nfs import nfs3_write as w
    from hpccache_cli.nfs.write_plan import WriteStats

T = TypeVar("T")


def _show(name: bytes) -> str:
    return name.decode("utf-8", "backslashreplace")


class WriteCalls:
    """Async write calls; the host provides ``_call_nfs(proc, args, timeout)``."""

    def _call_nfs(self, proc: nfs3.Procedure, args: Any = None,
                  timeout: float | None = None) -> Awaitable[Any]:  # pragma: no cover
        raise NotImplementedError

    async def setattr(self, fh: bytes, attrs: w.Sattr3,
                      guard: nfs3.NfsTime3 | None = None) -> nfs3.WccData:
        """SETATTR: mode, owner, size, times (``guard``: only if the ctime is still this)."""
        from hpccache_cli.nfs import nfs3_write as w

        res = await self._call_nfs(w.SETATTR, w.SetattrArgs(fh, attrs, guard))
        wcc: nfs3.WccData = nfs3.ok_body(res, "SETATTR")
        return wcc

    async def create(self, dir_fh: bytes, name: bytes, attrs: w.Sattr3 | None = None,
                     mode: CreateMode = CreateMode.UNCHECKED) -> w.CreateOk:
        """CREATE a regular file; GUARDED fails with NFS3ERR_EXIST on an existing name,
        UNCHECKED reuses it (and a ``size`` of 0 in ``attrs`` truncates it)."""
        from hpccache_cli.nfs import nfs3_write as w

        how = w.CreateHow(mode, attrs or w.Sattr3())
        res = await self._call_nfs(w.CREATE, w.CreateArgs(dir_fh, name, how))
        ok: w.CreateOk = nfs3.ok_body(res, f"CREATE {_show(name)}")
        return ok

    async def mkdir(self, dir_fh: bytes, name: bytes,
                    attrs: w.Sattr3 | None = None) -> w.CreateOk:
        from hpccache_cli.nfs import nfs3_write as w

        res = await self._call_nfs(w.MKDIR, w.MkdirArgs(dir_fh, name, attrs or w.Sattr3()))
        ok: w.CreateOk = nfs3.ok_body(res, f"MKDIR {_show(name)}")
        return ok

    async def write(self, fh: bytes, offset: int, data: bytes,
                    stable: StableHow = StableHow.UNSTABLE) -> w.WriteOk:
        """One WRITE of at most ``nfs3_write.MAX_WRITE`` bytes (see :meth:`write_file`)."""
        from hpccache_cli.nfs import nfs3_write as w

        res = await self._call_nfs(w.WRITE, w.WriteArgs(fh, offset, len(data), stable, data))
        ok: w.WriteOk = nfs3.ok_body(res, "WRITE")
        return ok

    async def remove(self, dir_fh: bytes, name: bytes) -> nfs3.WccData:
        from hpccache_cli.nfs import nfs3_write as w

        res = await self._call_nfs(w.REMOVE, w.RemoveArgs(dir_fh, name))
        wcc: nfs3.WccData = nfs3.ok_body(res, f"REMOVE {_show(name)}")
        return wcc

    async def write_file(self, fh: bytes, data: bytes, *, offset: int = 0,
                         wtmax: int | None = None, parallel: int = 4) -> WriteStats:
        """Write ``data`` at ``offset`` by the rules of :mod:`~hpccache_cli.nfs.write_plan`
        (FSINFO's wtmax unless given; FILE_SYNC for one chunk, UNSTABLE + COMMIT above)."""
        from hpccache_cli.nfs.nfs3_write import MAX_WRITE
        from hpccache_cli.nfs.write_plan import write_ranges

        if wtmax is None:
            fsinfo: nfs3.FsinfoOk = nfs3.ok_body(await self._call_nfs(nfs3.FSINFO, fh),
                                                 "FSINFO")
            wtmax = fsinfo.wtmax
        chunk = max(1, min(wtmax or MAX_WRITE, MAX_WRITE))
        view = memoryview(data)

        async def one(at: int, count: int, stable: StableHow) -> tuple[int, StableHow, bytes]:
            ok = await self.write(fh, at, bytes(view[at - offset:at - offset + count]), stable)
            return ok.count, ok.committed, ok.verf

        async def commit() -> bytes:
            res = await self._call_nfs(nfs3.COMMIT, nfs3.CommitArgs(fh, 0, 0))
            ok: nfs3.CommitOk = nfs3.ok_body(res, "COMMIT")
            return ok.verf

        return await write_ranges([(offset, len(data))], one, commit, chunk=chunk,
                                  parallel=parallel)


class SyncWriteCalls:
    """Blocking write calls; the host provides ``_run(coro)`` and ``_writer()`` (its async
    client)."""

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:  # pragma: no cover
        raise NotImplementedError

    def _writer(self) -> WriteCalls:  # pragma: no cover
        raise NotImplementedError

    def setattr(self, fh: bytes, attrs: w.Sattr3,
                guard: nfs3.NfsTime3 | None = None) -> nfs3.WccData:
        return self._run(self._writer().setattr(fh, attrs, guard))

    def create(self, dir_fh: bytes, name: bytes, attrs: w.Sattr3 | None = None,
               mode: CreateMode = CreateMode.UNCHECKED) -> w.CreateOk:
        return self._run(self._writer().create(dir_fh, name, attrs, mode))

    def mkdir(self, dir_fh: bytes, name: bytes, attrs: w.Sattr3 | None = None) -> w.CreateOk:
        return self._run(self._writer().mkdir(dir_fh, name, attrs))

    def write(self, fh: bytes, offset: int, data: bytes,
              stable: StableHow = StableHow.UNSTABLE) -> w.WriteOk:
        return self._run(self._writer().write(fh, offset, data, stable))

    def remove(self, dir_fh: bytes, name: bytes) -> nfs3.WccData:
        return self._run(self._writer().remove(dir_fh, name))

    def write_file(self, fh: bytes, data: bytes, *, offset: int = 0, wtmax: int | None = None,
                   parallel: int = 4) -> WriteStats:
        return self._run(self._writer().write_file(fh, data, offset=offset, wtmax=wtmax,
                                                parallel=parallel))


__all__ = ["SyncWriteCalls", "WriteCalls"]
