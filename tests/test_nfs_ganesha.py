"""Our NFS client against nfs-ganesha, a real NFSv3 server we did not write.

The emulator shares our codec, so agreeing with it proves little about the wire format; a
third-party server does. Files are made on disk and then read back over NFS, so every answer
is checked against ``os.stat``/``os.listdir`` rather than against our own expectations.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from peers import GaneshaPeer

from hpccache_cli.nfs import mount, nfs3
from hpccache_cli.nfs.client import ClientOptions, FlushOp, NfsClient, SyncNfsClient
from hpccache_cli.nfs.errors import MountError, NfsError, ProgramUnavailable
from hpccache_cli.nfs.portmap_client import getport

pytestmark = pytest.mark.peer
T = TypeVar("T")
DEADLINE = 60.0


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, DEADLINE))


def client(peer: GaneshaPeer, **kw: Any) -> NfsClient:
    """Ports from the portmapper unless given: rpcbind on 111 is part of what is tested."""
    return NfsClient(peer.host, ClientOptions(portmap_port=peer.portmap_port, **kw))


def rel(peer: GaneshaPeer, path: Path) -> bytes:
    return os.fsencode(path.relative_to(peer.export_dir))


def test_portmapper_knows_mount_and_nfs(ganesha: GaneshaPeer) -> None:
    async def body() -> None:
        host, pm = ganesha.host, ganesha.portmap_port
        assert await getport(host, mount.PROGRAM, mount.VERSION, pm) == ganesha.mount_port
        assert await getport(host, nfs3.PROGRAM, nfs3.VERSION, pm) == ganesha.nfs_port
        with pytest.raises(ProgramUnavailable, match=f"portmapper at {host}:{pm}"):
            await getport(host, 0x20000777, 1, pm)

    run(body())


def test_mount_export_and_nested_lookup_agree_with_disk(ganesha: GaneshaPeer) -> None:
    scratch = ganesha.scratch_dir("client-")
    nested = scratch / "a" / "b" / "c"
    nested.mkdir(parents=True)
    (nested / "data.bin").write_bytes(os.urandom(12345))
    (scratch / "empty").write_bytes(b"")

    async def body() -> None:
        async with client(ganesha, connections=2) as c:
            assert (c.mount_port, c.nfs_port) == (ganesha.mount_port, ganesha.nfs_port)
            exported = [e.dir for e in await c.exports()]
            assert os.fsencode(ganesha.export_path) in exported
            root = await c.mount(os.fsencode(ganesha.export_path))
            await c.null()
            await c.mount_null()
            for path in (scratch, nested, nested / "data.bin", scratch / "empty"):
                fh = await c.lookup_path(root, rel(ganesha, path))
                attr, st = await c.getattr(fh), path.stat()
                assert attr.is_dir == stat.S_ISDIR(st.st_mode)
                assert attr.is_regular == stat.S_ISREG(st.st_mode)
                assert (attr.mode & 0o7777, attr.fileid) == (st.st_mode & 0o7777, st.st_ino)
                if attr.is_regular:
                    assert attr.size == st.st_size
            # A subdirectory of the export mounts too, and LOOKUP from it finds the same file.
            sub = await c.mount(os.fsencode(ganesha.nfs_path(scratch)))
            fh = await c.lookup_path(sub, b"a/b/c/data.bin")
            assert (await c.getattr(fh)).size == 12345
            assert (await c.fsinfo(root)).rtmax > 0
            await c.umount(os.fsencode(ganesha.export_path))

    run(body())


def test_commit_and_flush_magic_are_answered_ok(ganesha: GaneshaPeer) -> None:
    scratch = ganesha.scratch_dir("commit-")
    (scratch / "f").write_bytes(b"x" * 100)

    async def body() -> None:
        async with client(ganesha) as c:
            root = await c.mount(os.fsencode(ganesha.export_path))
            fh = await c.lookup_path(root, rel(ganesha, scratch / "f"))
            assert isinstance(await c.commit(fh, 0, 0), nfs3.CommitOk)
            # ganesha knows nothing of HPC Cache's flush magic: to it this is a plain COMMIT.
            for op in FlushOp:
                assert await c.flush(fh, op) == nfs3.Nfsstat3.NFS3_OK

    run(body())


def test_readdirplus_pages_through_a_large_directory(ganesha: GaneshaPeer) -> None:
    scratch = ganesha.scratch_dir("many-")
    for i in range(2000):
        (scratch / f"file-{i:05d}").touch()
    (scratch / "subdir").mkdir()

    async def body() -> None:
        async with client(ganesha) as c:
            root = await c.mount(os.fsencode(ganesha.export_path))
            fh = await c.lookup_path(root, rel(ganesha, scratch))
            first = await c.readdirplus(fh, dircount=1024, maxcount=4096)
            assert not first.eof and 0 < len(first.entries) < 2000  # really needs paging
            entries = [e async for e in c.iter_dir(fh, dircount=1024, maxcount=4096)]
            names = sorted(os.fsdecode(e.name) for e in entries)
            assert names == sorted(os.listdir(scratch))  # exactly, no duplicates, no . or ..
            kinds = {os.fsdecode(e.name): e.name_attributes for e in entries}
            assert kinds["subdir"] is not None and kinds["subdir"].is_dir
            assert all(e.name_handle for e in entries)

    run(body())


def test_status_failures_are_typed_errors(ganesha: GaneshaPeer) -> None:
    async def body() -> None:
        async with client(ganesha) as c:
            root = await c.mount(os.fsencode(ganesha.export_path))
            with pytest.raises(NfsError) as nfs_err:
                await c.lookup(root, b"no-such-file-here")
            assert (nfs_err.value.name, nfs_err.value.status) == ("NFS3ERR_NOENT", 2)
            with pytest.raises(MountError) as mnt_err:
                await c.mount(b"/etc")
            assert (mnt_err.value.name, mnt_err.value.status) == ("MNT3ERR_ACCES", 13)

    run(body())


def test_sync_client_with_several_connections(ganesha: GaneshaPeer) -> None:
    scratch = ganesha.scratch_dir("sync-")
    names = {f"n{i}" for i in range(20)}
    for name in names:
        (scratch / name).write_bytes(name.encode())
    opts = ClientOptions(
        portmap_port=ganesha.portmap_port, connections=3, privileged_port=os.geteuid() == 0
    )
    with SyncNfsClient(ganesha.host, opts) as c:
        root = c.mount(os.fsencode(ganesha.export_path))
        fh = c.lookup_path(root, rel(ganesha, scratch))
        assert {os.fsdecode(e.name) for e in c.iter_dir(fh)} == names
        for name in names:  # spread over the three connections
            assert c.getattr(c.lookup(fh, name.encode()).object).size == len(name)
        conns = c.client.nfs_connections
        assert len(conns) == 3 and all(x.connected for x in conns)
        if opts.privileged_port:
            assert all(665 <= (x.local_port or 0) <= 1023 for x in conns)


def test_calls_of_one_loop_turn_are_answered_by_ganesha(ganesha: GaneshaPeer) -> None:
    """Our client sends the calls made in one loop turn with one write; a server we did not
    write must read each of them, and its replies (many per TCP segment) reach each caller."""
    scratch = ganesha.scratch_dir("pipelined-")
    sizes = {f"f{i:03d}".encode(): i * 7 for i in range(150)}
    for name, size in sizes.items():
        (scratch / os.fsdecode(name)).write_bytes(b"y" * size)

    async def body() -> list[int]:
        async with client(ganesha) as c:
            root = await c.mount(os.fsencode(ganesha.export_path))
            fh = await c.lookup_path(root, rel(ganesha, scratch))
            found = await asyncio.gather(*(c.lookup(fh, name) for name in sizes))
            attrs = await asyncio.gather(*(c.getattr(ok.object) for ok in found))
            return [a.size for a in attrs]

    assert run(body()) == list(sizes.values())


def test_recursive_flush_of_a_real_tree_believes_its_listing(ganesha: GaneshaPeer) -> None:
    """The listing rules of issue 19 (no cookie twice, no directory met twice by handle or
    fileid, ``.``/``..`` once each and directories) hold for a real server's listing: a
    nested tree over several pages is flushed whole, every file on its own line, and the
    directory has none (it is its files)."""
    from hpccache_cli.flush.api import flush_paths_async

    scratch = ganesha.scratch_dir("tree-")
    files = [f"a/f{i:03d}" for i in range(300)] + ["a/b/c/deep", "a/b/g", "top"]
    for name in files:
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        (scratch / name).write_bytes(b"x")
    (scratch / "a" / "empty").mkdir()
    top = rel(ganesha, scratch)
    summary = run(flush_paths_async(
        [top], ips=[ganesha.host], export=ganesha.export_path, recursive=True,
        portmap_port=ganesha.portmap_port))
    assert summary.results is not None
    assert sorted(r.path for r in summary.results) == sorted(
        top + b"/" + os.fsencode(f) for f in files)
    assert {r.outcome.value for r in summary.results} == {"clean"}  # a plain COMMIT: OK
    assert summary.total == len(files) and summary.exit_code == 0
