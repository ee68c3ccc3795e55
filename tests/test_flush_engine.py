"""The flush engine against the emulator over TCP: every outcome, every mode, odd names.

Each test ends by checking the back end holds the cache's bytes for every flushed file: a
flush that reports success but lost data would be worse than one that fails.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from peers import wait_until
from test_flush_support import (
    assert_written_back,
    backend_file,
    by_path,
    dirty_cache,
    emulator,
    flush,
    flush_logged,
    outcomes,
    write,
)

from hpccache_cli.flush.results import Outcome

A1, A2 = "127.0.0.31", "127.0.0.32"


def test_flushes_many_files_over_two_addresses(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"d{d}/sub/f{f}.dat" for d in range(12) for f in range(25)])
    with emulator(tmp_path, [A1, A2], writeback={"per_file_seconds": 0.005}) as emu:
        summary = flush(emu, names, concurrency=32)
        assert emu.namespace.dirty_count() == 0
    assert outcomes(summary) == {"flushed": 300} and summary.exit_code == 0
    assert all(r.attempts == 1 and r.seconds > 0 for r in summary.results or [])
    assert_written_back(tmp_path, names)


def test_each_outcome_with_its_reason(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["dir/dirty.txt", "dir/sub/deep.txt", "file-not-dir"])
    write(backend_file(tmp_path, "dir/clean.txt"), b"only on the back end\n")
    paths = [b"dir/dirty.txt", b"/NAS_12_exp5/dir/sub/deep.txt", b"dir/clean.txt",
             b"dir/missing.txt", b"nodir/x", b"file-not-dir/x", b"dir", b"../up",
             b"dir/./dirty.txt", b"/NAS_12_exp5//dir/sub/deep.txt"]
    with emulator(tmp_path, [A1]) as emu:
        summary = flush(emu, paths)
    got = by_path(summary)
    assert [got[p].outcome.value for p in paths] == [
        "flushed", "flushed", "clean", "failed", "failed", "failed", "failed", "failed",
        "skipped", "skipped"]
    assert got[b"dir/missing.txt"].reason == "not found (NFS3ERR_NOENT)"
    assert "directory 'nodir' does not exist" in got[b"nodir/x"].reason
    assert "'file-not-dir' is not a directory" in got[b"file-not-dir/x"].reason
    assert got[b"dir"].reason == "is a directory; use recursive=True"  # a script: the keyword
    # Read as its namespace path, the only reading that exists, and said so.
    assert got[b"/NAS_12_exp5/dir/sub/deep.txt"].reason == (
        "read as the namespace path '/NAS_12_exp5/dir/sub/deep.txt' "
        "('/NAS_12_exp5/NAS_12_exp5/dir/sub/deep.txt' does not exist)")
    assert "escapes the export" in got[b"../up"].reason
    assert got[b"dir/./dirty.txt"].reason == "duplicate of an earlier input"
    assert summary.total == len(paths) == summary.done and summary.exit_code == 1
    assert dict(summary.reasons) == {"noent": 2, "notdir": 1, "bad-path": 1, "directory": 1}
    assert_written_back(tmp_path, names[:2])


def test_sync_mode_keeps_many_commits_in_flight(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"s/f{i}" for i in range(64)])
    with emulator(tmp_path, [A1], writeback={"parallel": 64}) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)  # write-backs hold until every SYNC has arrived
        with ThreadPoolExecutor(1) as pool:
            run = pool.submit(flush, emu, names, mode="sync", concurrency=64)
            # All 64 SYNC COMMITs are waiting at the emulator at the same time: not one
            # write-back after another. (A sequential engine would stop at 1 and time out.)
            wait_until(lambda: emu.run(wb.running_count) == 64, timeout=30,
                       message="64 sync flushes in flight at once")
            emu.run(wb.resume)
            summary = run.result(timeout=60)
    assert outcomes(summary) == {"flushed": 64}
    assert_written_back(tmp_path, names)


def test_no_wait_then_status_only(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"nw/f{i}" for i in range(20)])
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        before = flush(emu, names, status_only=True)
        emu.run(wb.pause)
        started = flush(emu, names, wait=False)
        running = flush(emu, names, status_only=True)
        emu.run(wb.resume)
        emu.call(_settled, emu)
        after = flush(emu, names, status_only=True)
    assert outcomes(before) == {"dirty": 20} and before.exit_code == 1
    assert outcomes(started) == {"started": 20} and started.exit_code == 0
    assert outcomes(running) == {"flushing": 20} and running.exit_code == 1
    assert outcomes(after) == {"written-back": 20} and after.exit_code == 0
    assert_written_back(tmp_path, names)


async def _settled(emu: object) -> None:
    import asyncio

    ns = emu.namespace  # type: ignore[attr-defined]
    for _ in range(500):
        if ns.writeback.running_count() == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("write-backs did not finish")


def test_recursive_lists_pages_and_dedups(tmp_path: Path) -> None:
    big = [f"tree/big/f{i:04d}-{'x' * 40}" for i in range(700)]  # several READDIRPLUS pages
    small = [f"tree/a/b/c/f{i}" for i in range(5)] + ["tree/top.txt", "other/one.txt"]
    names = dirty_cache(tmp_path, big + small)
    os.symlink("top.txt", cache_file_path(tmp_path, "tree/link"))
    with emulator(tmp_path, [A1]) as emu:
        summary, logs = flush_logged(emu, [b"tree/top.txt", b"tree/", b"other/one.txt"],
                                     [A1], recursive=True)
        left = emu.namespace.dirty_files()
    assert left == []  # a symlink in the cache is not dirty; the listing skips it (705 below)
    got = by_path(summary)
    # A directory listed whole is not a path (issue 19): no outcome, no "skipped" (which
    # made a clean run "SucceededWithIssues" in a pipeline); the total counts files.
    assert b"tree/" not in got
    assert "listed 'tree/': 705 files" in "\n".join(logs)  # tree/top.txt came first
    assert got[b"tree/big/f0007-" + b"x" * 40].outcome is Outcome.FLUSHED
    assert outcomes(summary) == {"flushed": 707}
    assert summary.total == 707 and summary.exit_code == 0
    assert_written_back(tmp_path, names)


def cache_file_path(base: Path, rel: str) -> Path:
    return base / "cache" / "NAS_12_exp5" / rel


def test_odd_names_are_flushed_byte_exact(tmp_path: Path) -> None:
    deep = "/".join(f"level{i:02d}-" + "d" * 120 for i in range(22))  # ~2,900 bytes
    raw = [b"latin1-caf\xe9.dat", b"sp ace/tab\there.txt", b"new\nline", b"\xff\xfe/\x80.bin",
           os.fsencode(deep) + b"/leaf", b"n/" + b"L" * 255]
    names = dirty_cache(tmp_path, raw)
    with emulator(tmp_path, [A1]) as emu:
        summary = flush(emu, raw)
    assert outcomes(summary) == {"flushed": len(raw)}, summary.results
    assert {r.path for r in summary.results or []} == set(raw)
    assert_written_back(tmp_path, names)


def test_empty_input_is_a_clean_success(tmp_path: Path) -> None:
    with emulator(tmp_path, [A1]) as emu:
        summary = flush(emu, [])
    assert summary.total == 0 and summary.exit_code == 0 and summary.input_complete


def test_wrong_export_fails_every_file_with_the_mount_reason(tmp_path: Path) -> None:
    with emulator(tmp_path, [A1]) as emu:
        from hpccache_cli.flush.api import flush_paths

        summary = flush_paths(["a", "b"], ips=[A1], export="/no-such-junction",
                              mount_port=emu.ports.mount, nfs_port=emu.ports.nfs)
    assert outcomes(summary) == {"failed": 2}
    assert all(r.reason == "the cache has no junction '/no-such-junction' (MNT3ERR_NOENT)"
               and r.kind == "no-export" for r in summary.results or [])


def test_access_denied_fails_at_once_with_the_reason(tmp_path: Path) -> None:
    """NFS3ERR_ACCES is final: no retries, the reason names the status; others still flush."""
    names = dirty_cache(tmp_path, ["open/a.txt", "locked/b.txt", "locked/sub/c.txt"])
    with emulator(tmp_path, [A1], faults={"denied_paths": ["/NAS_12_exp5/locked"]}) as emu:
        summary = flush(emu, names, retries=3)
    got = by_path(summary)
    assert got[b"open/a.txt"].outcome is Outcome.FLUSHED
    for denied in (b"locked/b.txt", b"locked/sub/c.txt"):
        assert got[denied].outcome is Outcome.FAILED
        assert "permission denied looking up 'locked' (NFS3ERR_ACCES)" in (got[denied].reason or "")
        assert got[denied].attempts == 0  # failed at the lookup: no flush started, no retry
    assert summary.exit_code == 1
    assert_written_back(tmp_path, names[:1])
