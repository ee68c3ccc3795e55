"""Parallel ingest through the cache: the engine of ``hpccache copy``.

"A simple copy command from one client gives slow copy performance"; the cache's documentation
sends users to hand-made parallel ``cp`` over one kernel mount. :class:`CopyEngine` writes
through the bundled NFS client instead, over every mount address of the cache at once and
without a mount: many files at once (``concurrency``), each large file in parallel chunks,
each call on the least-loaded address (the flush's :class:`CacheSession`: failover, JUKEBOX
waits, handle cache). With ``flush`` each file is written back to its storage target before
it is reported, so the run ends with the data on the target.

Sources are local paths: a file goes to ``DEST/name``, a directory to ``DEST/name/...`` (its
contents straight into DEST when named ``SRC/``); the local rules (links, special files,
sparse files) are in :mod:`~hpccache_cli.flush.copy_local`, one file's calls in
:mod:`~hpccache_cli.flush.copy_file`. DEST and the directories on the way are created.

Every path ends with one outcome, as in a flush: ``copied``, ``skipped`` (identical already,
or not a regular file, with the reason), ``failed`` (reason) or ``unfinished`` (Ctrl-C). A
directory gets its line when its listing was walked to the end; if a Ctrl-C stops the walk,
the directories not walked to the end are ``unfinished`` (they stand for the files below them
not reached), so a rerun of the same command is the resume: identical files are skipped.

``select`` (``--shard``) decides per destination namespace path which files this job copies;
every job creates the directories (MKDIR of an existing directory is harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from collections.abc import Callable, Sequence
from typing import Any

from hpccache_cli.flush.copy_file import CopyContext, copy_file
from hpccache_cli.flush.copy_local import dest_name, skip_reason
from hpccache_cli.flush.options import FlushOptions
from hpccache_cli.flush.owed_tasks import OwedTasks
from hpccache_cli.flush.pool import CacheUnreachable, DeadlineExceeded, cancel_and_wait
from hpccache_cli.flush.resolve import Target, split_components
from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome
from hpccache_cli.flush.session import CacheSession, FileFailure, q
from hpccache_cli.flush.sinks import Sink
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.errors import NfsClientError, NfsError
from hpccache_cli.nfs.nfs3_write import MAX_WRITE, Sattr3

S = nfs3.Nfsstat3
#: Chunks (each up to 1 MiB) being read and sent at once over the whole run: the memory bound.
BUFFERS = 32


class CopyEngine:
    """Runs one copy of local ``sources`` into ``dest`` (see the module docstring)."""

    def __init__(self, dest: Target, options: FlushOptions, sink: Sink | None = None, *,
                 flush: bool = True, select: Callable[[bytes], bool] | None = None,
                 chunks_per_file: int = 4, client_factory: Callable[..., Any] | None = None,
                 ) -> None:
        options.validate()
        self.dest = dest
        self.options = options
        self.sink = sink or Sink()
        self.flush = flush
        self.select = select
        self.chunks_per_file = max(1, chunks_per_file)
        self.summary = FlushSummary(mode="copy")
        self._client_factory = client_factory
        self._ctx: CopyContext | None = None
        self._slots = asyncio.Semaphore(options.concurrency)
        self._stopping = False
        self._tasks = OwedTasks()  # each owes its file an outcome, even if it never ran
        # The walk (connect, DEST, the sources' directories) runs as a task of its own so
        # that a stop cancels it even inside an MKDIR a slow server holds (up to a call's
        # whole timeout, before); every source from ``_next`` on has no outcome yet.
        self._walker: asyncio.Task[None] | None = None
        self._next = 0

    @property
    def bytes_written(self) -> int:
        return self._ctx.bytes_written if self._ctx is not None else 0

    def request_stop(self) -> None:
        """Ctrl-C: files in flight end ``unfinished``, and so does every source and directory
        not walked to its end (they stand for the files below them)."""
        self._stopping = True
        self._tasks.cancel()
        if self._walker is not None:
            self._walker.cancel()

    async def run(self, sources: Sequence[bytes]) -> FlushSummary:
        self.sink.attach(self.summary)
        started = time.monotonic()
        session = CacheSession(self.dest.addresses, self.options, log=self.sink.log,
                               client_factory=self._client_factory)
        walker = self._walker = asyncio.create_task(self._walk(session, sources))
        if self._stopping:
            walker.cancel()
        try:
            await asyncio.wait({walker})
            if not walker.cancelled():
                walker.result()
            while self._tasks:
                await asyncio.wait(self._tasks.live())
        except asyncio.CancelledError:
            self._stopping = True
            raise
        finally:
            await cancel_and_wait([walker])
            if walker.cancelled() or self._stopping:  # (not when the walk raised)
                for rest in sources[self._next:]:  # not taken by the walk: stopped first
                    self._emit(_unfinished(rest, "interrupted before it started"))
                self._next = len(sources)
            await cancel_and_wait(self._tasks.live())
            self.summary.interrupted = self.summary.interrupted or self._stopping
            self.summary.seconds = time.monotonic() - started
            with contextlib.suppress(Exception):
                await session.close()
            if self.summary.reasons.get("unreachable") and not session.pool.answered:
                self.summary.unreachable = True
                self.summary.unreachable_reason = session.pool.down_reason()
        return self.summary

    async def _walk(self, session: CacheSession, sources: Sequence[bytes]) -> None:
        """Connect, make DEST, walk each source; a cancel (a stop) leaves the sources from
        ``_next`` on to :meth:`run`, and each source taken accounts for itself."""
        await session.start()
        self._ctx = CopyContext(session, self.flush, parallel=self.chunks_per_file,
                                buffers=asyncio.Semaphore(BUFFERS),
                                deadline_seconds=self.options.deadline_seconds,
                                option_names=self.options.client.option_names,
                                stable_chunks=len(self.dest.addresses) > 1,
                                summary=self.summary)
        dest_fh = await self._dest_dir(sources)
        if dest_fh is None:
            return
        for index, src in enumerate(sources):
            if self._stopping:
                return
            self._next = index + 1
            await self._source(src, dest_fh)
        self.summary.input_complete = not self._stopping

    # -- results ------------------------------------------------------------------------------

    def _emit(self, result: FileResult, *, count: bool = True) -> None:
        if count:
            self.summary.total += 1
        self.summary.add(result)
        try:
            self.sink.emit(result)
        except OSError as exc:
            if not self.summary.output_error:
                self.summary.output_error = f"cannot write results: {exc}"
                self.request_stop()

    def _mine(self, rel: bytes) -> bool:
        """Does this job (``--shard``) own the destination ``rel``?"""
        if self.select is None:
            return True
        ns = b"/" + b"/".join(split_components(self.dest.export) + split_components(rel))
        return self.select(ns)

    # -- destination and directories ----------------------------------------------------------

    def _deadline(self) -> float | None:
        limit = self.options.deadline_seconds
        return time.monotonic() + limit if limit is not None else None

    async def _dest_dir(self, sources: Sequence[bytes]) -> bytes | None:
        """DEST's handle, made with its parents if missing; on failure every source fails."""
        ctx = self._ctx
        assert ctx is not None
        try:
            fh = await ctx.session.root(self.dest.export, self._deadline())
            for name in split_components(self.dest.rel):
                fh, _ = await self._mkdir(fh, name, 0o755)
            info: nfs3.FsinfoOk = await ctx.session.call(lambda c: c.fsinfo(fh),
                                                         self._deadline(), "FSINFO")
            ctx.chunk = max(4096, min(info.wtmax or MAX_WRITE, MAX_WRITE))
            return fh
        except (FileFailure, DeadlineExceeded, CacheUnreachable, NfsClientError) as exc:
            where = q(self.dest.export.rstrip(b"/") + b"/" + self.dest.rel)
            reason, kind = _why(exc)
            self._next = len(sources)
            for src in sources:
                self._emit(FileResult(src, Outcome.FAILED, f"destination {where}: {reason}",
                                      kind=kind))
            return None

    async def _mkdir(self, dir_fh: bytes, name: bytes, mode: int) -> tuple[bytes, bool]:
        """MKDIR ``name`` (or find it there already): its handle, and whether it was made."""
        ctx = self._ctx
        assert ctx is not None
        deadline = self._deadline()
        try:
            ok = await ctx.session.call(lambda c: c.mkdir(dir_fh, name, Sattr3(mode=mode)),
                                        deadline, "MKDIR")
            if ok.obj is not None:
                return ok.obj, True
            made = True
        except NfsError as exc:
            if exc.status != S.NFS3ERR_EXIST:
                raise
            made = False
        found = await ctx.session.call(lambda c: c.lookup(dir_fh, name), deadline, "LOOKUP")
        attrs = found.obj_attributes
        if attrs is not None and not attrs.is_dir:
            raise FileFailure(f"{q(name)} exists on the cache and is not a directory", "notdir")
        return found.object, made

    # -- sources ------------------------------------------------------------------------------

    async def _source(self, src: bytes, dest_fh: bytes) -> None:
        try:
            st = os.stat(src)  # named on the command line: a link is followed (cp -H)
        except OSError as exc:
            self._emit(FileResult(src, Outcome.FAILED, f"cannot read it: {exc.strerror}",
                                  kind="local"))
            return
        name = dest_name(src)
        base = self.dest.rel
        rel = (base + b"/" + name if base else name) if name else base
        if stat.S_ISDIR(st.st_mode):
            await self._directory(src, rel, dest_fh, name, st)
        elif not self._mine(rel):
            return
        elif name is None:
            self._emit(FileResult(src, Outcome.FAILED, "not a directory (a trailing / names "
                                  "a directory's contents)", kind="notdir"))
        elif stat.S_ISREG(st.st_mode):
            await self._file(src, st, dest_fh, name)
        else:
            self._emit(FileResult(src, Outcome.SKIPPED, skip_reason(src, st) or "",
                                  kind="special"))

    async def _directory(self, src: bytes, rel: bytes, parent_fh: bytes, name: bytes | None,
                         st: os.stat_result) -> None:
        """Make the directory (unless ``SRC/``: DEST itself), then walk it, depth first with a
        stack of directories still to walk (their paths only: memory follows the depth and
        the pending directories, never a listing)."""
        try:
            fh, made = ((parent_fh, False) if name is None
                        else await self._mkdir(parent_fh, name, _dir_mode(st)))
        except asyncio.CancelledError:  # stopped while its MKDIR was out
            if self._mine(rel):
                self._emit(_unfinished(src, "interrupted before every entry below it was "
                                       "copied"))
            raise
        except (FileFailure, DeadlineExceeded, CacheUnreachable, NfsClientError) as exc:
            reason, kind = _why(exc)
            if self._mine(rel):
                self._emit(FileResult(src, Outcome.FAILED, f"creating the directory: {reason}; "
                                      "nothing below it was copied", kind=kind))
            return
        stack = [(src, rel, fh, made)]
        while stack:
            if self._stopping:
                for path, drel, _, _ in stack:
                    if self._mine(drel):
                        self._emit(_unfinished(path, "interrupted before every entry below it "
                                               "was copied"))
                return
            path, drel, dfh, dmade = stack.pop()
            try:
                outcome = await self._walk_one(path, drel, dfh, stack)
            except asyncio.CancelledError:  # stopped inside the walk (an MKDIR held)
                for left, lrel, _, _ in [*stack, (path, drel, dfh, dmade)]:
                    if self._mine(lrel):
                        self._emit(_unfinished(left, "interrupted before every entry below "
                                               "it was copied"))
                raise
            if outcome is not None and self._mine(drel):
                if outcome is Outcome.UNFINISHED:
                    self._emit(_unfinished(path, "interrupted before every entry below it was "
                                           "copied"))
                elif dmade:
                    self._emit(FileResult(path, Outcome.COPIED, "directory created",
                                          kind="dir"))
                else:
                    self._emit(FileResult(path, Outcome.SKIPPED, "directory already on the "
                                          "cache", kind="dir"))

    async def _walk_one(self, path: bytes, rel: bytes, fh: bytes,
                        stack: list[tuple[bytes, bytes, bytes, bool]]) -> Outcome | None:
        """Every entry of one local directory: files spawned, directories made and stacked.
        The directory's outcome (None: already reported as failed)."""
        try:
            listing = os.scandir(path)
        except OSError as exc:
            if self._mine(rel):
                self._emit(FileResult(path, Outcome.FAILED, f"cannot list it: {exc.strerror}",
                                      kind="local"))
            return None
        with listing:
            for entry in listing:
                if self._stopping:
                    return Outcome.UNFINISHED
                name = os.fsencode(entry.name)
                child = os.fsencode(entry.path)
                child_rel = rel + b"/" + name if rel else name
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    if self._mine(child_rel):
                        self._emit(FileResult(child, Outcome.FAILED,
                                              f"cannot read it: {exc.strerror}", kind="local"))
                    continue
                if stat.S_ISDIR(st.st_mode):
                    try:
                        cfh, made = await self._mkdir(fh, name, _dir_mode(st))
                    except (FileFailure, DeadlineExceeded, CacheUnreachable,
                            NfsClientError) as exc:
                        reason, kind = _why(exc)
                        if self._mine(child_rel):
                            self._emit(FileResult(child, Outcome.FAILED, "creating the "
                                                  f"directory: {reason}; nothing below it was "
                                                  "copied", kind=kind))
                        continue
                    stack.append((child, child_rel, cfh, made))
                elif not self._mine(child_rel):
                    continue
                elif stat.S_ISREG(st.st_mode):
                    await self._file(child, st, fh, name)
                else:
                    self._emit(FileResult(child, Outcome.SKIPPED, skip_reason(child, st) or "",
                                          kind="special"))
        return Outcome.COPIED

    # -- files ----------------------------------------------------------------------------------

    async def _file(self, src: bytes, st: os.stat_result, dir_fh: bytes, name: bytes) -> None:
        try:
            await self._slots.acquire()  # files in flight: the walk's backpressure
        except asyncio.CancelledError:  # the walk stopped while waiting for a slot
            self._emit(_unfinished(src, "interrupted before it started"))
            raise
        if self._stopping:
            self._slots.release()
            self._emit(_unfinished(src, "interrupted before it started"))
            return
        self.summary.total += 1
        self._tasks.spawn(self._one(src, st, dir_fh, name), lambda: self._never_ran(src))

    def _never_ran(self, src: bytes) -> None:
        """A file task cancelled before its first step: its slot back, the file unfinished
        (already counted in the total by :meth:`_file`)."""
        self._slots.release()
        self._emit(_unfinished(src, "interrupted before it started"), count=False)

    async def _one(self, src: bytes, st: os.stat_result, dir_fh: bytes, name: bytes) -> None:
        started = time.monotonic()
        ctx = self._ctx
        assert ctx is not None
        try:
            result = await copy_file(ctx, src, st, dir_fh, name, src)
        except asyncio.CancelledError:
            self._emit(_unfinished(src, "interrupted before it finished"), count=False)
            raise
        except Exception as exc:  # a bug must still leave the path with an outcome
            result = FileResult(src, Outcome.FAILED,
                                f"internal error: {type(exc).__name__}: {exc}", kind="internal")
        finally:
            self._slots.release()
        result.seconds = time.monotonic() - started
        self._emit(result, count=False)


def _dir_mode(st: os.stat_result) -> int:
    """A directory's mode on the cache: the source's, plus rwx for its owner, who must be able
    to create the files below it (``cp -r`` adds them while it copies, too)."""
    return (st.st_mode & 0o7777) | 0o700


def _why(exc: Exception) -> tuple[str, str]:
    """A failure's reason and kind, for directories and the destination."""
    if isinstance(exc, FileFailure):
        return exc.reason, exc.kind
    if isinstance(exc, DeadlineExceeded):
        return f"timed out ({exc.awaited or 'no answer'})", "timeout"
    if isinstance(exc, CacheUnreachable):
        return f"cache unreachable: {exc}", "unreachable"
    if isinstance(exc, NfsError):
        return exc.name, exc.name.removeprefix("NFS3ERR_").lower()
    return f"{type(exc).__name__}: {exc}", "rpc"


def _unfinished(raw: bytes, reason: str) -> FileResult:
    return FileResult(raw, Outcome.UNFINISHED, reason, kind="interrupted")


__all__ = ["BUFFERS", "CopyEngine"]
