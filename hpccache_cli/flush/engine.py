"""The flush engine: a stream of paths in, exactly one outcome per path out.

Shape of a run (all on one asyncio loop)::

    source --batches--> feeder (resolve, dedup) --bounded queue--> N workers (FileFlow)
                                                      ^                 | directory
                                                      |                 v  (--recursive)
                                                 expanders <-- directory queue

* The feeder reads while workers flush; the bounded work queue is the backpressure that
  keeps memory flat however long the input is. Workers never put into the work queue, so
  the pipeline cannot deadlock; only the feeder and the expanders do.
* ``concurrency`` workers = files in flight. A worker owns one file from lookup to outcome.
* ``request_stop()`` (Ctrl-C): workers are cancelled and record their file as unfinished,
  queued paths are recorded as unfinished, and the rest of the input is still read (until it
  ends or stays idle for ``drain_idle`` s) so the failed list holds everything not done; a
  second request stops reading at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from hpccache_cli.errors import fill_fields
from hpccache_cli.flush.dedup import Digester, DigestSet
from hpccache_cli.flush.expand import TreeWalk
from hpccache_cli.flush.flow import DirectoryFound, FileFlow, WorkItem
from hpccache_cli.flush.inputs import PathSource
from hpccache_cli.flush.options import FlushOptions
from hpccache_cli.flush.pool import cancel_and_wait
from hpccache_cli.flush.resolve import OUTSIDE_SHARD, Resolver, Target
from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome
from hpccache_cli.flush.session import CacheSession, q, settle_unreachable
from hpccache_cli.flush.sinks import Sink
from hpccache_cli.flush.throttle import Throttle
from hpccache_cli.flush.workqueue import WorkQueue
from hpccache_cli.nfs.nfs3 import Fattr3

UNFINISHED = "interrupted before it finished"
NOT_STARTED = "interrupted before it started"
#: The digester key of refused paths (no cache has an empty address list).
_REFUSED: tuple[tuple[str, ...], bytes] = ((), b"\0refused")


@dataclass(slots=True)
class _DirJob:
    item: WorkItem
    fh: bytes
    attrs: Fattr3 | None = None


class FlushEngine:
    """Runs one flush over a PathSource; see the module docstring for the shape."""

    def __init__(
        self,
        resolver: Resolver,
        options: FlushOptions,
        sink: Sink | None = None,
        *,
        client_factory: Callable[..., Any] | None = None,
        collect: bool = False,
    ) -> None:
        options.validate()
        self.resolver = resolver
        self.options = options
        self.sink = sink or Sink()
        self.summary = FlushSummary(
            mode=options.mode, status_only=options.status_only,
            results=[] if collect else None,
        )
        self._client_factory = client_factory
        self._sessions: dict[tuple[str, ...], asyncio.Future[CacheSession]] = {}
        self._flows: dict[tuple[str, ...], FileFlow] = {}
        self._seen = DigestSet(8192)
        self._digesters: dict[tuple[tuple[str, ...], bytes], Digester] = {}
        self._interrupted = False
        self._stop_requests = 0
        self._stop_event: asyncio.Event | None = None
        self._feeder: asyncio.Task[None] | None = None
        self._dirs_open = 0
        self.throttle = Throttle(  # files in flight, backing off on transport failures (AIMD)
            options.concurrency, floor=options.policies.backoff_floor, log=self._log
        )

    # -- public -------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ctrl-C: first call stops new work; a second one also stops reading input."""
        self._stop_requests += 1
        if self._stop_event is not None:
            self._stop_event.set()
        if self._stop_requests > 1 and self._feeder is not None:
            self._feeder.cancel()

    async def run(self, source: PathSource) -> FlushSummary:
        """Flush every path of ``source``; returns the summary (results went to the sink)."""
        opts = self.options
        # Records in the input, when it could count them up front (a regular file): progress
        # then has a percentage and an ETA from the start (FlushSummary.total_estimate).
        self.summary.expected_input = getattr(source, "expected", None)
        self.sink.attach(self.summary)
        self._stop_event = asyncio.Event()
        if self._stop_requests:
            self._stop_event.set()
        self._work: WorkQueue[WorkItem] = WorkQueue(max(256, 2 * opts.concurrency))
        self._dirs: asyncio.Queue[_DirJob] = asyncio.Queue()
        started = time.monotonic()
        workers = [asyncio.create_task(self._worker()) for _ in range(opts.concurrency)]
        if opts.recursive:
            workers += [asyncio.create_task(self._expander()) for _ in range(opts.expanders)]
        self._feeder = asyncio.create_task(self._feed(source))
        if self._stop_requests > 1:  # two stops before the run (Interrupts.route replays
            self._feeder.cancel()    # signals noted before it): the second stops reading
        heartbeat = asyncio.create_task(self._heartbeat())
        finisher = asyncio.create_task(self._finish(self._feeder))
        stop_wait = asyncio.create_task(self._stop_event.wait())
        try:
            await asyncio.wait({finisher, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            # A finisher cancelled here was not cancelled by our caller: a second stop
            # cancelled the feeder before its first step, and the shield passed that on.
            if finisher.done() and not finisher.cancelled():
                finisher.result()
            else:
                finisher.cancel()
                await self._interrupt(workers)
        except asyncio.CancelledError:
            # The caller was cancelled (KeyboardInterrupt in asyncio.run): still account
            # for every path before letting the cancellation through.
            finisher.cancel()
            await self._interrupt(workers)
            raise
        finally:
            await cancel_and_wait([*workers, finisher, stop_wait, heartbeat])
            await self._close_sessions()
            self.summary.seconds = time.monotonic() - started
            settle_unreachable(self.summary, self._sessions.values())
        return self.summary

    # -- pipeline -----------------------------------------------------------------------------

    def _emit(self, result: FileResult) -> None:
        self.summary.add(result)
        try:
            self.sink.emit(result)
        except OSError as exc:  # report disk full, output pipe closed...: stop, say why
            if not self.summary.output_error:
                self.summary.output_error = f"cannot write results: {exc}"
                self.request_stop()

    def _log(self, message: str) -> None:
        self.sink.log(message)

    def _notice(self, message: str) -> None:
        self.sink.notice(message)

    async def _heartbeat(self) -> None:
        """``sink.tick()`` every second: a console's progress line is due every 10 s even
        while no file finishes (docs/pipelines.md), which results alone cannot drive."""
        while True:
            await asyncio.sleep(1.0)
            self.sink.tick()

    async def _feed(self, source: PathSource) -> None:
        """Read, resolve and dedup input; put work on the bounded queue (backpressure)."""
        assert self._stop_event is not None
        stop: asyncio.Future[Any] = asyncio.ensure_future(self._stop_event.wait())
        pending: asyncio.Future[Any] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(source.next_batch())
                if self._interrupted:
                    done, _ = await asyncio.wait({pending}, timeout=self._drain_idle)
                    if not done:
                        return
                else:
                    await asyncio.wait({pending, stop}, return_when=asyncio.FIRST_COMPLETED)
                    if not pending.done():
                        continue  # stopped: loop round to drain mode
                try:
                    batch = pending.result()
                except OSError as exc:
                    self.summary.input_error = f"cannot read the input: {exc}"
                    self._log(self.summary.input_error)
                    return
                pending = None
                if batch is None:
                    self.summary.input_complete = True
                    return
                self.summary.total += len(batch)
                self.summary.input_read += len(batch)
                await self._feed_batch(batch)
        finally:
            stop.cancel()
            if pending is not None:
                if not pending.done():
                    pending.cancel()
                elif not pending.cancelled() and pending.exception() is None:
                    for raw in pending.result() or ():  # read, never looked at: account
                        self.summary.total += 1
                        self._emit(_unfinished(raw, NOT_STARTED))

    async def _feed_batch(self, batch: list[bytes]) -> None:
        """Admit each path of one batch; if the feeder is cancelled (second Ctrl-C) while it
        waits for queue space, the rest of the batch is still accounted for."""
        work = self._work
        for i, raw in enumerate(batch):
            item = self._admit(raw)
            if item is None:
                continue
            if self._interrupted:
                self._emit(_unfinished(raw, NOT_STARTED))
                continue
            if not work.full():  # no coroutine for the common case
                work.put_nowait(item)
                continue
            try:
                await work.put(item)
            except asyncio.CancelledError:
                self._emit(_unfinished(raw, NOT_STARTED))
                for rest in batch[i + 1 :]:
                    if (later := self._admit(rest)) is not None:
                        self._emit(_unfinished(later.raw, NOT_STARTED))
                raise

    @property
    def _drain_idle(self) -> float:
        return self.options.policies.drain_idle

    def _admit(self, raw: bytes) -> WorkItem | None:
        """Resolve and dedup one input path; final outcomes (refused, duplicate) are emitted."""
        if raw.isspace():  # a blank-looking line, not a name: NOENT would send users hunting
            self._emit(FileResult(raw, Outcome.SKIPPED, "only whitespace: not a path",
                                  kind="blank"))
            return None
        resolved = self.resolver.resolve(raw)
        if resolved is OUTSIDE_SHARD:  # another --shard job's path: not input of this run
            self.summary.total -= 1
            self.summary.outside_shard += 1
            return None
        if isinstance(resolved, FileResult):
            # a refused path given again is a repeat too: one failure, one line to retry
            self._emit(resolved if self._first_refusal(raw) else FileResult(
                raw, Outcome.SKIPPED, "duplicate of an earlier input", kind="duplicate"))
            return None
        if not self._first_time(resolved):
            self._emit(FileResult(raw, Outcome.SKIPPED, "duplicate of an earlier input",
                                  kind="duplicate"))
            return None
        return WorkItem(raw, resolved)

    def _first_time(self, target: Target) -> bool:
        """Not seen before: the digest of (addresses, export, path) is new."""
        where = (target.addresses, target.export)
        digester = self._digesters.get(where)
        if digester is None:
            digester = self._digesters[where] = Digester(
                ",".join(target.addresses).encode(), target.export)
        rel = target.rel if target.alt is None else target.rel + b"\0" + target.alt
        return self._seen.add(digester(rel))

    def _first_refusal(self, raw: bytes) -> bool:
        """A path the resolver refused, not seen refused before (its input bytes, digested
        apart from every (addresses, export) key: NUL cannot be in an export)."""
        digester = self._digesters.get(_REFUSED)
        if digester is None:
            digester = self._digesters[_REFUSED] = Digester(b"", b"\0refused")
        return self._seen.add(digester(raw))

    async def _finish(self, feeder: asyncio.Task[None]) -> None:
        """Wait until input is read and every file and listed directory has an outcome."""
        await asyncio.shield(feeder)  # cancelling the finisher must not stop the feeder
        while True:
            await self._work.join()
            if self._dirs_open == 0:
                return
            await self._dirs.join()

    async def _worker(self) -> None:
        work, flows = self._work, self._flows
        while True:
            item = work.take() or await work.get()
            try:
                flow = flows.get(item.target.addresses) or await self._flow(item.target.addresses)
                outcome = await flow.run(item)
            except asyncio.CancelledError:
                self._emit(_unfinished(item.raw, UNFINISHED))
                raise
            except Exception as exc:  # a bug must still leave the path with an outcome
                self._emit(FileResult(item.raw, Outcome.FAILED,
                                      f"internal error: {type(exc).__name__}: {exc}",
                                      kind="internal"))
            else:
                if isinstance(outcome, DirectoryFound):
                    self._directory(item, outcome)
                else:
                    self._emit(outcome)
            finally:
                self._work.task_done()

    def _directory(self, item: WorkItem, found: DirectoryFound) -> None:
        if not self.options.recursive:
            # A failure, as `cp dir dest` without -r: the user named something not flushed.
            reason = fill_fields("is a directory; use {recursive}", ("recursive",),
                                 self.options.option_names, {"recursive": "recursive=True"})
            self._emit(FileResult(item.raw, Outcome.FAILED,
                                  f"{reason}; {item.note}" if item.note else reason,
                                  kind="directory"))
            return
        self._dirs_open += 1
        self.summary.listing += 1
        self._dirs.put_nowait(_DirJob(item, found.fh, found.attrs))

    async def _expander(self) -> None:
        while True:
            job = await self._dirs.get()
            try:
                result = await self._expand(job)
            except asyncio.CancelledError:
                self._emit(_unfinished(job.item.raw, UNFINISHED))
                raise
            except Exception as exc:
                result = FileResult(job.item.raw, Outcome.FAILED,
                                    f"internal error: {type(exc).__name__}: {exc}",
                                    kind="internal")
            finally:
                self._dirs_open -= 1
                self.summary.listing -= 1
                self._dirs.task_done()
            if result is not None:
                self._emit(result)

    async def _expand(self, job: _DirJob) -> FileResult | None:
        """List a directory tree (``flush.expand``) and queue every regular file in it. A
        directory listed whole is not a path of its own: it leaves ``total`` (its files
        are counted instead) and gets no outcome, only a note; one that could not be listed
        whole fails, so ``failed_to`` holds it for the next run."""
        started = time.monotonic()
        session = await self._session(job.item.target.addresses)
        walk = await TreeWalk(session, self.options, job.item.target, job.item.raw, job.fh,
                              job.attrs, self._found, self._found_failed).run()
        seconds = time.monotonic() - started
        files = f"{walk.files:,} file{'' if walk.files == 1 else 's'}"
        if walk.problems:
            more = f" (and {walk.problems - 1:,} more)" if walk.problems > 1 else ""
            return FileResult(job.item.raw, Outcome.FAILED,
                              f"listed {files}, but {walk.first_problem}{more}",
                              seconds=seconds, kind="list")
        self.summary.total -= 1
        self._log(f"listed {q(job.item.raw)}: {files}, each reported on its own")
        return None

    async def _found(self, raw: bytes, target: Target, fh: bytes) -> bool:
        """A file found by a listing: counted (it must get an outcome) and queued, unless
        an earlier input or listing named it already (then False)."""
        if not self._first_time(target):
            return False
        self.summary.total += 1
        try:
            await self._work.put(WorkItem(raw, target, fh))
        except asyncio.CancelledError:  # stopped while the queue was full
            self._emit(_unfinished(raw, NOT_STARTED))
            raise
        return True

    def _found_failed(self, result: FileResult, target: Target) -> None:
        """A path a listing named but that could not be looked up: its own outcome (once)."""
        if self._first_time(target):
            self.summary.total += 1
            self._emit(result)

    async def _interrupt(self, workers: list[asyncio.Task[None]]) -> None:
        """Record in-flight and queued paths as unfinished; keep reading input to account
        for it (bounded by ``drain_idle``)."""
        self._interrupted = True
        self.summary.interrupted = True
        if self._stop_event is not None:
            self._stop_event.set()
        await cancel_and_wait(workers)  # a worker may lose one cancel (see cancel_and_wait)
        feeder = self._feeder
        while feeder is not None and not feeder.done():
            self._drain_queues()
            await asyncio.wait({feeder}, timeout=0.05)
        self._drain_queues()
        if feeder is not None and not feeder.cancelled() and feeder.exception() is not None:
            self._log(f"input: {feeder.exception()}")

    def _drain_queues(self) -> None:
        while not self._work.empty():
            self._emit(_unfinished(self._work.get_nowait().raw, NOT_STARTED))
            self._work.task_done()
        while not self._dirs.empty():
            self._emit(_unfinished(self._dirs.get_nowait().item.raw, NOT_STARTED))
            self._dirs_open -= 1
            self.summary.listing -= 1
            self._dirs.task_done()

    # -- sessions -----------------------------------------------------------------------------

    async def _session(self, addresses: tuple[str, ...]) -> CacheSession:
        fut = self._sessions.get(addresses)
        if fut is None:
            fresh = getattr(self.resolver, "fresh_addresses", None)  # (see Resolver)
            session = CacheSession(addresses, self.options, log=self._log,
                                   client_factory=self._client_factory, throttle=self.throttle,
                                   notice=self._notice,
                                   readdress=partial(fresh, addresses) if fresh else None)
            fut = self._sessions[addresses] = asyncio.ensure_future(self._start(session))
        return await asyncio.shield(fut)

    @staticmethod
    async def _start(session: CacheSession) -> CacheSession:
        try:
            await session.start()
        except BaseException:  # cancelled (stopped while connecting): end its connects too,
            await session.close()  # _close_sessions never sees this session
            raise
        return session

    async def _flow(self, addresses: tuple[str, ...]) -> FileFlow:
        flow = self._flows.get(addresses)
        if flow is None:
            session = await self._session(addresses)
            flow = self._flows.setdefault(addresses, FileFlow(session, self.options, self._log))
        return flow

    async def _close_sessions(self) -> None:
        for fut in self._sessions.values():
            if not fut.done():
                fut.cancel()
        for fut in self._sessions.values():
            with contextlib.suppress(BaseException):
                session = await fut
                await session.close()


def _unfinished(raw: bytes, reason: str) -> FileResult:
    return FileResult(raw, Outcome.UNFINISHED, reason, kind="interrupted")
