"""``recursive``: one directory tree walked into the files it holds, believing only what the
server names as itself.

Why its own module, and why so suspicious: the engine used to walk whatever READDIRPLUS said.
A subdirectory ``sub`` carrying its parent's handle made it report 22,429 files "flushed",
all one file under paths like ``d/sub/sub/.../f1`` that do not exist, while memory grew; a
listing that never ended held the run past its ``timeout``. Here:

* each directory's listing has the per-file deadline (``timeout``), pushed back by the time
  the walk waits for room in the engine's work queue (slow flushes are not a slow server),
  and the pager's page budget and rules (``hpccache_cli.nfs.readdir``);
* a directory met a second time in the tree (same handle, or same fsid and fileid) is not
  entered again, and neither is one nested deeper than ``listing_depth``;
* an entry the listing gave without a handle is looked up by name; if that fails, that
  path fails on its own line and the rest of the directory is still listed.

Every one of those makes the walk's directory fail (``problems``), with a clause saying
which rule was broken and where; the files found before are still flushed.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hpccache_cli.flush.options import FlushOptions
from hpccache_cli.flush.pool import CacheUnreachable, DeadlineExceeded
from hpccache_cli.flush.resolve import Target
from hpccache_cli.flush.results import FileResult, Outcome
from hpccache_cli.flush.session import CacheSession, FileFailure, StaleHandle, q
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.errors import NfsClientError

#: ``found(raw, target, fh)``: a regular file the walk found, for the engine to queue (it
#: awaits while the work queue is full); False when an earlier path named it already.
Found = Callable[[bytes, Target, bytes], Awaitable[bool]]
#: ``failed(result, target)``: a path the walk found but could not look up: its own outcome.
Failed = Callable[[FileResult, Target], None]


@dataclass
class Walk:
    """What one walk found: files queued, and the problems that fail its directory (the
    first one's words and how many: a hostile tree may have millions)."""

    files: int = 0
    problems: int = 0
    first_problem: str = ""


@dataclass(slots=True)
class _Dir:
    rel: bytes
    fh: bytes
    raw: bytes
    depth: int


class TreeWalk:
    """Lists the tree under one directory (see the module docstring for what it refuses)."""

    def __init__(
        self, session: CacheSession, options: FlushOptions, root: Target, raw: bytes,
        fh: bytes, attrs: nfs3.Fattr3 | None, found: Found, failed: Failed,
    ) -> None:
        self.session = session
        self.options = options
        self.root = root
        self.found = found
        self.failed = failed
        self.walk = Walk()
        self._stack = [_Dir(root.rel, fh, raw.rstrip(b"/"), 0)]
        # Directories met so far, by handle and by (fsid, fileid), and where: a server that
        # names one twice (a loop, or a directory in two places) is caught either way.
        self._handles: dict[bytes, bytes] = {}
        self._ids: dict[tuple[int, int], bytes] = {}
        self._met(fh, attrs, self._stack[0].raw)
        self._deadline: float | None = None

    async def run(self) -> Walk:
        limit = self.options.deadline_seconds
        while self._stack:
            where = self._stack.pop()
            self._deadline = None if limit is None else time.monotonic() + limit
            try:
                await self._list(where)
            except (FileFailure, NfsClientError, CacheUnreachable) as exc:
                why = (exc.render(self.options.client.option_names)
                       if isinstance(exc, NfsClientError) else getattr(exc, "reason", exc))
                self._problem(f"could not list {_show(where.raw)}: {why}")
            except DeadlineExceeded as exc:
                awaited = f" ({exc.awaited})" if exc.awaited else ""
                self._problem(f"could not list {_show(where.raw)}: timed out after "
                              f"{limit:g} s{awaited}")
            except StaleHandle:
                self._problem(f"could not list {_show(where.raw)}: its handle went stale "
                              "(NFS3ERR_STALE)")
        return self.walk

    def _problem(self, text: str) -> None:
        self.walk.problems += 1
        self.walk.first_problem = self.walk.first_problem or text

    def _deadline_now(self) -> float | None:
        return self._deadline

    def _met(self, fh: bytes, attrs: nfs3.Fattr3 | None, raw: bytes) -> str | None:
        """Remember a directory; if it was met before, say where (and it is not entered)."""
        before = self._handles.get(fh)
        if before is not None:
            return f"it has the handle of {_show(before)}"
        if attrs is not None and attrs.fileid:  # 0: none given (an export's root)
            key = (attrs.fsid, attrs.fileid)
            before = self._ids.get(key)
            if before is not None:
                return f"it has the fileid of {_show(before)} ({attrs.fileid})"
            self._ids[key] = raw
        self._handles[fh] = raw
        return None

    async def _list(self, where: _Dir) -> None:
        session, export = self.session, self.root.export
        async for entry in session.list_dir(where.fh, self._deadline_now):
            name = entry.name
            rel = where.rel + b"/" + name if where.rel else name
            raw = where.raw + b"/" + name
            attrs, handle = entry.name_attributes, entry.name_handle
            if attrs is None or handle is None:
                try:
                    res = await session.lookup(export, where.fh, where.rel, name,
                                               self._deadline, leaf=True)
                except FileFailure as exc:
                    self.failed(FileResult(raw, Outcome.FAILED, exc.reason, kind=exc.kind),
                                Target(self.root.addresses, export, rel))
                    continue
                attrs, handle = res.obj_attributes, res.object
            if attrs is not None and attrs.is_dir:
                self._subdirectory(where, rel, raw, handle, attrs)
            elif attrs is None or attrs.is_regular:
                waited = time.monotonic()
                if await self.found(raw, Target(self.root.addresses, export, rel), handle):
                    self.walk.files += 1
                if self._deadline is not None:  # waiting for queue room is not listing
                    self._deadline += time.monotonic() - waited

    def _subdirectory(self, where: _Dir, rel: bytes, raw: bytes, fh: bytes,
                      attrs: nfs3.Fattr3) -> None:
        again = self._met(fh, attrs, raw)
        if again is not None:
            self._problem(f"did not enter {_show(raw)}: {again}, met already in this tree "
                          "(a directory loop, or one directory in two places: a server bug?)")
            return
        depth = where.depth + 1
        if depth > self.session.policies.listing_depth:
            self._problem(f"did not enter {_show(raw)}: nested {depth:,} directories deep, "
                          f"more than {self.session.policies.listing_depth:,} (a server bug?)")
            return
        self._stack.append(_Dir(rel, fh, raw, depth))


def _show(raw: bytes) -> str:
    return q(raw or b"/")
