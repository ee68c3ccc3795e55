"""The HPC Cache flush protocol as the emulator answers it, over raw RPC on real TCP.

Every outcome a flush client must handle: sync OK / failed (NFS3ERR_IO), async start ->
NOT_SYNC (also when already running), start on a clean file -> OK, and status OK / NOT_SYNC /
NOTEMPTY. Write-backs are held with ``writeback.pause()`` to observe the in-between states
without racing a timer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_support import JUNCTION, RawRpc, handle_of, make_config, mnt, put, running
from peers import wait_until

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.nfs3 import FLUSH_ASYNC_START as START
from hpccache_cli.nfs.nfs3 import FLUSH_STATUS as STATUS
from hpccache_cli.nfs.nfs3 import FLUSH_SYNC as SYNC
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

A1, A2 = "127.0.0.21", "127.0.0.121"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[EmulatorThread]:
    with running(make_config(tmp_path, [A1, A2])) as e:
        yield e


@pytest.fixture
def nfs(emu: EmulatorThread) -> Iterator[RawRpc]:
    with RawRpc(A1, emu.ports.nfs) as c:
        yield c


def cache(emu: EmulatorThread, ns_path: str) -> Path:
    return Path(emu.config.cache.cache_dir) / ns_path.lstrip("/")


def backend(emu: EmulatorThread, rest: str, target: str = "nas1") -> Path:
    t = emu.config.target(target)
    assert t is not None
    return Path(t.backend_dir) / rest.lstrip("/")


def dirty_file(emu: EmulatorThread, name: str, data: str = "new data\n") -> str:
    """A file whose cache copy differs from the back end: the namespace path."""
    put(backend(emu, name), "old data\n")
    put(cache(emu, f"{JUNCTION}/{name}"), data)
    return f"{JUNCTION}/{name}"


def test_sync_flush_writes_back_and_answers_ok(emu: EmulatorThread, nfs: RawRpc) -> None:
    path = dirty_file(emu, "dir/a.txt", "fresh bytes\n")
    fh = handle_of(emu, nfs, A1, path)
    assert emu.namespace.is_dirty(path)
    assert nfs.flush(fh, SYNC) == S.NFS3_OK
    assert backend(emu, "dir/a.txt").read_text() == "fresh bytes\n"
    assert not emu.namespace.is_dirty(path)
    assert nfs.flush(fh, STATUS) == S.NFS3_OK


def test_sync_flush_of_failing_file_answers_io_and_stays_dirty(
    emu: EmulatorThread, nfs: RawRpc
) -> None:
    path = dirty_file(emu, "bad.txt")
    emu.faults.failing_paths.append(path)
    fh = handle_of(emu, nfs, A1, path)
    assert nfs.flush(fh, SYNC) == S.NFS3ERR_IO
    assert backend(emu, "bad.txt").read_text() == "old data\n"
    assert nfs.flush(fh, STATUS) == S.NFS3ERR_NOTEMPTY


def test_async_start_status_and_already_running(emu: EmulatorThread, nfs: RawRpc) -> None:
    path = dirty_file(emu, "async.txt", "async bytes\n")
    fh = handle_of(emu, nfs, A1, path)
    assert nfs.flush(fh, STATUS) == S.NFS3ERR_NOTEMPTY  # dirty, nothing running
    emu.run(emu.namespace.writeback.pause)
    assert nfs.flush(fh, START) == S.NFS3ERR_NOT_SYNC  # started
    assert nfs.flush(fh, START) == S.NFS3ERR_NOT_SYNC  # already running
    assert nfs.flush(fh, STATUS) == S.NFS3ERR_NOT_SYNC  # still flushing
    assert emu.namespace.writeback.running_count() == 1  # the second start joined the first
    emu.run(emu.namespace.writeback.resume)
    wait_until(lambda: nfs.flush(fh, STATUS) == S.NFS3_OK, message="status OK")
    assert backend(emu, "async.txt").read_text() == "async bytes\n"


def test_async_flush_of_failing_file_ends_in_notempty(emu: EmulatorThread, nfs: RawRpc) -> None:
    path = dirty_file(emu, "sub/fails.txt")
    emu.faults.failing_paths.append(f"{JUNCTION}/sub")  # a directory: everything below fails
    fh = handle_of(emu, nfs, A1, path)
    assert nfs.flush(fh, START) == S.NFS3ERR_NOT_SYNC
    final = wait_until(lambda: (s := nfs.flush(fh, STATUS)) != S.NFS3ERR_NOT_SYNC and s)
    assert final == S.NFS3ERR_NOTEMPTY
    assert emu.namespace.is_dirty(path)
    emu.faults.failing_paths.clear()  # the back end recovers: the next flush succeeds
    assert nfs.flush(fh, SYNC) == S.NFS3_OK


def test_clean_file_flushes_are_ok_at_once(emu: EmulatorThread, nfs: RawRpc) -> None:
    put(backend(emu, "clean.txt"), "same\n")
    put(cache(emu, f"{JUNCTION}/clean.txt"), "same\n")
    put(backend(emu, "backend-only.txt"), "only on the target\n")
    for name in ("clean.txt", "backend-only.txt"):
        fh = handle_of(emu, nfs, A1, f"{JUNCTION}/{name}")
        assert [nfs.flush(fh, op) for op in (START, STATUS, SYNC)] == [S.NFS3_OK] * 3
    assert emu.namespace.writeback.written == 0


def test_usage_model_without_write_caching_has_nothing_to_flush(
    emu: EmulatorThread, nfs: RawRpc
) -> None:
    put(backend(emu, "f.txt", "ro1"), "target\n")
    put(cache(emu, "/ro/f.txt"), "differs but writes are not cached\n")
    fh = handle_of(emu, nfs, A1, "/ro/f.txt")
    assert not emu.namespace.is_dirty("/ro/f.txt")
    assert [nfs.flush(fh, op) for op in (START, STATUS, SYNC)] == [S.NFS3_OK] * 3
    assert backend(emu, "f.txt", "ro1").read_text() == "target\n"


def test_blob_target_writes_back_below_its_target_path(emu: EmulatorThread, nfs: RawRpc) -> None:
    put(cache(emu, "/blob/data/x/model.bin"), b"\x00\x01weights")
    fh = handle_of(emu, nfs, A2, "/blob/data/x/model.bin")
    assert nfs.flush(fh, SYNC) == S.NFS3_OK
    assert backend(emu, "sub/x/model.bin", "blob1").read_bytes() == b"\x00\x01weights"


def test_sync_reply_waits_without_blocking_pipelined_calls(
    emu: EmulatorThread, nfs: RawRpc
) -> None:
    path = dirty_file(emu, "pipelined.txt")
    fh = handle_of(emu, nfs, A1, path)
    emu.run(emu.namespace.writeback.pause)
    args = nfs3.CommitArgs.xdr.encode(nfs3.CommitArgs(fh, nfs3.FLUSH_OFFSET, SYNC))
    sync_xid = nfs.send_call(nfs3.PROGRAM, 3, nfs3.COMMIT.number, args)
    # The status sent after the sync is answered while the sync still waits.
    assert nfs.flush(fh, STATUS) == S.NFS3ERR_NOT_SYNC
    with RawRpc(A2, emu.ports.nfs) as other:  # another mount IP joins the same write-back
        assert other.flush(fh, START) == S.NFS3ERR_NOT_SYNC
    emu.run(emu.namespace.writeback.resume)
    status, _ = nfs3.COMMIT.res.decode(nfs.wait(sync_xid).check())
    assert status == S.NFS3_OK
    assert emu.namespace.writeback.written == 1


def test_parallel_limits_write_backs_running_at_once(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, [A1], writeback={"per_file_seconds": 0.0, "parallel": 2})
    with running(cfg) as emu, RawRpc(A1, emu.ports.nfs) as nfs:
        handles = [handle_of(emu, nfs, A1, dirty_file(emu, f"p{i}.txt")) for i in range(5)]
        emu.run(emu.namespace.writeback.pause)
        assert [nfs.flush(fh, START) for fh in handles] == [S.NFS3ERR_NOT_SYNC] * 5
        wb = emu.namespace.writeback
        wait_until(lambda: emu.run(lambda: wb.active) == 2, message="two write-backs active")
        assert emu.run(wb.running_count) == 5
        emu.run(wb.resume)
        wait_until(lambda: all(nfs.flush(fh, STATUS) == S.NFS3_OK for fh in handles))
        assert wb.written == 5


def test_normal_commit_is_not_a_flush(emu: EmulatorThread, nfs: RawRpc) -> None:
    path = dirty_file(emu, "commit.txt")
    fh = handle_of(emu, nfs, A1, path)
    status, body = nfs.nfs(nfs3.COMMIT, nfs3.CommitArgs(fh, 0, 0))
    assert status == S.NFS3_OK
    assert body.verf == emu.emulator.write_verf
    assert body.file_wcc.after is not None and body.file_wcc.after.size == len("new data\n")
    assert emu.namespace.is_dirty(path)


def test_flush_of_a_directory_or_unknown_op(emu: EmulatorThread, nfs: RawRpc) -> None:
    fh = mnt(emu, A1)
    assert nfs.flush(fh, SYNC) == S.NFS3ERR_ISDIR
    put(backend(emu, "f"), "x")
    assert nfs.flush(handle_of(emu, nfs, A1, f"{JUNCTION}/f"), 0x1234) == S.NFS3ERR_INVAL


def test_automatic_write_back_after_the_delay(tmp_path: Path) -> None:
    # nas1/blob1 write back as soon as a file is older than 0 s; ro1 never caches writes.
    with running(make_config(tmp_path, [A1], delay=0), scan_interval=0.02) as emu:
        path = dirty_file(emu, "auto.txt", "auto\n")
        wait_until(lambda: not emu.namespace.is_dirty(path), message="automatic write-back")
        assert backend(emu, "auto.txt").read_text() == "auto\n"


def test_no_automatic_write_back_when_disabled(tmp_path: Path) -> None:
    with running(make_config(tmp_path, [A1], delay=-1), scan_interval=0.02) as emu:
        path = dirty_file(emu, "stays.txt")
        wb = emu.namespace.writeback
        start = wb.scans
        wait_until(lambda: wb.scans >= start + 3, message="three scans")
        assert emu.namespace.is_dirty(path)
        assert wb.written == 0


def test_target_ops_flush_and_invalidate(emu: EmulatorThread) -> None:
    ns = emu.namespace
    dirty = dirty_file(emu, "t/dirty.txt")
    put(backend(emu, "t/clean.txt"), "same")
    clean_copy = put(cache(emu, f"{JUNCTION}/t/clean.txt"), "same")
    assert ns.dirty_count("nas1") == 1 and ns.dirty_count() == 1
    emu.call(ns.invalidate_target, "nas1")
    assert not clean_copy.exists() and cache(emu, dirty).exists()
    emu.faults.failing_paths.append(dirty)
    with pytest.raises(RuntimeError, match="t/dirty.txt"):
        emu.call(ns.flush_target, "nas1")
    emu.faults.failing_paths.clear()
    emu.call(ns.flush_all)
    assert ns.dirty_count() == 0
    with pytest.raises(ValueError, match="no storage target"):
        ns.dirty_count("nope")
