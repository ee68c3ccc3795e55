"""One file, from path to outcome: look it up, flush it the way the run asks, explain failures.

The HPC Cache flush protocol (a COMMIT with a magic offset; the count selects the request):

* START (async): NOT_SYNC = write-back started or already running; OK = nothing dirty.
* STATUS: OK = written back; NOT_SYNC = still running; NOTEMPTY = nothing running but the
  file is still dirty (the write-back failed, or the file changed again).
* SYNC: answered when the write-back ends: OK, or the failure status. NOT_SYNC means a
  write-back was already running (e.g. our own, re-issued after a dropped connection), so
  the flow polls STATUS instead.

A write-back that ends dirty (NOTEMPTY) or with an I/O error is re-started up to
``--retries`` times; permission and space errors fail at once; STALE handles are looked up
again; JUKEBOX and dropped connections are handled below (``session``/``pool``) within the
file's deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from hpccache_cli.errors import fill_fields
from hpccache_cli.flush.options import FlushOptions
from hpccache_cli.flush.pool import CacheUnreachable, DeadlineExceeded
from hpccache_cli.flush.resolve import Target
from hpccache_cli.flush.results import FileResult, Outcome, display_path
from hpccache_cli.flush.session import (
    ABSENT_KINDS,
    CacheSession,
    FileFailure,
    StaleHandle,
    q,
    sleep_within,
)
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.client import FlushOp
from hpccache_cli.nfs.errors import NfsClientError

S = nfs3.Nfsstat3
OK = S.NFS3_OK
NOT_SYNC = S.NFS3ERR_NOT_SYNC
NOTEMPTY = S.NFS3ERR_NOTEMPTY
#: Write-back answers worth re-starting the write-back for (up to --retries).
RESTARTABLE = frozenset({S.NFS3ERR_NOTEMPTY, S.NFS3ERR_IO, S.NFS3ERR_SERVERFAULT})


@dataclass(slots=True)
class WorkItem:
    """A path on its way through the engine. ``fh`` is known for files found by listing."""

    raw: bytes
    target: Target
    fh: bytes | None = None
    note: str = ""  # which of two readings was used (added to the file's reason)


@dataclass(slots=True)
class DirectoryFound:
    """The path is a directory: the engine lists it (``--recursive``) or fails it. Its
    attributes (fsid, fileid) let the listing notice a subdirectory that is this one again."""

    fh: bytes
    attrs: nfs3.Fattr3 | None = None


class _State:
    __slots__ = ("phase", "attempts", "reissued")

    def __init__(self) -> None:
        self.phase = "looking up"
        self.attempts = 0
        self.reissued = False  # a flush request was re-sent: its first copy may have run

    def mark_reissued(self) -> None:
        self.reissued = True


def status_text(status: int) -> str:
    return f"{nfs3.status_name(status)} ({status})"


class FileFlow:
    """Runs one WorkItem to a FileResult (or DirectoryFound) under the run's options."""

    def __init__(
        self, session: CacheSession, options: FlushOptions,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.session = session
        self.options = options
        self.policies = options.policies
        self._log = log

    async def run(self, item: WorkItem) -> FileResult | DirectoryFound:
        started = time.monotonic()
        limit = self.options.deadline_seconds
        deadline = started + limit if limit is not None else None
        state = _State()
        fh = item.fh
        stale = 0
        while True:  # (one coroutine per file: the lookup and flush are awaited from here)
            try:
                if fh is None:
                    state.phase = "looking up"
                    target = item.target
                    if target.alt is not None:
                        fh, attrs = await self._pick_reading(item, deadline)
                    else:
                        fh, attrs = await self.session.lookup_target(
                            target.export, target.rel, deadline
                        )
                    if attrs is not None and attrs.is_dir:
                        return DirectoryFound(fh, attrs)
                    if attrs is not None and not attrs.is_regular:
                        kind = _type_name(attrs.type)
                        result = FileResult(
                            item.raw, Outcome.SKIPPED, f"not a regular file ({kind})",
                            kind="not-regular",
                        )
                        break
                result = await self._flush(item.raw, fh, deadline, state)
                break
            except StaleHandle:
                stale += 1
                if stale <= self.policies.stale_retries:
                    # First a fresh lookup of the file; then of every directory on the way.
                    target = item.target  # the reading picked, if there were two
                    self.session.handles.invalidate(
                        target.export, target.parent if stale == 1 else b"")
                    fh = None
                    continue
                result = self._failed(item, FileFailure(
                    f"file handle stays stale (NFS3ERR_STALE) after {stale} lookups", "stale",
                ), state, limit)
                break
            except (FileFailure, DeadlineExceeded, CacheUnreachable, NfsClientError) as exc:
                result = self._failed(item, exc, state, limit)
                break
        result.seconds = time.monotonic() - started
        result.attempts = state.attempts
        if item.note:
            result.reason = f"{result.reason}; {item.note}" if result.reason else item.note
        return result

    def _failed(self, item: WorkItem, exc: Exception, state: _State,
                limit: float | None) -> FileResult:
        """The file's failure, in the user's words."""
        if isinstance(exc, FileFailure):
            return FileResult(item.raw, Outcome.FAILED, exc.reason, kind=exc.kind)
        if isinstance(exc, DeadlineExceeded):
            awaited = f"{state.phase}: {exc.awaited}" if exc.awaited else state.phase
            return FileResult(
                item.raw, Outcome.FAILED, f"timed out after {limit:g} s ({awaited})",
                kind="timeout",
            )
        if isinstance(exc, CacheUnreachable):
            # Never reached at all: the run's one error line gives each address's error
            # (exit 4), so the file names the addresses without repeating their errors.
            why = str(exc) if self.session.pool.answered else down_addresses(self.session)
            return FileResult(
                item.raw, Outcome.FAILED, f"cache unreachable: {why}", kind="unreachable"
            )
        assert isinstance(exc, NfsClientError)  # RPC denied, protocol errors, ...
        return FileResult(
            item.raw, Outcome.FAILED,
            f"{state.phase}: {type(exc).__name__}: "
            f"{exc.render(self.options.client.option_names)}",
            kind="rpc",
        )

    async def _pick_reading(
        self, item: WorkItem, deadline: float | None
    ) -> tuple[bytes, nfs3.Fattr3 | None]:
        """Of a path's two readings (namespace path, path relative to the export), the one
        that exists; ``item.target`` becomes it. Both or neither: the file fails, because
        flushing a guess could report a different file as flushed."""
        t = item.target
        assert t.alt is not None
        found: list[tuple[bytes, nfs3.Fattr3 | None] | FileFailure] = []
        for rel in (t.rel, t.alt):
            try:
                found.append(await self.session.lookup_target(t.export, rel, deadline))
            except FileFailure as exc:
                if exc.kind not in ABSENT_KINDS:  # permission, I/O...: cannot tell; say why
                    raise
                found.append(exc)
        ns, ex = found
        ns_path, ex_path = (q(t.export.rstrip(b"/") + (b"/" + rel if rel else b""))
                            for rel in (t.rel, t.alt))
        if isinstance(ns, FileFailure) and isinstance(ex, FileFailure):
            raise FileFailure(
                f"not found as the namespace path {ns_path} ({ns.reason}) nor relative to the "
                f"export as {ex_path} ({ex.reason})", ns.kind)
        if not isinstance(ns, FileFailure) and not isinstance(ex, FileFailure):
            raise FileFailure(fill_fields(
                f"ambiguous: both {ns_path} (the path read as a namespace path: {{path_kind}} "
                f"namespace) and {ex_path} (read relative to the export: {{path_kind}} export) "
                "exist; pass the {path_kind} of the one you mean", ("path_kind",),
                self.options.option_names), "ambiguous")
        if isinstance(ex, FileFailure):
            assert not isinstance(ns, FileFailure)
            item.target = replace(t, alt=None)
            item.note = f"read as the namespace path {ns_path} ({ex_path} does not exist)"
            return ns
        item.target = replace(t, rel=t.alt, alt=None)
        item.note = f"read relative to the export as {ex_path} ({ns_path} does not exist)"
        return ex

    async def _flush(
        self, raw: bytes, fh: bytes, deadline: float | None, state: _State
    ) -> FileResult:
        opts = self.options
        if opts.status_only:
            return await self._status_only(raw, fh, deadline, state)
        mode = opts.mode
        chooser = self.session.modes if mode == "auto" and opts.wait else None
        if chooser is not None:  # auto: START or SYNC from what the cache answered so far
            first_op = FlushOp.SYNC if chooser.use_sync() else FlushOp.START
        else:
            first_op = FlushOp.SYNC if mode == "sync" else FlushOp.START
        state.phase = "starting write-back"
        # After a STALE handle the flow comes back here: a write-back may be ours already.
        ours = state.attempts > 0
        state.attempts += 1
        sent = time.monotonic()
        status = await self.session.flush(fh, first_op, deadline, state.mark_reissued)
        started = time.monotonic()  # the START's answer: polls are timed from here
        if chooser is not None:
            if first_op == FlushOp.START:
                if status in (OK, NOT_SYNC):
                    chooser.started(status == NOT_SYNC)
            else:
                chooser.synced(started - sent)
        restarts = None  # made at the first restart: most files never need one
        while True:
            if status == OK:
                # START answering OK at once: nothing was dirty. Later, from SYNC, or after a
                # re-sent START (the lost first one may have done the work): written back.
                clean = first_op == FlushOp.START and not (ours or state.reissued)
                return FileResult(raw, Outcome.CLEAN if clean else Outcome.FLUSHED)
            if status == NOT_SYNC:
                if not opts.wait:
                    return FileResult(raw, Outcome.STARTED)
                state.phase = "still flushing"
                status = await self._poll(fh, deadline, started)
                if status == OK:
                    return FileResult(raw, Outcome.FLUSHED)
            if status in RESTARTABLE:
                ours = True
                if state.attempts > opts.retries:
                    raise FileFailure(self._gave_up(status, state.attempts), _kind(status))
                if self._log:
                    self._log(f"{display_path(raw)}: write-back ended {status_text(status)}; "
                              "restarting it")
                state.phase = "restarting write-back"
                restarts = restarts or self.policies.restart.delays()
                await sleep_within(next(restarts), deadline)
                state.attempts += 1
                status = await self.session.flush(fh, first_op, deadline)
                started = time.monotonic()
                continue
            raise FileFailure(f"write-back failed: {status_text(status)}", _kind(status))

    async def _poll(self, fh: bytes, deadline: float | None, started: float) -> int:
        """STATUS until the write-back is no longer running.

        The first poll comes when most of this run's write-backs had ended (see
        :mod:`hpccache_cli.flush.poll_timing`), so a typical file needs one STATUS; after a
        miss, polls back off to the cap, so a slow write-back costs at most one call per
        ``cap`` seconds. Every sleep ends at the file's deadline.
        """
        timer = self.session.polls
        delays = None  # the back-off after a miss, made at the first miss
        delay = timer.first_delay(time.monotonic() - started)
        first = True
        while True:
            await sleep_within(delay, deadline)
            waited = time.monotonic() - started
            status = await self.session.flush(fh, FlushOp.STATUS, deadline)
            if first:
                timer.observe(waited, status != NOT_SYNC)
                self.session.modes.first_poll()
                first = False
            if status != NOT_SYNC:
                return status
            delays = delays or self.policies.poll.delays()
            delay = timer.next_delay(next(delays))

    async def _status_only(
        self, raw: bytes, fh: bytes, deadline: float | None, state: _State
    ) -> FileResult:
        state.phase = "asking for the write-back status"
        state.attempts = 1
        status = await self.session.flush(fh, FlushOp.STATUS, deadline)
        if status == OK:
            return FileResult(raw, Outcome.WRITTEN_BACK)
        if status == NOT_SYNC:
            return FileResult(raw, Outcome.FLUSHING, "write-back running")
        if status == NOTEMPTY:
            return FileResult(raw, Outcome.DIRTY, "dirty, no write-back running")
        raise FileFailure(f"status request failed: {status_text(status)}", _kind(status))

    @staticmethod
    def _gave_up(status: int, attempts: int) -> str:
        if status == NOTEMPTY:
            return (f"write-back failed: file still dirty after {attempts} attempts "
                    f"(NFS3ERR_NOTEMPTY)")
        return f"write-back failed after {attempts} attempts: {status_text(status)}"


def down_addresses(session: CacheSession) -> str:
    """``no mount address answers (A, B)``: the addresses without their errors."""
    down = ", ".join(ep.address for ep in session.pool.endpoints if not ep.up)
    return f"no mount address answers ({down})"


def _kind(status: int) -> str:
    if status == NOTEMPTY:
        return "dirty"
    return nfs3.status_name(status).removeprefix("NFS3ERR_").lower()


def _type_name(ftype: int) -> str:
    """What a non-regular file is, in words; a type number no enum knows stays a number."""
    try:
        return nfs3.Ftype3(ftype).label
    except ValueError:
        return f"type {ftype}"
