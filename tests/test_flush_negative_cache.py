"""Missing directories are remembered for a moment: files under them fail without a LOOKUP.

A file list naming a deleted (or not yet created) tree used to cost one LOOKUP per file, all
answered NFS3ERR_NOENT. The engine now remembers such a directory for ``negative_ttl`` s and
fails the files below it at once, with the sentence the LOOKUP gave. Everything runs over real
TCP against the emulator; LOOKUPs are counted with the emulator's NFS call counter
(``Emulator.nfs_calls``: every NFS-program call, and the scenarios below make no other NFS
calls where they count). Time is a fake monotonic clock handed to the HandleCache, so expiry
is stepped, never slept through.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from emulator_support import JUNCTION
from test_flush_support import FAST, by_path, cache_file, dirty_cache, emulator, flush_logged

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.flush.api import make_options
from hpccache_cli.flush.handles import NEGATIVE_TTL, HandleCache
from hpccache_cli.flush.pool import DeadlineExceeded
from hpccache_cli.flush.session import CacheSession, FileFailure, StaleHandle

A1 = "127.0.0.41"
EXPORT = JUNCTION.encode()
GONE = "not found: directory 'gone' does not exist (NFS3ERR_NOENT)"
NOTDIR = "'plain.txt' is not a directory (NFS3ERR_NOTDIR)"
T = TypeVar("T")


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def calls(emu: EmulatorThread) -> int:
    """NFS calls the emulator has received (read after the replies arrived: ordered)."""
    return emu.emulator.nfs_calls


def run_session(emu: EmulatorThread, handles: HandleCache,
                scenario: Callable[[CacheSession], Awaitable[T]]) -> T:
    """Run ``scenario`` with a started CacheSession on ``emu`` using ``handles``."""

    async def main() -> T:
        options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                               policies=FAST, connections=1)
        session = CacheSession([A1], options)
        session.handles = handles
        await session.start()
        try:
            return await scenario(session)
        finally:
            await session.close()

    return asyncio.run(main())


async def attempt(session: CacheSession, rel: str,
                  deadline: float | None = None) -> bytes | FileFailure:
    """The file's handle, or the FileFailure its lookup ended with."""
    try:
        fh, _ = await session.lookup_target(EXPORT, rel.encode(), deadline)
    except FileFailure as exc:
        return exc
    return fh


def failure(got: bytes | FileFailure) -> tuple[str, str]:
    assert isinstance(got, FileFailure), got
    return got.reason, got.kind


def test_engine_fails_files_under_a_missing_directory_with_one_lookup(tmp_path: Path) -> None:
    dirty_cache(tmp_path, ["plain.txt"])
    gone = [f"gone/f{i}" for i in range(150)] + [f"gone/s{i % 5}/deep/f{i}" for i in range(50)]
    notdir = [f"plain.txt/x{i}" for i in range(20)] + ["plain.txt/a/b/c"]
    with emulator(tmp_path, [A1]) as emu:
        # One file at a time: without the memory every file would pay its own LOOKUP (the
        # in-flight sharing only helps files asked for at the same moment).
        summary, _ = flush_logged(emu, gone + notdir, [A1], concurrency=1)
        lookups = calls(emu)
    got = by_path(summary)
    assert {(got[p.encode()].reason, got[p.encode()].kind) for p in gone} == {(GONE, "noent")}
    assert {(got[p.encode()].reason, got[p.encode()].kind) for p in notdir} == {
        (NOTDIR, "notdir")}
    assert dict(summary.reasons) == {"noent": 200, "notdir": 21} and summary.exit_code == 1
    # Two LOOKUPs ('gone', 'plain.txt') plus at most one more per second the run took, as
    # each memory lasts NEGATIVE_TTL s: 221 files, far fewer LOOKUPs.
    assert NEGATIVE_TTL <= 1.0 and 2 <= lookups <= 10


def test_memory_expires_so_a_directory_created_later_is_found(tmp_path: Path) -> None:
    clock = FakeClock()
    handles = HandleCache(clock=clock, negative_ttl=1.0)
    with emulator(tmp_path, [A1]) as emu:

        async def scenario(session: CacheSession) -> None:
            assert failure(await attempt(session, "late/f")) == (
                "not found: directory 'late' does not exist (NFS3ERR_NOENT)", "noent")
            before = calls(emu)
            dirty_cache(tmp_path, ["late/f"])  # a job creates it a moment later
            assert isinstance(await attempt(session, "late/f"), FileFailure)
            clock.now += 0.9
            assert isinstance(await attempt(session, "late/f"), FileFailure)
            assert calls(emu) == before  # still remembered: not asked again
            clock.now += 0.1  # the TTL has passed
            assert isinstance(await attempt(session, "late/f"), bytes)
            assert calls(emu) == before + 2  # LOOKUP 'late', LOOKUP 'f'

        run_session(emu, handles, scenario)
    assert handles.negative_hits == 2


def test_ttl_zero_remembers_nothing(tmp_path: Path) -> None:
    handles = HandleCache(clock=FakeClock(), negative_ttl=0)
    with emulator(tmp_path, [A1]) as emu:

        async def scenario(session: CacheSession) -> None:
            before = calls(emu)
            for i in range(20):
                assert failure(await attempt(session, f"gone/f{i}")) == (GONE, "noent")
            assert calls(emu) == before + 20  # one LOOKUP per file, as before the memory
            dirty_cache(tmp_path, ["gone/f0"])
            assert isinstance(await attempt(session, "gone/f0"), bytes)  # found at once

        run_session(emu, handles, scenario)
    assert handles.negative_hits == 0


