"""Make files current in Blob and wait: queue ``lfs hsm_archive`` for the files that need it
(batched), then follow each file until it is archived and not dirty *and* its blob matches
(size and the copytool's ``modtime``).

Why both sides: the HSM flags turning ``archived`` is the copytool's claim; the blob is the
proof. A file is reported exported only when the container holds it as it is now. Files whose
change an archive does not carry (renamed since the archive, metadata only) are reported as
``not-exportable``, never as exported; lost files and failed requests as failures with the
reason. Every wait is bounded per file (``timeout``), and a request the copytool ended without
archiving is queued again up to ``retries`` times.
"""

from __future__ import annotations

import os
import posixpath
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from hpccache_cli.lustre.hsm import HsmSide
from hpccache_cli.lustre.hsm_state import ARCHIVED, DIRTY, LOST, NOARCHIVE, HsmState
from hpccache_cli.lustre.state import Target, judge_files, list_dirs
from hpccache_cli.lustre.verdicts import ARCHIVABLE, SAFE, FileVerdict, Verdict

#: Polls a blob may be missing after the flags say archived before it is a broken promise.
BLOB_GRACE_POLLS = 3


@dataclass(frozen=True)
class ExportOptions:
    """``timeout`` per file (seconds from its request), ``poll`` between checks."""

    timeout: float = 600.0
    poll: float = 0.5
    retries: int = 1
    wait: bool = True
    archive_id: int = 0


@dataclass(frozen=True, slots=True)
class ExportResult:
    """One file's end: ``outcome`` exported | current | queued | failed | unfinished."""

    target: Target
    outcome: str
    kind: str = ""
    reason: str = ""
    seconds: float = 0.0
    attempts: int = 0


@dataclass
class _Pending:
    target: Target
    started: float
    attempts: int = 1
    blob_misses: int = 0
    last: str = "queued"


@dataclass
class ExportRun:
    """The results so far, and whether the wait was interrupted."""

    results: list[ExportResult] = field(default_factory=list)
    interrupted: bool = False
    queued: int = 0
    lfs_calls: int = 0


def _first_pass(v: FileVerdict, t: Target) -> ExportResult | None:
    """The end of a file the first check already decides; None if it needs an archive."""
    if v.verdict in SAFE:
        return ExportResult(t, "current", "already-current", "")
    if v.verdict is Verdict.RENAMED:
        return ExportResult(t, "failed", "not-exportable",
                            f"renamed since its archive: the blob is still at {v.old_blob}; "
                            "an archive does not move it (restores read the old blob)")
    if v.verdict is Verdict.METADATA_CHANGED:
        return ExportResult(t, "failed", "not-exportable",
                            f"metadata-only change ({v.detail}): an archive does not export it")
    if v.verdict is Verdict.LOST:
        return ExportResult(t, "failed", "lost", "the HSM copy is marked lost_from_hsm")
    if v.verdict is Verdict.NEVER_ARCHIVED and v.hsm is not None and v.hsm.has(NOARCHIVE):
        return ExportResult(t, "failed", "never-archive", "the file has never_archive set "
                            "(lfs hsm_clear --noarchive to allow it)")
    if v.verdict in ARCHIVABLE or v.verdict is Verdict.ARCHIVE_RUNNING:
        return None
    return ExportResult(t, "failed", "error", v.detail or v.verdict.value)


def export_files(targets: Sequence[Target], hsm: HsmSide, container: Any,
                 options: ExportOptions, emit: Callable[[ExportResult], None],
                 clock: Callable[[], float] = time.monotonic) -> ExportRun:
    """Export ``targets`` (client paths); ``emit`` gets each file's result as it ends.

    Ctrl-C (``KeyboardInterrupt``; the command raises it for SIGTERM and SIGHUP too)
    anywhere, the first checks and the queueing included,
    ends the files without a result ``unfinished``: every target gets exactly one result.
    Why so careful: the signal used to be caught in the wait only, so one landing while
    the archives were queued left every file without a line (the requests queued all the
    same); one landing between a result and the file leaving the wait gave the file two
    lines; one landing inside ``emit`` cut a record between the report and the failed list.
    ``emit`` now runs with those signals held back (delivered as soon as it returns), and a file
    with a result is never given another."""
    run = ExportRun()
    ended: set[int] = set()  # id() of each target with its result

    def done(r: ExportResult) -> None:
        if id(r.target) in ended:
            return
        with signals_held():
            ended.add(id(r.target))
            run.results.append(r)
            emit(r)

    pending: dict[str, _Pending] = {}
    try:
        _export(targets, hsm, container, options, done, clock, pending, run)
    except KeyboardInterrupt:
        run.interrupted = True
        try:
            with signals_held():  # a second Ctrl-C must not cut this accounting short
                for p in pending.values():
                    done(ExportResult(p.target, "unfinished", "interrupted", p.last,
                                      clock() - p.started, p.attempts))
                for t in targets:
                    done(ExportResult(t, "unfinished", "interrupted",
                                      "interrupted before its wait began"))
        except KeyboardInterrupt:
            pass  # (that second one, delivered once all is accounted for: stopping already)
    return run


