"""Back-end verification on demand: one READDIRPLUS pass (every page) per directory.

HPC Cache compares its copy of a file with the storage target's only when the target's
verification timer runs out (never, 30 s, 60 s, 3 h or 8 h, by usage model) or when it serves
a READDIRPLUS of the file's directory. Users who change files on the NAS directly used to run
``ls -l`` over trees and hope; :class:`RefreshEngine` does that pass itself, through the same
:class:`~hpccache_cli.flush.session.CacheSession` as the flush (every mount address, handle
cache, JUKEBOX and reconnect handling), the same resolvers (client paths, namespace paths,
``--ip``/``--export``) and the same results and sinks (reports, failed list, exit codes).

A path names a directory, or a file meaning its directory. Every input path gets one outcome:
``refreshed`` (its directory was listed to the end), ``skipped`` (a duplicate, or a target
that ``skip`` says verifies often enough by itself), ``failed`` or ``unfinished``. Several
inputs in one directory share one pass (and its outcome). With ``recursive`` every directory
below a listed one gets its own pass and its own outcome line.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from hpccache_cli.flush.inputs import PathSource
from hpccache_cli.flush.options import FlushOptions
from hpccache_cli.flush.owed_tasks import OwedTasks
from hpccache_cli.flush.pool import CacheUnreachable, DeadlineExceeded, cancel_and_wait
from hpccache_cli.flush.resolve import OUTSIDE_SHARD, Resolver, Target
from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome
from hpccache_cli.flush.session import (
    CacheSession,
    FileFailure,
    StaleHandle,
    q,
    settle_unreachable,
)
from hpccache_cli.flush.sinks import Sink
from hpccache_cli.nfs.errors import NfsClientError

#: Why a target needs no refresh (its usage model verifies often), or None: refresh it.
SkipRule = Callable[[Target], "str | None"]
DirKey = tuple[tuple[str, ...], bytes, bytes]  # addresses, export, directory
PASSES_KEPT = 65536


class RefreshEngine:
    """Runs one refresh over a PathSource (see the module docstring)."""

    def __init__(self, resolver: Resolver, options: FlushOptions, sink: Sink | None = None,
                 *, skip: SkipRule | None = None,
                 client_factory: Callable[..., Any] | None = None) -> None:
        options.validate()
        self.resolver = resolver
        self.options = options
        self.sink = sink or Sink()
        self.skip = skip
        self.summary = FlushSummary(mode="refresh")
        self._client_factory = client_factory
        self._sessions: dict[tuple[str, ...], asyncio.Future[CacheSession]] = {}
        # Passes by directory, for inputs that share one; the oldest are forgotten past
        # PASSES_KEPT (a later input of such a directory gets a pass of its own), so memory
        # stays flat over millions of directories.
        self._passes: OrderedDict[DirKey, asyncio.Future[FileResult]] = OrderedDict()
        self._slots = asyncio.Semaphore(options.concurrency)
        self._stopping = False
        self._stop_requests = 0
        self._stop: asyncio.Event | None = None
        self._tasks = OwedTasks()  # each owes its path an outcome, even if it never ran
        # ``recursive``: handles of the directories listed, so that a server naming a
        # directory's parent (or itself) as an entry cannot walk this run round a loop.
        self._listed: set[bytes] = set()

    def request_stop(self) -> None:
        """Ctrl-C: directories in flight end as ``unfinished``, and so does the rest of the
        input, still read (until it ends or stays idle ``drain_idle`` s) so that the failed
        list holds everything not done; a second request stops reading at once."""
        self._stopping = True
        self._stop_requests += 1
        if self._stop is not None:
            self._stop.set()
        self._tasks.cancel()

    async def run(self, source: PathSource) -> FlushSummary:
        self.summary.expected_input = getattr(source, "expected", None)
        self.sink.attach(self.summary)
        self._stop = asyncio.Event()
        if self._stopping:
            self._stop.set()
        started = time.monotonic()
        try:
            await self._read(source)
            while self._tasks:
                await asyncio.wait(self._tasks.live())
        except asyncio.CancelledError:
            self._stopping = True
            raise
        finally:
            await cancel_and_wait(self._tasks.live())
            self.summary.interrupted = self.summary.interrupted or self._stopping
            await self._close_sessions()
            self.summary.seconds = time.monotonic() - started
            settle_unreachable(self.summary, self._sessions.values())
        return self.summary

    async def _read(self, source: PathSource) -> None:
        """Read the input batch by batch and admit each path; after a stop request, account
        for the rest as unfinished (bounded by ``drain_idle`` per batch)."""
        assert self._stop is not None
        pending: asyncio.Future[list[bytes] | None] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(source.next_batch())
                if self._stopping:
                    await asyncio.wait({pending}, timeout=self.options.policies.drain_idle)
                    if not pending.done() or self._stop_requests > 1:
                        return
                else:
                    stop: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
                    waiting: set[asyncio.Future[Any]] = {pending, stop}
                    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    stop.cancel()
                    if not pending.done():
                        continue
                try:
                    batch = pending.result()
                except OSError as exc:
                    self.summary.input_error = f"cannot read the input: {exc}"
                    self.sink.log(self.summary.input_error)
                    return
                pending = None
                if batch is None:
                    self.summary.input_complete = True
                    return
                self.summary.total += len(batch)
                self.summary.input_read += len(batch)
                for raw in batch:
                    if self._stopping:
                        self._emit(_unfinished(raw, "interrupted before it started"))
                    else:
                        await self._admit(raw)
        finally:
            if pending is not None:
                if not pending.done():
                    pending.cancel()
                elif not pending.cancelled() and pending.exception() is None:
                    # Read, never looked at (a second stop returns with it, before the
                    # loop takes it): still the input's, so still each path's outcome.
                    batch = pending.result() or []
                    self.summary.total += len(batch)
                    self.summary.input_read += len(batch)
                    for raw in batch:
                        self._emit(_unfinished(raw, "interrupted before it started"))

    # -- input --------------------------------------------------------------------------------

    def _emit(self, result: FileResult) -> None:
        self.summary.add(result)
        try:
            self.sink.emit(result)
        except OSError as exc:
            if not self.summary.output_error:
                self.summary.output_error = f"cannot write results: {exc}"
                self.request_stop()

    async def _admit(self, raw: bytes) -> None:
        if raw.isspace():
            self._emit(FileResult(raw, Outcome.SKIPPED, "only whitespace: not a path",
                                  kind="blank"))
            return
        resolved = self.resolver.resolve(raw)
        if resolved is OUTSIDE_SHARD:
            self.summary.total -= 1
            self.summary.outside_shard += 1
            return
        if isinstance(resolved, FileResult):
            self._emit(resolved)
            return
        why = self.skip(resolved) if self.skip is not None else None
        if why:
            self._emit(FileResult(raw, Outcome.SKIPPED, why, kind="verifies-often"))
            return
        await self._slots.acquire()  # directories in flight: the backpressure on input
        if self._stopping:
            self._slots.release()
            self._emit(_unfinished(raw, "interrupted before it started"))
            return
        self._tasks.spawn(self._one(raw, resolved), lambda: self._never_ran(raw, held=True))

    def _never_ran(self, raw: bytes, *, held: bool) -> None:
        """A path task cancelled before its first step: its slot back, its path unfinished."""
        if held:
            self._slots.release()
        self._emit(_unfinished(raw, "interrupted before it started"))

    async def _one(self, raw: bytes, target: Target) -> None:
        """An input path (its slot already taken): look it up, list its directory."""
        await self._run_pass(raw, target, None, held=True)

    async def _subdir(self, raw: bytes, target: Target, fh: bytes) -> None:
        """A directory found by ``recursive``: waits for a slot of its own."""
        await self._run_pass(raw, target, fh, held=False)

    async def _run_pass(self, raw: bytes, target: Target, fh: bytes | None, *,
                        held: bool) -> None:
        started = time.monotonic()
        below: list[tuple[bytes, bytes, bytes]] = []
        try:
            if not held:
                await self._slots.acquire()
                held = True
            result, below = await self._refresh(raw, target, fh, started)
        except asyncio.CancelledError:
            self._emit(_unfinished(raw, "interrupted before it finished"))
            raise
        except Exception as exc:  # a bug must still leave the path with an outcome
            result = FileResult(raw, Outcome.FAILED,
                                f"internal error: {type(exc).__name__}: {exc}", kind="internal")
        finally:
            if held:
                self._slots.release()
        result.seconds = time.monotonic() - started
        self._emit(result)
        self.summary.total += len(below)  # each directory below gets an outcome of its own
        for rel, handle, child_raw in below:
            refused = self._refuse_subdir(rel, handle)
            if refused is not None:
                self._emit(FileResult(child_raw, Outcome.FAILED, refused, kind="list"))
                continue
            self._tasks.spawn(
                self._subdir(child_raw, Target(target.addresses, target.export, rel), handle),
                functools.partial(self._never_ran, child_raw, held=False))

    def _refuse_subdir(self, rel: bytes, handle: bytes) -> str | None:
        """Why a directory found by ``recursive`` is not listed, or None: one already listed
        (a loop the server made: its paths would not exist) or nested past the depth budget
        (the same rules as the flush's tree walk, ``flush.expand``)."""
        if handle in self._listed:
            return ("not listed: the server named a directory already listed (same handle) "
                    "as an entry here, a loop (a server bug?)")
        if rel.count(b"/") + 1 > self.options.policies.listing_depth:
            return (f"not listed: nested deeper than {self.options.policies.listing_depth:,} "
                    "directories (a server bug?)")
        return None

    # -- one directory ------------------------------------------------------------------------

    async def _refresh(self, raw: bytes, target: Target, fh: bytes | None, started: float,
                       ) -> tuple[FileResult, list[tuple[bytes, bytes, bytes]]]:
        limit = self.options.deadline_seconds
        deadline = started + limit if limit is not None else None
        session = await self._session(target.addresses)
        phase = "looking up"
        try:
            directory, dir_raw = target.rel, raw.rstrip(b"/") or raw
            if fh is None:
                fh, is_dir, target = await self._reading(session, target, deadline)
                if not is_dir:  # a file means its directory
                    directory = target.parent
                    dir_raw = raw.rstrip(b"/").rpartition(b"/")[0] or b"."
                    fh = await session.dir_handle(target.export, directory, deadline)
            phase = "listing"
            key = (target.addresses, target.export, directory)
            shared = self._passes.get(key)
            if shared is not None:
                earlier = await asyncio.shield(shared)
                return FileResult(raw, earlier.outcome, f"{earlier.reason} (one pass with an "
                                  "earlier path in the same directory)", kind=earlier.kind), []
            future: asyncio.Future[FileResult] = asyncio.get_running_loop().create_future()
            self._passes[key] = future
            if len(self._passes) > PASSES_KEPT:
                self._passes.popitem(last=False)
            try:
                entries, below = await self._list(session, target, directory, dir_raw, fh,
                                                  deadline)
            except BaseException as exc:
                failure = exc if isinstance(exc, Exception) else RuntimeError("interrupted")
                future.set_exception(failure)
                future.exception()  # retrieved: no "exception was never retrieved" warning
                raise
            what = ("directory" if directory == target.rel
                    else f"its directory {q(directory or b'/')}")
            result = FileResult(raw, Outcome.REFRESHED,
                                f"{what} listed to the end: {entries} entries compared",
                                kind="listed")
            future.set_result(result)
            return result, below
        except (FileFailure, DeadlineExceeded, CacheUnreachable, NfsClientError) as exc:
            return self._failed(raw, exc, phase, limit, session), []

    async def _reading(self, session: CacheSession, target: Target, deadline: float | None,
                       ) -> tuple[bytes, bool, Target]:
        """Look the path up; a path with two readings (``/JUNCTION/x`` under ``--export``
        /JUNCTION) is the first that exists (the flush asks both; here either names a
        directory to list, so the namespace reading simply goes first)."""
        if target.alt is None:
            return (*await self._lookup(session, target, deadline), target)
        first = Target(target.addresses, target.export, target.rel)
        try:
            return (*await self._lookup(session, first, deadline), first)
        except FileFailure:
            second = Target(target.addresses, target.export, target.alt)
            return (*await self._lookup(session, second, deadline), second)

    async def _lookup(self, session: CacheSession, target: Target, deadline: float | None,
                      ) -> tuple[bytes, bool]:
        """Handle of the path, and whether it is a directory (stale handles looked up again,
        as the flush does: the path first, then every directory on the way)."""
        for attempt in range(self.options.policies.stale_retries + 1):
            try:
                fh, attrs = await session.lookup_target(target.export, target.rel, deadline)
                return fh, attrs is None or attrs.is_dir
            except StaleHandle:
                session.handles.invalidate(target.export, b"" if attempt else target.parent)
        raise FileFailure("file handle stays stale (NFS3ERR_STALE)", "stale")

    async def _list(self, session: CacheSession, target: Target, directory: bytes,
                    dir_raw: bytes, fh: bytes, deadline: float | None,
                    ) -> tuple[int, list[tuple[bytes, bytes, bytes]]]:
        """READDIRPLUS every page of ``directory``: its entry count and, with ``recursive``,
        the (path, handle, input name) of each directory in it."""
        entries = 0
        below: list[tuple[bytes, bytes, bytes]] = []
        self._listed.add(fh)
        async for entry in session.list_dir(fh, lambda: deadline):
            entries += 1
            attrs, handle = entry.name_attributes, entry.name_handle
            if (self.options.recursive and attrs is not None and attrs.is_dir
                    and handle is not None):
                rel = directory + b"/" + entry.name if directory else entry.name
                below.append((rel, handle, dir_raw + b"/" + entry.name))
        return entries, below

    def _failed(self, raw: bytes, exc: Exception, phase: str, limit: float | None,
                session: CacheSession) -> FileResult:
        if isinstance(exc, FileFailure):
            return FileResult(raw, Outcome.FAILED, exc.reason, kind=exc.kind)
        if isinstance(exc, DeadlineExceeded):
            awaited = f"{phase}: {exc.awaited}" if exc.awaited else phase
            return FileResult(raw, Outcome.FAILED, f"timed out after {limit:g} s ({awaited})",
                              kind="timeout")
        if isinstance(exc, CacheUnreachable):
            return FileResult(raw, Outcome.FAILED, f"cache unreachable: {exc}",
                              kind="unreachable")
        assert isinstance(exc, NfsClientError)
        return FileResult(raw, Outcome.FAILED, f"{phase}: {type(exc).__name__}: "
                          f"{exc.render(self.options.client.option_names)}", kind="rpc")

    # -- sessions -----------------------------------------------------------------------------

    async def _session(self, addresses: tuple[str, ...]) -> CacheSession:
        fut = self._sessions.get(addresses)
        if fut is None:
            session = CacheSession(addresses, self.options, log=self.sink.log,
                                   client_factory=self._client_factory)
            fut = self._sessions[addresses] = asyncio.ensure_future(_start(session))
        return await asyncio.shield(fut)

    async def _close_sessions(self) -> None:
        for fut in self._sessions.values():
            if not fut.done():
                fut.cancel()
            with contextlib.suppress(BaseException):
                await (await fut).close()


async def _start(session: CacheSession) -> CacheSession:
    try:
        await session.start()
    except BaseException:
        await session.close()
        raise
    return session


def _unfinished(raw: bytes, reason: str) -> FileResult:
    return FileResult(raw, Outcome.UNFINISHED, reason, kind="interrupted")


__all__ = ["RefreshEngine", "SkipRule"]
