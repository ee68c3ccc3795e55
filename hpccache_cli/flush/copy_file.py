"""One file of ``hpccache copy``, through the flush's :class:`CacheSession` (every mount
address, JUKEBOX waits, failover): create, quick check, write, set attributes, write back.

The calls of one file, in order:

1. ``CREATE GUARDED`` with the file's mode: one call for a file that is new (most of a first
   copy). ``NFS3ERR_EXIST`` means a rerun: LOOKUP it and apply rsync's *quick check* (same
   size and same mtime in whole seconds): identical files are skipped, so an interrupted copy
   resumes where it stopped. A different file is truncated (``CREATE UNCHECKED``, size 0).
2. ``WRITE``: by the rules of :mod:`hpccache_cli.nfs.write_plan`: one FILE_SYNC WRITE for a
   small file; a large one in chunks of the server's wtmax, several at once, each on
   whichever mount address is least loaded. Over one address the chunks go UNSTABLE, then
   COMMIT (written again if the verifier changed); over several they go FILE_SYNC, because a
   COMMIT to one node of the cache does not cover unstable data held by another. Only the
   data extents of a sparse file are sent. Each chunk holds one of the engine's buffers while
   it is read and sent, so memory stays flat whatever the files' sizes.
3. ``SETATTR``: mode, size (a trailing hole) and the source's atime/mtime
   (SET_TO_CLIENT_TIME), after the data, since a WRITE moves the mtime.
4. With ``flush``: the HPC Cache flush COMMIT (SYNC), so the file is on the storage target
   when it is reported ``copied``; a skipped identical file is flushed too (a copy
   interrupted after its data but before its write-back is finished by the rerun).

The source is checked again after its data went out: a file that changed while it was copied
fails (its copy is not a version that ever existed), to be copied again by a rerun.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from hpccache_cli.flush.copy_local import (
    ChangedWhileCopied,
    extents,
    is_sparse,
    read_exactly,
    same_version,
)
from hpccache_cli.flush.pool import CacheUnreachable, DeadlineExceeded
from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome
from hpccache_cli.flush.session import CacheSession, FileFailure, StaleHandle, q
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.client import FlushOp, NfsClient
from hpccache_cli.nfs.errors import NfsClientError, NfsError
from hpccache_cli.nfs.nfs3_write import CreateMode, CreateOk, Sattr3, StableHow, WriteOk
from hpccache_cli.nfs.write_plan import write_ranges

S = nfs3.Nfsstat3
_NS = 1_000_000_000


@dataclass
class CopyContext:
    """What every file of one copy shares."""

    session: CacheSession
    flush: bool = True
    chunk: int = 1 << 20  # min(FSINFO wtmax, MAX_WRITE)
    parallel: int = 4  # chunks of one file in flight
    buffers: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(32))
    deadline_seconds: float | None = None
    option_names: Mapping[str, str] | None = None
    stable_chunks: bool = False  # chunks spread over several addresses: FILE_SYNC each
    summary: FlushSummary | None = None  # its bytes_copied counts as the data goes out
    bytes_written: int = 0  # data bytes the cache took (all files)


def _time(ns: int) -> nfs3.NfsTime3:
    ns = min(max(ns, 0), (2**32 - 1) * _NS)  # nfstime3 seconds are unsigned 32-bit
    return nfs3.NfsTime3(ns // _NS, ns % _NS)


def identical(attrs: nfs3.Fattr3 | None, st: os.stat_result) -> bool:
    """rsync's quick check: a regular file of the same size and mtime (whole seconds)."""
    return (attrs is not None and attrs.is_regular and attrs.size == st.st_size
            and attrs.mtime.seconds == st.st_mtime_ns // _NS)


async def copy_file(ctx: CopyContext, local: bytes, st: os.stat_result, dir_fh: bytes,
                    name: bytes, shown: bytes) -> FileResult:
    """Copy one regular file into directory ``dir_fh`` as ``name``; its outcome (``shown``
    is the path the result names: the source path as given)."""
    started = time.monotonic()
    limit = ctx.deadline_seconds
    deadline = started + limit if limit is not None else None
    phase = "creating it"
    try:
        fh, existing = await _create(ctx, dir_fh, name, st, deadline)
        if existing is not None and identical(existing, st):
            phase = "writing it back"
            await _flush(ctx, fh, deadline)
            back = " and written back" if ctx.flush else ""
            return FileResult(shown, Outcome.SKIPPED, "identical on the cache (size and mtime): "
                              f"not copied again{back}", kind="identical")
        if existing is not None:
            phase = "truncating the older copy"
            fh = await _truncate(ctx, dir_fh, name, st, deadline)
        phase = "writing"
        sent = await _write(ctx, local, st, fh, deadline)
        phase = "setting its mode and times"
        times = Sattr3(mode=st.st_mode & 0o7777, size=st.st_size, atime=_time(st.st_atime_ns),
                       mtime=_time(st.st_mtime_ns))
        await ctx.session.call(lambda c: c.setattr(fh, times), deadline, "SETATTR")
        phase = "writing it back"
        await _flush(ctx, fh, deadline)
        how = "copied and written back to the storage target" if ctx.flush else "copied"
        return FileResult(shown, Outcome.COPIED, f"{how} ({sent:,} bytes)", kind="copied")
    except ChangedWhileCopied as exc:
        return FileResult(shown, Outcome.FAILED, f"{exc}; copy it again", kind="changed")
    except OSError as exc:
        return FileResult(shown, Outcome.FAILED, f"cannot read it: {exc.strerror or exc}",
                          kind="local")
    except FileFailure as exc:
        return FileResult(shown, Outcome.FAILED, exc.reason, kind=exc.kind)
    except StaleHandle:
        return FileResult(shown, Outcome.FAILED, f"{phase}: the file handle went stale "
                          "(NFS3ERR_STALE): was it removed meanwhile?", kind="stale")
    except DeadlineExceeded as exc:
        awaited = f"{phase}: {exc.awaited}" if exc.awaited else phase
        return FileResult(shown, Outcome.FAILED, f"timed out after {limit:g} s ({awaited})",
                          kind="timeout")
    except CacheUnreachable as exc:
        return FileResult(shown, Outcome.FAILED, f"cache unreachable: {exc}", kind="unreachable")
    except NfsError as exc:
        return FileResult(shown, Outcome.FAILED, f"{phase}: {exc.name}",
                          kind=exc.name.removeprefix("NFS3ERR_").lower())
    except NfsClientError as exc:  # (a VerifierChanged too: a ProtocolError)
        return FileResult(shown, Outcome.FAILED, f"{phase}: {type(exc).__name__}: "
                          f"{exc.render(ctx.option_names)}", kind="rpc")


async def _create(ctx: CopyContext, dir_fh: bytes, name: bytes, st: os.stat_result,
                  deadline: float | None) -> tuple[bytes, nfs3.Fattr3 | None]:
    """A new file's handle (None: it is new), or the existing one's with its attributes."""
    attrs = Sattr3(mode=st.st_mode & 0o7777)
    try:
        ok: CreateOk = await ctx.session.call(
            lambda c: c.create(dir_fh, name, attrs, CreateMode.GUARDED), deadline, "CREATE")
    except NfsError as exc:
        if exc.status != S.NFS3ERR_EXIST:
            raise
        found = await ctx.session.call(lambda c: c.lookup(dir_fh, name), deadline, "LOOKUP")
        existing = found.obj_attributes
        if existing is None:
            existing = await ctx.session.call(lambda c: c.getattr(found.object), deadline,
                                              "GETATTR")
        if existing.is_dir:
            raise FileFailure(f"{q(name)} exists on the cache as a directory: not replaced",
                              "isdir") from None
        if not existing.is_regular:
            raise FileFailure(f"{q(name)} exists on the cache as a "
                              f"{nfs3.Ftype3(existing.type).label}: not replaced",
                              "exists") from None
        return found.object, existing
    return await _handle(ctx, ok, dir_fh, name, deadline), None


async def _truncate(ctx: CopyContext, dir_fh: bytes, name: bytes, st: os.stat_result,
                    deadline: float | None) -> bytes:
    attrs = Sattr3(mode=st.st_mode & 0o7777, size=0)
    ok: CreateOk = await ctx.session.call(
        lambda c: c.create(dir_fh, name, attrs, CreateMode.UNCHECKED), deadline, "CREATE")
    return await _handle(ctx, ok, dir_fh, name, deadline)


async def _handle(ctx: CopyContext, ok: CreateOk, dir_fh: bytes, name: bytes,
                  deadline: float | None) -> bytes:
    """The created file's handle (a server may leave it out of the reply: LOOKUP then)."""
    if ok.obj is not None:
        return ok.obj
    found = await ctx.session.call(lambda c: c.lookup(dir_fh, name), deadline, "LOOKUP")
    return found.object


async def _write(ctx: CopyContext, local: bytes, st: os.stat_result, fh: bytes,
                 deadline: float | None) -> int:
    """Send the file's data; the bytes sent."""
    fd = os.open(local, os.O_RDONLY)
    try:
        size = st.st_size
        ranges = extents(fd, size) if is_sparse(st) else [(0, size)]

        async def one(at: int, count: int, stable: StableHow) -> tuple[int, StableHow, bytes]:
            async with ctx.buffers:
                data = read_exactly(fd, at, count)

                async def send(c: NfsClient) -> WriteOk:
                    return await c.write(fh, at, data, stable)

                ok = await ctx.session.call(send, deadline, "WRITE")
            ctx.bytes_written += ok.count
            if ctx.summary is not None:
                ctx.summary.bytes_copied += ok.count
            return ok.count, ok.committed, ok.verf

        async def commit() -> bytes:
            ok = await ctx.session.call(lambda c: c.commit(fh), deadline, "COMMIT")
            return ok.verf

        stats = await write_ranges(ranges, one, commit, chunk=ctx.chunk, parallel=ctx.parallel,
                                   stable_chunks=ctx.stable_chunks)
        if not same_version(st, os.fstat(fd)):
            raise ChangedWhileCopied("it changed while being copied (its size or mtime moved)")
        return stats.bytes
    finally:
        os.close(fd)


async def _flush(ctx: CopyContext, fh: bytes, deadline: float | None) -> None:
    """The HPC Cache flush (SYNC): the file is on the storage target when this returns."""
    if not ctx.flush:
        return
    status = await ctx.session.flush(fh, FlushOp.SYNC, deadline)
    if status != S.NFS3_OK:
        raise FileFailure(f"copied to the cache, but its write-back failed "
                          f"({nfs3.status_name(status)}); run the copy again to retry",
                          "write-back")


__all__ = ["CopyContext", "copy_file", "identical"]
