"""COMMIT replies carry post-op attributes, as COMMIT3res of a real NFSv3 server does.

Microsoft's flush_file.py prints ``file_wcc.after.attributes.mtime`` of every successful flush
reply; an emulator that sends ``attributes_follow = FALSE`` kills its worker threads. Each
flush reply kind is decoded here from the raw reply bytes with ``struct``, following RFC 1813
(3.3.21 COMMIT3res, 2.6 wcc_data, 2.5 fattr3), not with the project's own codec, and the
attributes are checked against ``os.stat`` of the emulator's cache copy.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from emulator_support import JUNCTION, RawRpc, handle_of, make_config, put, running
from peers import wait_until
from test_flush_support import assert_written_back, by_path, dirty_cache, emulator, flush, outcomes

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.nfs3 import FLUSH_ASYNC_START as START
from hpccache_cli.nfs.nfs3 import FLUSH_STATUS as STATUS
from hpccache_cli.nfs.nfs3 import FLUSH_SYNC as SYNC
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

A1 = "127.0.0.22"
FATTR3 = struct.Struct("!IIIIIQQIIQQIIIIII")  # RFC 1813 2.5: 84 bytes
NF3REG, NF3DIR = 1, 2


@dataclass
class Commit3Res:
    """COMMIT3res as RFC 1813 lays it out; ``after`` is fattr3 as a tuple, or None."""

    status: int
    before: bytes | None
    after: tuple[int, ...] | None
    verf: bytes | None


def decode_commit3res(data: bytes) -> Commit3Res:
    """status, wcc_data {pre_op_attr, post_op_attr}, then writeverf3 only when NFS3_OK;
    every byte of the reply accounted for."""
    status, = struct.unpack_from("!I", data, 0)
    pos = 4
    before = None
    if struct.unpack_from("!I", data, pos)[0]:
        before = data[pos + 4 : pos + 4 + 24]  # wcc_attr: size u64, mtime, ctime
        pos += 24
    pos += 4
    after = None
    if struct.unpack_from("!I", data, pos)[0]:
        after = FATTR3.unpack_from(data, pos + 4)
        pos += FATTR3.size
    pos += 4
    verf = None
    if status == S.NFS3_OK:
        verf = data[pos : pos + 8]
        pos += 8
    assert pos == len(data), f"{len(data) - pos} bytes left after COMMIT3res"
    return Commit3Res(status, before, after, verf)


def commit(nfs: RawRpc, fh: bytes, offset: int, count: int) -> Commit3Res:
    args = nfs3.CommitArgs.xdr.encode(nfs3.CommitArgs(fh, offset, count))
    return decode_commit3res(nfs.call(nfs3.PROGRAM, 3, nfs3.COMMIT.number, args).check())


def flush_op(nfs: RawRpc, fh: bytes, op: int) -> Commit3Res:
    return commit(nfs, fh, nfs3.FLUSH_OFFSET, op)


def assert_attrs_of(res: Commit3Res, copy: Path, ftype: int = NF3REG) -> None:
    """post-op attributes present and equal to the file's stat: type, mode, size, mtime."""
    assert res.after is not None, f"{nfs3.status_name(res.status)} reply without attributes"
    st = os.stat(copy)
    (kind, mode, _nlink, _uid, _gid, size, _used, _r1, _r2, _fsid, _fileid,
     _as, _ans, msec, mnsec, _cs, _cns) = res.after
    assert kind == ftype and mode == st.st_mode & 0o7777
    if ftype == NF3REG:
        assert size == st.st_size
    assert (msec, mnsec) == divmod(st.st_mtime_ns, 1_000_000_000)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[EmulatorThread]:
    with running(make_config(tmp_path, [A1])) as e:
        yield e


@pytest.fixture
def nfs(emu: EmulatorThread) -> Iterator[RawRpc]:
    with RawRpc(A1, emu.ports.nfs) as c:
        yield c


def cache_copy(emu: EmulatorThread, name: str) -> Path:
    return Path(emu.config.cache.cache_dir) / JUNCTION.lstrip("/") / name


def dirty(emu: EmulatorThread, name: str, data: str) -> tuple[str, Path]:
    target = emu.config.target("nas1")
    assert target is not None
    put(Path(target.backend_dir) / name, "old\n")
    return f"{JUNCTION}/{name}", put(cache_copy(emu, name), data)


