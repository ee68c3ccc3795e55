"""The client's write path against nfs-ganesha, a server we did not write: every result is
checked against the files on disk (``os.stat``, the bytes), not against our own codec.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Awaitable
from typing import TypeVar

import pytest
from peers import GaneshaPeer

from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.client import ClientOptions, NfsClient
from hpccache_cli.nfs.errors import NfsError
from hpccache_cli.nfs.nfs3_write import CreateMode, Sattr3, StableHow, TimeHow

pytestmark = pytest.mark.peer
T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 120))


def test_mkdir_create_write_commit_setattr_remove_agree_with_disk(ganesha: GaneshaPeer) -> None:
    scratch = ganesha.scratch_dir("write-")
    small, large = os.urandom(5000), os.urandom((1 << 20) * 2 + 4321)

    async def body() -> None:
        options = ClientOptions(portmap_port=ganesha.portmap_port, connections=2)
        async with NfsClient(ganesha.host, options) as c:
            root = await c.mount(os.fsencode(ganesha.nfs_path(scratch)))
            made = await c.mkdir(root, b"sub", Sattr3(mode=0o751))
            sub = made.obj or (await c.lookup(root, b"sub")).object
            with pytest.raises(NfsError) as exists:
                await c.mkdir(root, b"sub")
            assert exists.value.name == "NFS3ERR_EXIST"
            created = await c.create(sub, b"small.bin", Sattr3(mode=0o600), CreateMode.GUARDED)
            fh = created.obj or (await c.lookup(sub, b"small.bin")).object
            stats = await c.write_file(fh, small)
            assert (stats.writes, stats.commits, stats.bytes) == (1, 0, len(small))
            wtmax = (await c.fsinfo(root)).wtmax
            big = (await c.create(sub, b"large.bin", Sattr3(mode=0o644))).obj
            assert big is not None
            stats = await c.write_file(big, large, parallel=4)
            chunk = min(wtmax, 1 << 20)
            assert stats.writes >= -(-len(large) // chunk) and stats.commits == 1
            one = await c.write(big, 0, large[:100], StableHow.UNSTABLE)
            assert one.count == 100 and len(one.verf) == 8
            assert (await c.commit(big)).verf == one.verf  # no restart in between
            when = nfs3.NfsTime3(1_234_567_890, 0)
            await c.setattr(fh, Sattr3(mode=0o640, mtime=when, atime=when))
            await c.setattr(big, Sattr3(size=1000, mtime=TimeHow.SET_TO_SERVER_TIME))
            with pytest.raises(NfsError) as guarded:
                await c.create(sub, b"small.bin", Sattr3(), CreateMode.GUARDED)
            assert guarded.value.name == "NFS3ERR_EXIST"
            await c.create(root, b"gone", Sattr3())
            await c.remove(root, b"gone")
            with pytest.raises(NfsError) as noent:
                await c.remove(root, b"gone")
            assert noent.value.name == "NFS3ERR_NOENT"

    run(body())
    st = os.stat(scratch / "sub")
    assert stat.S_ISDIR(st.st_mode) and st.st_mode & 0o777 == 0o751
    st = os.stat(scratch / "sub" / "small.bin")
    assert (scratch / "sub" / "small.bin").read_bytes() == small
    assert (st.st_mode & 0o777, int(st.st_mtime), int(st.st_atime)) == (
        0o640, 1_234_567_890, 1_234_567_890)
    assert (scratch / "sub" / "large.bin").read_bytes() == large[:1000]
    assert not (scratch / "gone").exists()
