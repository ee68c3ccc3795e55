"""One cache as the flush flow sees it: address pool, mounts, cached directory walks, listing.

Everything that turns ``(export, relative path)`` into a file handle lives here, with the
error wording users see: which component was missing, which one was not a directory, which
permission was refused. Transient answers (JUKEBOX, a dropped connection) are retried here
within the file's deadline, so the flow above only sees answers or final failures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from operator import methodcaller
from typing import Any, TypeVar

from hpccache_cli.errors import fill_fields
from hpccache_cli.flush.busy import BusyWatch
from hpccache_cli.flush.handles import HandleCache
from hpccache_cli.flush.mode_choice import ModeChooser
from hpccache_cli.flush.options import FlushOptions
from hpccache_cli.flush.poll_timing import PollTimer
from hpccache_cli.flush.pool import AddressPool, DeadlineExceeded, NoTimeLeft, Readdress
from hpccache_cli.flush.results import NO_EXPORT, FlushSummary, display_path
from hpccache_cli.flush.throttle import Throttle
from hpccache_cli.nfs import nfs3, readdir
from hpccache_cli.nfs.client import FlushOp, NfsClient
from hpccache_cli.nfs.errors import MountError, NfsError
from hpccache_cli.nfs.mount import Mountstat3

T = TypeVar("T")

S = nfs3.Nfsstat3
STALE = frozenset({S.NFS3ERR_STALE, S.NFS3ERR_BADHANDLE})
#: MOUNT answers that will not change during a run: remember them per export.
MOUNT_FINAL = frozenset(
    {Mountstat3.MNT3ERR_NOENT, Mountstat3.MNT3ERR_ACCES, Mountstat3.MNT3ERR_PERM,
     Mountstat3.MNT3ERR_NOTDIR, Mountstat3.MNT3ERR_INVAL, Mountstat3.MNT3ERR_NAMETOOLONG}
)


class FileFailure(Exception):
    """The file cannot be flushed; ``reason`` is the sentence for the report."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class StaleHandle(Exception):
    """A handle went stale: forget it and look the path up again."""


def q(path: bytes) -> str:
    """A path quoted for messages."""
    return "'" + display_path(path) + "'"


def sleep_within(delay: float, deadline: float | None) -> Awaitable[None]:
    """Sleep ``delay`` seconds, or raise DeadlineExceeded if that would pass the deadline.
    (A plain function: the common case is ``asyncio.sleep`` itself, without a coroutine
    around it on every poll.)"""
    if deadline is None or time.monotonic() + delay < deadline:
        return asyncio.sleep(delay)
    return _sleep_to(deadline)