def test_every_flush_reply_kind_carries_the_cache_copys_attributes(
    emu: EmulatorThread, nfs: RawRpc
) -> None:
    wb = emu.namespace.writeback
    path, copy = dirty(emu, "a.txt", "seventeen bytes!\n")
    fh = handle_of(emu, nfs, A1, path)
    seen: list[int] = []

    def check(res: Commit3Res, status: int, target: Path = copy, ftype: int = NF3REG) -> None:
        assert res.status == status, nfs3.status_name(res.status)
        assert_attrs_of(res, target, ftype)
        seen.append(status)

    check(flush_op(nfs, fh, STATUS), S.NFS3ERR_NOTEMPTY)  # dirty, nothing running
    emu.run(wb.pause)
    check(flush_op(nfs, fh, START), S.NFS3ERR_NOT_SYNC)  # started
    check(flush_op(nfs, fh, STATUS), S.NFS3ERR_NOT_SYNC)  # running
    emu.run(wb.resume)
    wait_until(lambda: flush_op(nfs, fh, STATUS).status == S.NFS3_OK, message="written back")
    check(flush_op(nfs, fh, STATUS), S.NFS3_OK)  # what ends an async flush
    check(flush_op(nfs, fh, START), S.NFS3_OK)  # clean at once
    put(copy, "changed again, a longer text\n")
    check(flush_op(nfs, fh, SYNC), S.NFS3_OK)  # sync, after its write-back
    put(copy, "this one fails\n")
    emu.faults.failing_paths.append(path)
    check(flush_op(nfs, fh, SYNC), S.NFS3ERR_IO)
    emu.faults.jukebox_every = 1
    check(flush_op(nfs, fh, START), S.NFS3ERR_JUKEBOX)
    emu.faults.jukebox_every = 0
    check(flush_op(nfs, fh, 0x1234), S.NFS3ERR_INVAL)
    check(commit(nfs, fh, 0, 0), S.NFS3_OK)  # an ordinary COMMIT too
    root = handle_of(emu, nfs, A1, JUNCTION)
    check(flush_op(nfs, root, SYNC), S.NFS3ERR_ISDIR, cache_copy(emu, ""), NF3DIR)
    assert len(set(seen)) == 7


def test_a_suspended_target_answers_jukebox_with_attributes(
    emu: EmulatorThread, nfs: RawRpc
) -> None:
    path, copy = dirty(emu, "held.txt", "held\n")
    fh = handle_of(emu, nfs, A1, path)
    emu.namespace.suspended.add("nas1")
    res = flush_op(nfs, fh, SYNC)
    assert res.status == S.NFS3ERR_JUKEBOX
    assert_attrs_of(res, copy)


def test_bare_commit_replies_knob_omits_them(tmp_path: Path) -> None:
    """A server may send no attributes (post_op_attr is optional): the knob plays one."""
    with running(make_config(tmp_path, [A1], faults={"bare_commit_replies": True})) as emu, \
            RawRpc(A1, emu.ports.nfs) as nfs:
        path, _ = dirty(emu, "bare.txt", "bare\n")
        fh = handle_of(emu, nfs, A1, path)
        replies = [flush_op(nfs, fh, op) for op in (STATUS, START, SYNC)]
        replies.append(commit(nfs, fh, 0, 0))
    assert [r.status for r in replies] == [S.NFS3ERR_NOTEMPTY, S.NFS3ERR_NOT_SYNC,
                                           S.NFS3_OK, S.NFS3_OK]
    assert all(r.after is None and r.before is None for r in replies)


@pytest.mark.parametrize("bare", [False, True], ids=["with-attributes", "without"])
def test_the_client_flushes_whether_replies_carry_attributes_or_not(
    tmp_path: Path, bare: bool
) -> None:
    """A real cache may send post-op attributes or not: our client needs neither."""
    names = dirty_cache(tmp_path, [f"w/{i}" for i in range(6)])
    with emulator(tmp_path, [A1], faults={"bare_commit_replies": bare}) as emu:
        for mode, half in (("sync", names[:3]), ("async", names[3:])):
            summary = flush(emu, half, mode=mode)
            assert outcomes(summary) == {"flushed": 3}, (mode, by_path(summary))
    assert_written_back(tmp_path, names)
