"""The client's write path (CREATE, MKDIR, WRITE, COMMIT, SETATTR, REMOVE) against the
emulator's, over real TCP: where the bytes land (cache copy, dirty, then written back; or the
back end directly for a target that does not cache writes), the attributes set, the rules of
the write plan (FILE_SYNC for one chunk, UNSTABLE + COMMIT above, a changed verifier means a
rewrite) and the bounds a client cannot push past.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_support import JUNCTION, free_port, make_config, put
from peers import wait_until

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.client import ClientOptions, FlushOp, NfsClient, SyncNfsClient
from hpccache_cli.nfs.errors import NfsError
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S
from hpccache_cli.nfs.nfs3_write import CreateMode, Sattr3, StableHow, TimeHow
from hpccache_cli.nfs.write_plan import VerifierChanged, write_ranges

ADDR = "127.0.0.92"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[EmulatorThread]:
    config = make_config(tmp_path, [ADDR], ports={"portmap": free_port(ADDR)})
    with EmulatorThread(config) as running:
        yield running


@pytest.fixture
def client(emu: EmulatorThread) -> Iterator[SyncNfsClient]:
    with SyncNfsClient(ADDR, ClientOptions(portmap_port=emu.ports.portmap, timeout=10)) as c:
        yield c


def cache(emu: EmulatorThread, ns_path: str) -> Path:
    return Path(emu.emulator.config.cache.cache_dir) / ns_path.lstrip("/")


def backend(emu: EmulatorThread, target: str, rel: str) -> Path:
    return Path(emu.emulator.config.target(target).backend_dir) / rel  # type: ignore[union-attr]


def test_create_write_setattr_make_a_dirty_file_that_flushes_to_the_back_end(
        emu: EmulatorThread, client: SyncNfsClient) -> None:
    root = client.mount(JUNCTION.encode())
    made = client.mkdir(root, b"in", Sattr3(mode=0o750))
    assert made.obj is not None and made.obj_attributes is not None
    assert made.obj_attributes.is_dir and made.obj_attributes.mode == 0o750
    created = client.create(made.obj, b"f.bin", Sattr3(mode=0o640), CreateMode.GUARDED)
    fh = created.obj
    assert fh is not None and created.obj_attributes is not None
    data = os.urandom(3000)
    stats = client.write_file(fh, data)
    assert (stats.writes, stats.commits) == (1, 0)  # one chunk: FILE_SYNC, no COMMIT
    mtime = nfs3.NfsTime3(1_600_000_000, 123_000_000)
    client.setattr(fh, Sattr3(mtime=mtime, atime=TimeHow.SET_TO_SERVER_TIME))
    attrs = client.getattr(fh)
    assert (attrs.size, attrs.mode, attrs.mtime) == (3000, 0o640, mtime)
    assert cache(emu, f"{JUNCTION}/in/f.bin").read_bytes() == data
    assert not backend(emu, "nas1", "in/f.bin").exists()  # written to the cache only: dirty
    assert emu.namespace.is_dirty(f"{JUNCTION}/in/f.bin")
    assert client.flush(fh, FlushOp.SYNC) == S.NFS3_OK
    written = backend(emu, "nas1", "in/f.bin")
    assert written.read_bytes() == data and written.stat().st_mtime_ns == 1_600_000_000_123_000_000
    assert oct(written.stat().st_mode & 0o777) == oct(0o640)
    assert not emu.namespace.is_dirty(f"{JUNCTION}/in/f.bin")
    # GUARDED refuses an existing name; UNCHECKED with size 0 truncates it.
    with pytest.raises(NfsError) as exists:
        client.create(made.obj, b"f.bin", Sattr3(), CreateMode.GUARDED)
    assert exists.value.name == "NFS3ERR_EXIST"
    again = client.create(made.obj, b"f.bin", Sattr3(size=0), CreateMode.UNCHECKED)
    assert again.obj == fh and client.getattr(fh).size == 0
    with pytest.raises(NfsError, match="NFS3ERR_EXIST"):
        client.mkdir(root, b"in")


def test_large_write_goes_unstable_in_chunks_then_commits(emu: EmulatorThread,
                                                           client: SyncNfsClient) -> None:
    root = client.mount(JUNCTION.encode())
    fh = client.create(root, b"big.bin").obj
    assert fh is not None
    assert client.fsinfo(root).wtmax == 1 << 20
    data = os.urandom((1 << 20) * 3 + 777)
    before = emu.emulator.nfs_write.writes
    stats = client.write_file(fh, data, parallel=3)
    assert (stats.writes, stats.commits, stats.bytes) == (4, 1, len(data))
    assert emu.emulator.nfs_write.writes - before == 4
    assert cache(emu, f"{JUNCTION}/big.bin").read_bytes() == data
    # A smaller wtmax than ours is respected.
    stats = client.write_file(fh, data[:10_000], wtmax=4096)
    assert stats.writes == 3 and stats.commits == 1


def test_write_through_target_and_remove(emu: EmulatorThread, client: SyncNfsClient) -> None:
    root = client.mount(b"/ro")  # READ_ONLY usage model: writes are not cached
    fh = client.create(root, b"direct.txt").obj
    assert fh is not None
    client.write_file(fh, b"hello")
    assert backend(emu, "ro1", "direct.txt").read_bytes() == b"hello"
    assert not cache(emu, "/ro/direct.txt").exists()
    client.remove(root, b"direct.txt")
    assert not backend(emu, "ro1", "direct.txt").exists()
    with pytest.raises(NfsError) as stale:
        client.getattr(fh)
    assert stale.value.name == "NFS3ERR_STALE"
    with pytest.raises(NfsError, match="NFS3ERR_NOENT"):
        client.remove(root, b"direct.txt")


def test_a_back_end_only_file_is_read_into_the_cache_before_a_partial_write(
        emu: EmulatorThread, client: SyncNfsClient) -> None:
    put(backend(emu, "nas1", "old.txt"), b"0123456789")
    root = client.mount(JUNCTION.encode())
    fh = client.lookup(root, b"old.txt").object
    client.write(fh, 2, b"ab", StableHow.FILE_SYNC)
    assert cache(emu, f"{JUNCTION}/old.txt").read_bytes() == b"01ab456789"
    assert emu.namespace.is_dirty(f"{JUNCTION}/old.txt")


def test_bounds_and_refusals(emu: EmulatorThread, client: SyncNfsClient) -> None:
    root = client.mount(JUNCTION.encode())
    fh = client.create(root, b"f").obj
    assert fh is not None
    with pytest.raises(NfsError, match="NFS3ERR_FBIG"):
        client.write(fh, (1 << 40) - 1, b"xx")
    with pytest.raises(NfsError, match="NFS3ERR_FBIG"):
        client.setattr(fh, Sattr3(size=(1 << 40) + 1))
    with pytest.raises(NfsError, match="NFS3ERR_EXIST"):
        client.create(root, b"..")
    with pytest.raises(NfsError, match="NFS3ERR_NAMETOOLONG"):
        client.create(root, b"x" * 256)
    with pytest.raises(NfsError, match="NFS3ERR_ACCES"):  # the synthetic tree above junctions
        client.mkdir(client.mount(b"/"), b"mine")
    with pytest.raises(NfsError, match="NFS3ERR_ISDIR"):
        client.write(root, 0, b"x")
    with pytest.raises(NfsError, match="NFS3ERR_NOTDIR"):
        client.create(fh, b"under-a-file")
    with pytest.raises(NfsError, match="NFS3ERR_NOTSUPP"):  # EXCLUSIVE is not modelled
        client.create(root, b"ex", None, CreateMode.EXCLUSIVE)


def test_a_verifier_changed_before_commit_means_writing_again(emu: EmulatorThread) -> None:
    """The emulator's verifier is changed after the first round's WRITEs (as a restart
    would): the plan writes everything again and commits with the new verifier."""

    async def body() -> None:
        async with NfsClient(ADDR, ClientOptions(portmap_port=emu.ports.portmap)) as c:
            root = await c.mount(JUNCTION.encode())
            fh = (await c.create(root, b"v.bin")).obj
            assert fh is not None
            data = os.urandom(20_000)
            rounds = {"n": 0}

            async def one(at: int, count: int, stable: StableHow,
                          ) -> tuple[int, StableHow, bytes]:
                ok = await c.write(fh, at, data[at:at + count], stable)
                return ok.count, ok.committed, ok.verf

            async def commit() -> bytes:
                rounds["n"] += 1
                if rounds["n"] == 1:
                    emu.emulator.nfs.verf = b"restart!"  # a "restart" after the WRITEs
                return (await c.commit(fh)).verf

            stats = await write_ranges([(0, len(data))], one, commit, chunk=8192)
            assert (stats.rounds, stats.commits, stats.writes) == (2, 2, 6)

            async def never_same() -> bytes:
                return os.urandom(8)

            with pytest.raises(VerifierChanged, match="changed between WRITE and COMMIT"):
                await write_ranges([(0, len(data))], one, never_same, chunk=8192)

    asyncio.run(asyncio.wait_for(body(), 60))


def test_automatic_write_back_takes_written_files(tmp_path: Path) -> None:
    config = make_config(tmp_path, [ADDR], delay=0.05)
    with EmulatorThread(config, scan_interval=0.05) as emu, SyncNfsClient(
            ADDR, ClientOptions(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs)) as c:
        root = c.mount(JUNCTION.encode())
        fh = c.create(root, b"auto.txt").obj
        assert fh is not None
        c.write_file(fh, b"later")
        c.setattr(fh, Sattr3(mtime=nfs3.NfsTime3(1_500_000_000, 0)))
        target = backend(emu, "nas1", "auto.txt")
        wait_until(lambda: target.exists() and target.read_bytes() == b"later", 30,
                   message="the automatic write-back of a written file")
        wait_until(lambda: not emu.namespace.is_dirty(f"{JUNCTION}/auto.txt"), 30,
                   message="the written file clean")


def test_setattr_guard_and_directory_times(emu: EmulatorThread, client: SyncNfsClient) -> None:
    """A guard (the ctime the client saw) that no longer matches is NOT_SYNC; the right one
    lets the change through. Directories take mode and times, never a size."""
    root = client.mount(JUNCTION.encode())
    fh = client.create(root, b"g").obj
    assert fh is not None
    seen = client.getattr(fh).ctime
    with pytest.raises(NfsError, match="NFS3ERR_NOT_SYNC"):
        client.setattr(fh, Sattr3(mode=0o600), guard=nfs3.NfsTime3(1, 2))
    client.setattr(fh, Sattr3(mode=0o600), guard=seen)
    assert client.getattr(fh).mode == 0o600
    d = client.mkdir(root, b"dir").obj
    assert d is not None
    when = nfs3.NfsTime3(1_300_000_000, 0)
    client.setattr(d, Sattr3(mode=0o700, mtime=when))
    attrs = client.getattr(d)
    assert (attrs.mode, attrs.mtime) == (0o700, when)
    with pytest.raises(NfsError, match="NFS3ERR_ISDIR"):
        client.setattr(d, Sattr3(size=0))