async def _sleep_to(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
    raise DeadlineExceeded()


async def _busy_pause(delay: float, deadline: float | None, busy_since: float) -> None:
    """The pause after a JUKEBOX; if the file's time runs out in it, the reason says the
    server was busy (not that it did not answer: it did, with "try later")."""
    try:
        await sleep_within(delay, deadline)
    except DeadlineExceeded:
        raise _busy(busy_since) from None


def _busy(busy_since: float) -> DeadlineExceeded:
    busy = round(time.monotonic() - busy_since, 1)
    return DeadlineExceeded(
        f"the server was busy (answered NFS3ERR_JUKEBOX, try later) for {busy:g} s"
    )


def lookup_failure(exc: NfsError, path: bytes, parent: bytes, leaf: bool,
                   names: Mapping[str, str] | None = None) -> FileFailure:
    """The user's sentence for a failed LOOKUP of ``path`` (``leaf``: the file itself;
    ``names``: how to name the keywords, see ``FlushOptions.option_names``)."""
    code = f"{exc.name} ({exc.status})"
    if exc.status == S.NFS3ERR_NOENT:
        what = "not found" if leaf else f"not found: directory {q(path)} does not exist"
        return FileFailure(f"{what} ({exc.name})", "noent")
    if exc.status in (S.NFS3ERR_ACCES, S.NFS3ERR_PERM):
        return FileFailure(
            fill_fields(f"permission denied looking up {q(path)} ({exc.name}); check "
                        "{uid}/{gid}", ("uid", "gid"), names), "access"
        )
    if exc.status == S.NFS3ERR_NOTDIR:
        return FileFailure(f"{q(parent or b'/')} is not a directory ({exc.name})", "notdir")
    if exc.status == S.NFS3ERR_NAMETOOLONG:
        return FileFailure(f"name too long in {q(path)} ({exc.name})", "nametoolong")
    return FileFailure(f"lookup of {q(path)} failed: {code}", "lookup")


#: Failure kinds that say a directory is not there (rather than "not now" or "not you"):
#: only these are remembered by the handle cache. STALE, JUKEBOX, timeouts, transport errors
#: and permission answers are never remembered.
ABSENT_KINDS = frozenset({"noent", "notdir"})


def _absent_dir(exc: Exception) -> Callable[[], Exception] | None:
    """For the handle cache: how to fail the next files under a directory whose LOOKUP
    said it is not there (same sentence, same kind), or None for any other failure."""
    if isinstance(exc, FileFailure) and exc.kind in ABSENT_KINDS:
        return partial(FileFailure, exc.reason, exc.kind)
    return None


def _lookup_call(dir_fh: bytes, name: bytes, client: NfsClient) -> Awaitable[nfs3.LookupOk]:
    return client.lookup(dir_fh, name)


def _flush_call(fh: bytes, op: Any, client: NfsClient, timeout: float) -> Awaitable[int]:
    """A flush COMMIT with its own per-call timeout (see :meth:`CacheSession.flush`)."""
    return client.flush(fh, op, timeout)


class CacheSession:
    """Pool + handle cache for one set of mount addresses (one cache)."""

    def __init__(
        self,
        addresses: Sequence[str],
        options: FlushOptions,
        *,
        client_factory: Callable[..., Any] | None = None,
        log: Callable[[str], None] | None = None,
        throttle: Throttle | None = None,
        notice: Callable[[str], None] | None = None,
        readdress: Readdress | None = None,
    ) -> None:
        client = replace(options.client, connections=options.connections)
        kwargs: dict[str, Any] = {"log": log, "throttle": throttle, "notice": notice,
                                  "readdress": readdress}
        if client_factory is not None:
            kwargs["client_factory"] = client_factory
        self.options = options
        self.policies = options.policies
        self.pool = AddressPool(addresses, client, options.policies, **kwargs)
        self.handles = HandleCache(options.dir_cache)
        self._mount_failures: dict[bytes, FileFailure] = {}
        # When to send STATUS: learned from this run's write-backs (flush.poll_timing).
        self.polls = PollTimer(options.policies.poll, options.policies.first_poll)
        # --mode auto: START and poll, or SYNC, from the same evidence (flush.mode_choice).
        self.modes = ModeChooser(self.polls, log)
        # Files waiting on JUKEBOX, announced through ``notice`` (flush.busy).
        self.busy = BusyWatch(notice, options.policies, options.deadline_seconds,
                              options.option_names)

    async def start(self) -> None:
        await self.pool.start()

    async def close(self) -> None:
        self.busy.close()
        await self.pool.close()

    # -- calls with JUKEBOX retry ------------------------------------------------------------

    async def call(
        self, fn: Callable[[NfsClient], Awaitable[T]], deadline: float | None,
        what: str = "a call", *, busy_since: float | None = None,
    ) -> T:
        """``pool.call`` that also waits out NFS3ERR_JUKEBOX ("busy, try later").
        ``busy_since``: the caller's own first try answered JUKEBOX then: pause first."""
        delays = None  # made at the first JUKEBOX: most calls never see one
        busy = self.busy
        watched = busy_since is not None
        if watched:
            busy.begin()
            busy.answer()
        try:
            while True:
                if busy_since is not None:
                    delays = delays or self.policies.jukebox.delays()
                    await _busy_pause(next(delays), deadline, busy_since)
                try:
                    return await self.pool.call(fn, deadline, what=what)
                except NfsError as exc:
                    if exc.status != S.NFS3ERR_JUKEBOX:
                        raise
                except NoTimeLeft:
                    if busy_since is None:
                        raise
                    raise _busy(busy_since) from None
                busy_since = busy_since or time.monotonic()
                if not watched:
                    watched = True
                    busy.begin()
                busy.answer()
        finally:
            if watched:
                busy.end()

    async def flush(
        self, fh: bytes, op: Any, deadline: float | None,
        on_retry: Callable[[], None] | None = None,
    ) -> int:
        """One flush COMMIT; JUKEBOX waited out, STALE raised, every other status returned.
        ``on_retry``: the COMMIT was re-issued after a transport failure (it may have run).

        A SYNC is answered only when the write-back ends, so the client's usual per-call
        timeout would cut it short: it gets the file's remaining time instead (``to_deadline``)
        and every other call keeps the client's timeout, so an address that stops answering
        is still noticed quickly."""
        sync = op == FlushOp.SYNC
        fn = partial(_flush_call, fh, op) if sync else methodcaller("flush", fh, op)
        delays = None  # made at the first JUKEBOX: most calls never see one
        busy_since = None
        try:
            while True:
                try:
                    status: int = await self.pool.call(fn, deadline, on_retry, what="COMMIT",
                                                       to_deadline=sync)
                except NoTimeLeft:
                    if busy_since is None:
                        raise
                    raise _busy(busy_since) from None
                if status == S.NFS3ERR_JUKEBOX:
                    if busy_since is None:
                        busy_since = time.monotonic()
                        self.busy.begin()
                    self.busy.answer()
                    delays = delays or self.policies.jukebox.delays()
                    await _busy_pause(next(delays), deadline, busy_since)
                    continue
                if status in STALE:
                    raise StaleHandle()
                return int(status)
        finally:
            if busy_since is not None:
                self.busy.end()

    # -- handles ------------------------------------------------------------------------------

    async def root(self, export: bytes, deadline: float | None) -> bytes:
        failure = self._mount_failures.get(export)
        if failure is not None:
            raise failure
        return await self.handles.get_or_load(
            export, b"", partial(self._mount, export, deadline)
        )

    async def _mount(self, export: bytes, deadline: float | None) -> bytes:
        try:
            return await self.pool.call(lambda c: c.mount(export), deadline, what="MNT")
        except MountError as exc:
            if exc.status == Mountstat3.MNT3ERR_NOENT:  # a wrong --export: see export_guard
                failure = FileFailure(
                    f"the cache has no junction {q(export)} ({exc.name})", NO_EXPORT)
            else:
                failure = FileFailure(
                    fill_fields(f"the cache refused to mount export {q(export)}: {exc.name} "
                                f"({exc.status}); check {{export}} (a namespace path of the "
                                "cache)", ("export",), self.options.option_names),
                    "mount",
                )
            if exc.status in MOUNT_FINAL:
                self._mount_failures[export] = failure
            raise failure from None

    async def dir_handle(self, export: bytes, dirpath: bytes, deadline: float | None) -> bytes:
        """Handle of directory ``dirpath`` (b"" = root): from the cache, else LOOKUP the
        components below the deepest cached ancestor, each shared with concurrent askers.

        A directory (or one above it) found missing within the last ``negative_ttl`` s fails
        the file at once with the very sentence its LOOKUP gave: a file list naming a deleted
        tree costs one LOOKUP per second, not one per file."""
        if not dirpath:
            return await self.root(export, deadline)
        missing = self.handles.missing(export, dirpath)
        if missing is not None:
            raise missing()
        cached = self.handles.get(export, dirpath)
        if cached is not None:
            return cached
        parts = dirpath.split(b"/")
        depth = len(parts) - 1
        fh: bytes | None = None
        while depth > 0:
            fh = self.handles.get(export, b"/".join(parts[:depth]))
            if fh is not None:
                break
            depth -= 1
        if fh is None:
            fh = await self.root(export, deadline)
        for i in range(depth, len(parts)):
            parent = b"/".join(parts[:i])
            path = b"/".join(parts[: i + 1])
            loader = partial(self._lookup_dir, export, fh, parent, parts[i], path, deadline)
            fh = await self.handles.get_or_load(export, path, loader, _absent_dir)
        return fh

    async def _lookup_dir(
        self, export: bytes, parent_fh: bytes, parent: bytes, name: bytes, path: bytes,
        deadline: float | None,
    ) -> bytes:
        res = await self.lookup(export, parent_fh, parent, name, deadline, leaf=False)
        attrs = res.obj_attributes
        if attrs is not None and not attrs.is_dir:
            raise FileFailure(f"{q(path)} is not a directory (NFS3ERR_NOTDIR)", "notdir")
        return res.object

    async def lookup(
        self, export: bytes, parent_fh: bytes, parent: bytes, name: bytes,
        deadline: float | None, *, leaf: bool,
    ) -> nfs3.LookupOk:
        """LOOKUP ``name`` in ``parent``; failures become the user's sentence."""
        fn = partial(_lookup_call, parent_fh, name)
        try:
            try:  # the pool directly: only a JUKEBOX needs call()'s retry loop
                ok: nfs3.LookupOk = await self.pool.call(fn, deadline, what="LOOKUP")
            except NfsError as exc:
                if exc.status != S.NFS3ERR_JUKEBOX:
                    raise
                ok = await self.call(fn, deadline, "LOOKUP", busy_since=time.monotonic())
            return ok
        except NfsError as exc:
            if exc.status in STALE:
                self.handles.invalidate(export, parent)
                raise StaleHandle() from None
            path = parent + b"/" + name if parent else name
            raise lookup_failure(exc, path, parent, leaf, self.options.option_names) from None

    async def lookup_target(
        self, export: bytes, rel: bytes, deadline: float | None
    ) -> tuple[bytes, nfs3.Fattr3 | None]:
        """Handle and attributes of the file itself (its own LOOKUP is never cached: a file
        is flushed once, and a cached handle could hide a file replaced since)."""
        if not rel:
            root = await self.root(export, deadline)
            return root, nfs3.Fattr3(type=nfs3.Ftype3.NF3DIR)
        parent, _, name = rel.rpartition(b"/")
        handles = self.handles
        # Most files are in a directory already looked up: its handle without a coroutine.
        parent_fh = (handles.get(export, parent) if parent and not handles.has_missing
                     else None) or await self.dir_handle(export, parent, deadline)
        res = await self.lookup(export, parent_fh, parent, name, deadline, leaf=True)
        return res.object, res.obj_attributes

    # -- listing ------------------------------------------------------------------------------

    async def list_dir(
        self, fh: bytes, deadline: Callable[[], float | None] | None = None
    ) -> AsyncIterator[nfs3.EntryPlus]:
        """Every entry of a directory, page by page with READDIRPLUS; each page may go to any
        address. A BAD_COOKIE (directory changed under us) restarts the listing: repeats are
        harmless because the engine skips duplicate paths. A listing the server breaks (a
        page that neither ends nor moves it, a cookie twice, more than ``listing_pages``
        pages, a name no directory holds) fails the directory with
        :class:`~hpccache_cli.nfs.readdir.BadListing`: its files would otherwise be missing
        from a listing reported as complete, or never end. ``deadline()`` is read before each
        page (the caller may push it back while it is not listing: see ``flush.expand``)."""

        async def page(cookie: int, verf: bytes) -> nfs3.ReaddirplusOk:
            ok: nfs3.ReaddirplusOk = await self.call(
                methodcaller("readdirplus", fh, cookie, verf),
                deadline() if deadline is not None else None, "READDIRPLUS"
            )
            return ok

        async for entry in readdir.entries(page, bad_cookie_restarts=3,
                                           max_pages=self.policies.listing_pages):
            yield entry


def settle_unreachable(summary: FlushSummary,
                       sessions: Iterable[asyncio.Future[CacheSession]]) -> None:
    """Exit 4 means: the cache never answered anything and paths failed for it. Marks
    ``summary`` so, with the first started session's reason; the flush and refresh engines
    both end with it (one rule for "unreachable")."""
    if not summary.reasons.get("unreachable"):
        return
    started = [f.result() for f in sessions
               if f.done() and not f.cancelled() and f.exception() is None]
    if any(s.pool.answered for s in started):
        return
    summary.unreachable = True
    if started:
        summary.unreachable_reason = started[0].pool.down_reason()