def _export(targets: Sequence[Target], hsm: HsmSide, container: Any, options: ExportOptions,
            done: Callable[[ExportResult], None], clock: Callable[[], float],
            pending: dict[str, _Pending], run: ExportRun) -> None:
    """:func:`export_files` without its Ctrl-C: each waiting file is in ``pending``."""
    start = clock()
    to_queue: list[Target] = []
    for v, t in zip(judge_files(targets, hsm, container), targets, strict=True):
        decided = _first_pass(v, t)
        if decided is not None:
            done(decided)
        elif t.client_path is None:
            done(ExportResult(t, "failed", "error", "not on a Lustre client mount"))
        elif v.verdict is Verdict.ARCHIVE_RUNNING:
            pending[t.client_path] = _Pending(t, start, 0, last="archive already running")
        else:
            to_queue.append(t)
    refused = hsm.archive([t.client_path for t in to_queue if t.client_path],
                          options.archive_id)
    for t in to_queue:
        assert t.client_path is not None
        if t.client_path in refused:
            done(ExportResult(t, "failed", "queue", refused[t.client_path].reason, 0.0, 1))
        else:
            pending[t.client_path] = _Pending(t, clock())
            run.queued += 1
    if not options.wait:
        for p in list(pending.values()):
            done(ExportResult(p.target, "queued", "queued", p.last, 0.0, p.attempts))
        pending.clear()
        return
    checks = _BlobChecks()
    while pending:
        _poll(pending, hsm, container, options, done, clock, checks)
        if pending:
            time.sleep(options.poll)


#: The signals a command may turn into ``KeyboardInterrupt`` (Ctrl-C; SIGTERM and SIGHUP as
#: ``hpccache_cli.jobs.flush.interrupts`` handles them): each is held while a result is written.
HELD_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