def test_nested_paths_under_a_remembered_directory_fail_without_lookup(
    tmp_path: Path
) -> None:
    dirty_cache(tmp_path, ["plain.txt", "was/sub/f", "was/other/f"])
    handles = HandleCache(capacity=1, clock=FakeClock())
    with emulator(tmp_path, [A1]) as emu:

        async def scenario(session: CacheSession) -> None:
            assert failure(await attempt(session, "gone/f")) == (GONE, "noent")
            assert failure(await attempt(session, "plain.txt/f")) == (NOTDIR, "notdir")
            before = calls(emu)
            for rel in ("gone/a/f", "gone/a/b/c/d/f", "gone/gone/f"):
                assert failure(await attempt(session, rel)) == (GONE, "noent"), rel
            assert failure(await attempt(session, "plain.txt/a/b/f")) == (NOTDIR, "notdir")
            assert calls(emu) == before
            # A sibling that merely shares the prefix is not affected.
            assert failure(await attempt(session, "gonex/f"))[1] == "noent"
            assert calls(emu) == before + 1

            # An ancestor found missing wins over a handle still cached below it: 'was/sub'
            # stays in the (capacity 1) handle LRU, 'was' goes away and is found missing.
            assert isinstance(await attempt(session, "was/sub/f"), bytes)
            shutil.rmtree(os.fsdecode(cache_file(tmp_path, "was")))
            assert handles.get(EXPORT, b"was") is None
            assert handles.get(EXPORT, b"was/sub") is not None
            assert failure(await attempt(session, "was/other/f"))[1] == "noent"
            before = calls(emu)
            assert failure(await attempt(session, "was/sub/f")) == (
                "not found: directory 'was' does not exist (NFS3ERR_NOENT)", "noent")
            assert calls(emu) == before

        run_session(emu, handles, scenario)
    assert handles.negative_hits == 5


def test_concurrent_askers_share_one_failing_lookup(tmp_path: Path) -> None:
    # TTL 0: what is shown is the in-flight sharing alone, and that it is not kept after.
    handles = HandleCache(clock=FakeClock(), negative_ttl=0)
    dirty_cache(tmp_path, ["warm/f"])
    with emulator(tmp_path, [A1]) as emu:

        async def scenario(session: CacheSession) -> None:
            assert isinstance(await attempt(session, "warm/f"), bytes)  # root mounted
            for wave in range(2):
                before = calls(emu)
                got = await asyncio.gather(*(attempt(session, f"gone/f{i}") for i in range(50)))
                assert {failure(g) for g in got} == {(GONE, "noent")}
                assert calls(emu) == before + 1, wave  # one LOOKUP for 50 files, per wave

        run_session(emu, handles, scenario)


def test_only_absence_is_remembered(tmp_path: Path) -> None:
    """Permission answers, JUKEBOX until the deadline and STALE handles are asked again."""
    dirty_cache(tmp_path, ["locked/f", "busy/f", "stale/f"])
    handles = HandleCache(clock=FakeClock())  # never advanced: anything kept would stay
    with emulator(tmp_path, [A1]) as emu:
        ns = emu.namespace

        async def scenario(session: CacheSession) -> None:
            emu.faults.denied_paths.append(f"{JUNCTION}/locked")
            assert failure(await attempt(session, "locked/f"))[1] == "access"
            emu.faults.denied_paths.clear()
            assert isinstance(await attempt(session, "locked/f"), bytes)

            emu.run(ns.set_suspended, "nas1", True)  # every call answered JUKEBOX
            try:
                await attempt(session, "busy/f", time.monotonic() + 0.2)
            except DeadlineExceeded:
                pass
            else:
                raise AssertionError("a suspended target must time the lookup out")
            emu.run(ns.set_suspended, "nas1", False)
            assert isinstance(await attempt(session, "busy/f"), bytes)

            emu.run(ns.forget_handles)  # the cached root handle goes STALE
            try:
                await attempt(session, "stale/f")
            except StaleHandle:
                pass
            else:
                raise AssertionError("a forgotten root handle must be STALE")
            assert isinstance(await attempt(session, "stale/f"), bytes)

        run_session(emu, handles, scenario)
    assert handles.negative_hits == 0


def test_a_lookup_that_outlives_its_file_deadline_is_taken_over_by_a_waiter() -> None:
    """The file that started a shared lookup ran out of time; a waiter whose own deadline is
    later must not fail with "timed out": it does the lookup itself."""

    async def main() -> tuple[BaseException | None, bytes, int]:
        handles = HandleCache(clock=FakeClock())
        release = asyncio.Event()
        calls = 0

        async def expiring() -> bytes:
            nonlocal calls
            calls += 1
            await release.wait()
            raise DeadlineExceeded("time ran out")

        async def answering() -> bytes:
            nonlocal calls
            calls += 1
            return b"fh-of-d"

        first = asyncio.ensure_future(handles.get_or_load(b"/e", b"d", expiring))
        await asyncio.sleep(0)  # the first asker's lookup is in flight
        second = asyncio.ensure_future(handles.get_or_load(b"/e", b"d", answering))
        await asyncio.sleep(0)  # the second waits on it
        release.set()
        got = await second
        return first.exception(), got, calls

    first_error, got, calls = asyncio.run(main())
    assert isinstance(first_error, DeadlineExceeded)  # the first file's own failure
    assert got == b"fh-of-d" and calls == 2
