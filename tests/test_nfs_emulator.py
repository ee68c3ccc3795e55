"""Our NFS client against our HPC Cache emulator, over real TCP, through the portmapper.

The emulator tests speak raw RPC and the flush tests go through the engine; this file pins the
client API itself against the emulator: MOUNT of a junction, nested LOOKUPs, GETATTR, EXPORT,
every flush outcome as the client returns it, and READDIRPLUS paging with cookies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_support import JUNCTION, free_port, make_config, put
from peers import wait_until

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs.client import ClientOptions, FlushOp, NfsClient, SyncNfsClient
from hpccache_cli.nfs.errors import MountError, NfsError
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

ADDR = "127.0.0.91"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[EmulatorThread]:
    config = make_config(tmp_path, [ADDR], ports={"portmap": free_port(ADDR)})
    with EmulatorThread(config) as running:
        yield running


@pytest.fixture
def client(emu: EmulatorThread) -> Iterator[SyncNfsClient]:
    options = ClientOptions(portmap_port=emu.ports.portmap, timeout=10)  # ports via GETPORT
    with SyncNfsClient(ADDR, options) as c:
        yield c


def cache_file(emu: EmulatorThread, ns_path: str, data: bytes) -> Path:
    return put(Path(emu.emulator.config.cache.cache_dir) / ns_path.lstrip("/"), data)


def test_mount_nested_lookup_getattr_and_exports(emu: EmulatorThread,
                                                 client: SyncNfsClient) -> None:
    cache_file(emu, f"{JUNCTION}/a/b/c/file.txt", b"12345")
    root = client.mount(JUNCTION.encode())
    fh = client.lookup_path(root, b"a/b/c/file.txt")
    attr = client.getattr(fh)
    assert attr.is_regular and attr.size == 5
    assert client.getattr(client.lookup_path(root, b"a/b")).is_dir
    exported = {node.dir.decode() for node in client.exports()}
    assert {JUNCTION, "/blob/data", "/ro"} <= exported
    with pytest.raises(NfsError) as missing:
        client.lookup_path(root, b"a/nope")
    assert (missing.value.name, missing.value.status) == ("NFS3ERR_NOENT", 2)
    with pytest.raises(MountError) as bad_mount:
        client.mount(b"/no/such/junction")
    assert bad_mount.value.name == "MNT3ERR_NOENT"


def test_every_flush_outcome_through_the_client(emu: EmulatorThread,
                                                client: SyncNfsClient) -> None:
    backend = Path(emu.emulator.config.target("nas1").backend_dir)  # type: ignore[union-attr]
    root = client.mount(JUNCTION.encode())
    cache_file(emu, f"{JUNCTION}/sync.txt", b"sync")
    cache_file(emu, f"{JUNCTION}/async.txt", b"async")
    cache_file(emu, f"{JUNCTION}/stuck.txt", b"stuck")
    sync_fh = client.lookup_path(root, b"sync.txt")
    async_fh = client.lookup_path(root, b"async.txt")
    stuck_fh = client.lookup_path(root, b"stuck.txt")

    assert client.flush(sync_fh, FlushOp.SYNC) == S.NFS3_OK  # written back before the reply
    assert (backend / "sync.txt").read_bytes() == b"sync"
    assert client.flush(sync_fh, FlushOp.START) == S.NFS3_OK  # already clean
    assert client.flush(sync_fh, FlushOp.STATUS) == S.NFS3_OK

    emu.run(emu.namespace.writeback.pause)  # hold write-backs: "still flushing" is observable
    assert client.flush(async_fh, FlushOp.START) == S.NFS3ERR_NOT_SYNC  # started
    assert client.flush(async_fh, FlushOp.START) == S.NFS3ERR_NOT_SYNC  # already running
    assert client.flush(async_fh, FlushOp.STATUS) == S.NFS3ERR_NOT_SYNC  # still flushing
    emu.run(emu.namespace.writeback.resume)
    wait_until(lambda: client.flush(async_fh, FlushOp.STATUS) == S.NFS3_OK, timeout=60)
    assert (backend / "async.txt").read_bytes() == b"async"

    emu.faults.failing_paths.append(f"{JUNCTION}/stuck.txt")  # its write-back never succeeds
    assert client.flush(stuck_fh, FlushOp.SYNC) == S.NFS3ERR_IO
    assert client.flush(stuck_fh, FlushOp.STATUS) == S.NFS3ERR_NOTEMPTY  # idle but dirty
    assert not (backend / "stuck.txt").exists()
    assert client.commit(stuck_fh).verf  # a normal COMMIT still answers OK


def test_readdirplus_pages_over_many_replies(emu: EmulatorThread,
                                             client: SyncNfsClient) -> None:
    names = {f"entry-{i:04d}-{'x' * 40}" for i in range(600)}
    for name in names:
        cache_file(emu, f"{JUNCTION}/big/{name}", b"")
    root = client.mount(JUNCTION.encode())
    big = client.lookup_path(root, b"big")
    first = client.readdirplus(big, maxcount=4096)
    assert not first.eof and 0 < len(first.entries) < len(names)  # one reply cannot hold them
    listed = [e.name.decode() for e in client.iter_dir(big)]
    assert sorted(listed) == sorted(names) and len(listed) == len(names)


def test_calls_of_one_loop_turn_are_decoded_by_the_emulator(emu: EmulatorThread) -> None:
    """A hundred LOOKUPs and then a hundred GETATTRs, each hundred made in one loop turn: the
    client sends each hundred with one write, the emulator must cut it into its calls, and
    its replies (many per read) must reach each caller."""
    sizes = {f"many/f{i:03d}".encode(): i for i in range(100)}
    for name, size in sizes.items():
        cache_file(emu, f"{JUNCTION}/{name.decode()}", b"x" * size)
    options = ClientOptions(portmap_port=emu.ports.portmap, timeout=10)

    async def body() -> list[int]:
        async with NfsClient(ADDR, options) as c:
            root = await c.mount(JUNCTION.encode())
            many = await c.lookup_path(root, b"many")
            found = await asyncio.gather(*(c.lookup(many, n[5:]) for n in sizes))
            attrs = await asyncio.gather(*(c.getattr(ok.object) for ok in found))
            assert c.nfs_connections[0].in_flight == 0
            return [a.size for a in attrs]

    assert asyncio.run(asyncio.wait_for(body(), 30)) == list(sizes.values())