@contextmanager
def signals_held() -> Iterator[None]:
    """A Ctrl-C (or a SIGTERM or SIGHUP the command handles as one) while a result is written
    is noted, then delivered to its handler when this ends: its records are in every sink or
    in none. A handler swap rather than a signal mask: a mask holds back only this thread's
    signals, and a signal goes to the process. Only signals with a Python handler are held:
    one left to its default action or ignored is the user's choice, not ours to delay."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    old: dict[int, Any] = {}
    for name in HELD_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is not None and callable(signal.getsignal(sig)):
            old[sig] = signal.signal(sig, lambda signum, _frame: noted.append(signum))
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for signum in noted:  # in order; a handler that raises ends the delivery
            handler = old[signum]
            if callable(handler):
                handler(signum, None)


@dataclass
class _BlobChecks:
    """When the blobs of archived files were last listed: a listing reads whole directories,
    so it runs when every waiting file is archived, or at most every :data:`CHECK_EVERY`
    seconds while others still wait, not on every poll."""

    last: float = float("-inf")


#: Seconds between two blob checks while some files are still being archived.
CHECK_EVERY = 3.0


def _poll(pending: dict[str, _Pending], hsm: HsmSide, container: Any, options: ExportOptions,
          done: Callable[[ExportResult], None], clock: Callable[[], float],
          checks: _BlobChecks | None = None) -> None:
    """One round: flags of every waiting file, actions of those not archived, blobs of those
    archived; each file that ended leaves ``pending``."""
    paths = list(pending)
    states = hsm.states(paths)
    archived: list[str] = []
    not_yet: list[str] = []
    for p in paths:
        st = states.get(p)
        w = pending[p]
        if not isinstance(st, HsmState):
            why = getattr(st, "reason", "no answer")
            done(ExportResult(w.target, "failed", "error", why, clock() - w.started, w.attempts))
            del pending[p]
        elif st.has(LOST):
            done(ExportResult(w.target, "failed", "lost", "the copytool marked the file "
                              "lost_from_hsm", clock() - w.started, w.attempts))
            del pending[p]
        elif st.has(ARCHIVED) and not st.has(DIRTY):
            archived.append(p)
        else:
            not_yet.append(p)
    actions = hsm.actions(not_yet) if not_yet else {}
    idle = [p for p in not_yet if not getattr(actions.get(p), "busy", False)]
    # The copytool may have finished between the two questions: ask the idle ones again, so
    # a file archived meanwhile is not queued twice.
    again = hsm.states(idle) if idle else {}
    requeue: list[str] = []
    for p in not_yet:
        w = pending[p]
        act = actions.get(p)
        st = again.get(p)
        if p not in idle:
            w.last = f"{act.action} {act.state} ({act.detail})"  # type: ignore[union-attr]
        elif isinstance(st, HsmState) and st.has(ARCHIVED) and not st.has(DIRTY):
            archived.append(p)
        elif w.attempts <= options.retries:
            requeue.append(p)
        else:
            done(ExportResult(w.target, "failed", "archive-failed",
                              f"the archive request ended {w.attempts} time(s) and the file is "
                              "still not archived (the copytool failed it: see its log)",
                              clock() - w.started, w.attempts))
            del pending[p]
    if requeue:
        refused = hsm.archive(requeue, options.archive_id)
        for p in requeue:
            pending[p].attempts += 1
            pending[p].last = "queued again after the copytool ended without archiving"
            if p in refused:
                w = pending.pop(p)
                done(ExportResult(w.target, "failed", "queue", refused[p].reason,
                                  clock() - w.started, w.attempts))
    checks = checks or _BlobChecks()
    all_in = len(archived) == len(pending)
    if archived and (all_in or clock() - checks.last >= CHECK_EVERY):
        checks.last = clock()
        _check_blobs(archived, pending, container, done, clock)
    else:  # an archived file about to time out gets its check first
        now = clock()
        due = [p for p in archived
               if p in pending and now - pending[p].started > options.timeout]
        if due:
            _check_blobs(due, pending, container, done, clock)
    now = clock()
    for p in list(pending):
        w = pending[p]
        if now - w.started > options.timeout:
            done(ExportResult(w.target, "failed", "timeout",
                              f"not archived and in Blob within {options.timeout:g} s (last "
                              f"seen: {w.last})", now - w.started, w.attempts))
            del pending[p]


def _check_blobs(archived: list[str], pending: dict[str, _Pending], container: Any,
                 done: Callable[[ExportResult], None], clock: Callable[[], float]) -> None:
    names = {p: pending[p].target.blob_name for p in archived}
    listings = list_dirs(container, sorted({posixpath.dirname(n) for n in names.values()}))
    for p in archived:
        w = pending[p]
        listing = listings[posixpath.dirname(names[p])]
        blob = listing.blobs.get(names[p])
        try:
            st = os.stat(p)
        except OSError as exc:
            done(ExportResult(w.target, "failed", "error", f"stat: {exc.strerror}",
                              clock() - w.started, w.attempts))
            del pending[p]
            continue
        if blob is not None and blob.size == st.st_size and blob.modtime == int(st.st_mtime):
            done(ExportResult(w.target, "exported", "exported", "", clock() - w.started,
                              w.attempts))
            del pending[p]
            continue
        w.blob_misses += 1
        w.last = ("archived, but no blob yet" if blob is None else
                  f"archived, but the blob holds {blob.size} bytes / modtime "
                  f"{blob.metadata.get('modtime')}")
        if w.blob_misses >= BLOB_GRACE_POLLS:
            kind = "no-blob" if blob is None else "blob-mismatch"
            done(ExportResult(w.target, "failed", kind, "BROKEN PROMISE: Lustre says archived "
                              f"but {w.last.split(', ', 1)[1]}", clock() - w.started,
                              w.attempts))
            del pending[p]
