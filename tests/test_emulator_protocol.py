"""The emulator's portmapper, MOUNT and NFS answers on the wire (raw RPC over real TCP).

Covers what a client relies on besides flushing: the aggregated namespace (synthetic
directories down to the junctions, the union of cache and back-end copies), stable handles
shared by every mount address, READDIRPLUS paging, STALE/BADHANDLE, and the RPC-level errors.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_support import JUNCTION, RawRpc, free_port, make_config, mnt, put, running

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs import mount, nfs3, portmap, rpc
from hpccache_cli.nfs.mount import Mountstat3
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S
from hpccache_cli.nfs.rpc import AcceptStat

A1, A2 = "127.0.0.22", "127.0.0.23"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[EmulatorThread]:
    cfg = make_config(tmp_path, [A1, A2], ports={"portmap": free_port(A1)})
    base = tmp_path
    put(base / "backend/nas1/hello.txt", "from the back end\n")
    put(base / "backend/nas1/both.txt", "old\n")
    put(base / "cache/NAS_12_exp5/both.txt", "the cache copy wins\n")
    put(base / "cache/NAS_12_exp5/new/only-cached.txt", "cached only\n")
    put(base / "backend/nas1/dir/deep.txt", "deep\n")
    with running(cfg) as e:
        yield e


@pytest.fixture
def nfs(emu: EmulatorThread) -> Iterator[RawRpc]:
    with RawRpc(A1, emu.ports.nfs) as c:
        yield c


def names(nfs: RawRpc, fh: bytes) -> list[str]:
    status, page = nfs.nfs(nfs3.READDIRPLUS, nfs3.ReaddirplusArgs(fh))
    assert status == S.NFS3_OK and page.eof
    return [e.name.decode() for e in page.entries]


def test_portmapper_maps_mount_and_nfs_over_tcp(emu: EmulatorThread) -> None:
    p = emu.ports
    with RawRpc(A2, p.portmap) as pm:
        def getport(prog: int, vers: int, prot: int = portmap.IPPROTO_TCP) -> int:
            return pm.proc(portmap.PROGRAM, 2, portmap.GETPORT,
                           portmap.Mapping(prog, vers, prot))

        assert getport(mount.PROGRAM, 3) == p.mount
        assert getport(nfs3.PROGRAM, 3) == p.nfs
        assert getport(nfs3.PROGRAM, 3, portmap.IPPROTO_UDP) == 0
        assert getport(nfs3.PROGRAM, 4) == 0
        dump = pm.proc(portmap.PROGRAM, 2, portmap.DUMP)
        assert {(m.prog, m.port) for m in dump} >= {(mount.PROGRAM, p.mount),
                                                   (nfs3.PROGRAM, p.nfs)}
        assert pm.proc(portmap.PROGRAM, 2, portmap.NULL) is None


def test_export_lists_junctions_and_mount_resolves_namespace(emu: EmulatorThread,
                                                             tmp_path: Path) -> None:
    (tmp_path / "backend/nas1/link").symlink_to(tmp_path / "backend")  # never followed
    with RawRpc(A1, emu.ports.mount) as m:
        exports = [e.dir.decode() for e in m.mount(mount.EXPORT)]
        assert exports == ["/NAS_12_exp5", "/blob/data", "/ro"]
        for path in ("/", "/blob", "/blob/data", JUNCTION, f"{JUNCTION}/dir", "/ro/"):
            status, body = m.mount(mount.MNT, path.encode())
            assert status == Mountstat3.MNT3_OK, path
            assert body.auth_flavors == [rpc.AuthFlavor.AUTH_SYS]
        for path, want in (("/nope", Mountstat3.MNT3ERR_NOENT),
                           ("/blob/other", Mountstat3.MNT3ERR_NOENT),
                           ("/ro/../etc", Mountstat3.MNT3ERR_NOENT),
                           ("relative", Mountstat3.MNT3ERR_NOENT),
                           (f"{JUNCTION}/hello.txt", Mountstat3.MNT3ERR_NOTDIR),
                           (f"{JUNCTION}/link", Mountstat3.MNT3ERR_NOTDIR),
                           (f"{JUNCTION}/link/nas1", Mountstat3.MNT3ERR_NOENT)):
            assert m.mount(mount.MNT, path.encode())[0] == want, path


def test_root_shows_every_junction(emu: EmulatorThread, nfs: RawRpc) -> None:
    root = mnt(emu, A1, "/")
    assert names(nfs, root) == [".", "..", "NAS_12_exp5", "blob", "ro"]
    blob = nfs.lookup_path(root, "blob")
    assert names(nfs, blob) == [".", "..", "data"]
    assert nfs.lookup_path(root, "blob/data") == mnt(emu, A2, "/blob/data")
    assert nfs.nfs(nfs3.LOOKUP, nfs3.LookupArgs(blob, b"other"))[0] == S.NFS3ERR_NOENT
    status, up = nfs.nfs(nfs3.LOOKUP, nfs3.LookupArgs(mnt(emu, A1), b".."))
    assert status == S.NFS3_OK and up.object == root


def test_junction_is_the_union_of_cache_and_backend(emu: EmulatorThread, nfs: RawRpc) -> None:
    j = mnt(emu, A1)
    assert names(nfs, j) == [".", "..", "both.txt", "dir", "hello.txt", "new"]
    (Path(emu.config.target("nas1").backend_dir) / "link").symlink_to("/etc/hostname")
    link = nfs.lookup_path(j, "link")
    assert nfs.getattr(link)[1].type == nfs3.Ftype3.NF3LNK
    assert nfs.nfs(nfs3.READ, nfs3.ReadArgs(link, 0, 10))[0] == S.NFS3ERR_IO

    def read(path: str, offset: int = 0, count: int = 1000) -> nfs3.ReadOk:
        status, body = nfs.nfs(nfs3.READ, nfs3.ReadArgs(nfs.lookup_path(j, path), offset, count))
        assert status == S.NFS3_OK
        return body

    assert read("both.txt").data == b"the cache copy wins\n"
    assert read("hello.txt").data == b"from the back end\n"
    assert read("new/only-cached.txt").data == b"cached only\n"
    part = read("hello.txt", 5, 3)
    assert (part.data, part.eof, part.file_attributes.size) == (b"the", False, 18)
    assert read("hello.txt", 15, 100).eof
    status, attrs = nfs.getattr(nfs.lookup_path(j, "dir/deep.txt"))
    assert status == S.NFS3_OK and attrs.type == nfs3.Ftype3.NF3REG and attrs.size == 5
    file_fh = nfs.lookup_path(j, "hello.txt")
    assert nfs.nfs(nfs3.LOOKUP, nfs3.LookupArgs(file_fh, b"x"))[0] == S.NFS3ERR_NOTDIR
    assert nfs.nfs(nfs3.LOOKUP, nfs3.LookupArgs(j, b"a/b"))[0] == S.NFS3ERR_INVAL
    assert nfs.nfs(nfs3.READ, nfs3.ReadArgs(j, 0, 10))[0] == S.NFS3ERR_ISDIR


def test_handles_are_stable_and_the_same_on_every_address(emu: EmulatorThread) -> None:
    with RawRpc(A1, emu.ports.nfs) as one:
        first = one.lookup_path(mnt(emu, A1), "dir/deep.txt")
    with RawRpc(A2, emu.ports.nfs) as two:
        assert two.lookup_path(mnt(emu, A2), "dir/deep.txt") == first
        status, attrs = two.getattr(first)
        assert status == S.NFS3_OK and attrs.size == 5


def test_stale_and_bad_handles(emu: EmulatorThread, nfs: RawRpc, tmp_path: Path) -> None:
    j = mnt(emu, A1)
    fh = nfs.lookup_path(j, "hello.txt")
    forged = fh[:-1] + bytes([fh[-1] ^ 0x7F])
    assert nfs.getattr(forged)[0] == S.NFS3ERR_STALE
    assert nfs.getattr(b"not ours")[0] == S.NFS3ERR_BADHANDLE
    emu.run(emu.namespace.invalidate_handle, f"{JUNCTION}/hello.txt")
    assert nfs.getattr(fh)[0] == S.NFS3ERR_STALE
    fresh = nfs.lookup_path(j, "hello.txt")
    assert fresh != fh and nfs.getattr(fresh)[0] == S.NFS3_OK
    (tmp_path / "backend/nas1/hello.txt").unlink()  # gone from cache and back end
    assert nfs.getattr(fresh)[0] == S.NFS3ERR_STALE
    emu.run(emu.namespace.forget_handles)
    assert nfs.getattr(j)[0] == S.NFS3ERR_STALE
    assert nfs.getattr(mnt(emu, A1))[0] == S.NFS3_OK


def test_readdirplus_pages_with_cookies(emu: EmulatorThread, nfs: RawRpc, tmp_path: Path) -> None:
    for i in range(150):
        put(tmp_path / f"backend/nas1/many/file-{i:04d}-{'x' * 20}", "")
    for i in range(150, 300):
        put(tmp_path / f"cache/NAS_12_exp5/many/file-{i:04d}-{'x' * 20}", "dirty")
    fh = nfs.lookup_path(mnt(emu, A1), "many")
    cookie, verf, seen, pages = 0, b"\0" * 8, [], 0
    while True:
        args = nfs3.ReaddirplusArgs(fh, cookie, verf, dircount=4096, maxcount=4096)
        status, page = nfs.nfs(nfs3.READDIRPLUS, args)
        assert status == S.NFS3_OK and page.entries
        assert all(e.name_handle and e.name_attributes for e in page.entries)
        assert cookie == 0 or page.cookieverf == verf
        seen += [e.name.decode() for e in page.entries]
        cookie, verf, pages = page.entries[-1].cookie, page.cookieverf, pages + 1
        if page.eof:
            break
    expected = [f"file-{i:04d}-{'x' * 20}" for i in range(300)]
    assert pages > 3
    assert seen == [".", "..", *expected]
    first = nfs.lookup_path(fh, expected[0])
    assert nfs.lookup_path(mnt(emu, A2), f"many/{expected[0]}") == first
    bad = nfs3.ReaddirplusArgs(fh, 5, b"bad-verf", 4096, 4096)
    assert nfs.nfs(nfs3.READDIRPLUS, bad)[0] == S.NFS3ERR_BAD_COOKIE
    tiny = nfs3.ReaddirplusArgs(fh, 0, b"\0" * 8, 4096, 100)
    assert nfs.nfs(nfs3.READDIRPLUS, tiny)[0] == S.NFS3ERR_TOOSMALL


def test_fs_info_procedures(emu: EmulatorThread, nfs: RawRpc) -> None:
    j = mnt(emu, A1)
    assert nfs.nfs(nfs3.NULL) is None
    for proc in (nfs3.FSINFO, nfs3.FSSTAT, nfs3.PATHCONF):
        status, body = nfs.nfs(proc, j)
        assert status == S.NFS3_OK and body.obj_attributes.type == nfs3.Ftype3.NF3DIR
    status, body = nfs.nfs(nfs3.ACCESS, nfs3.AccessArgs(j, 0x1F))
    assert status == S.NFS3_OK and body.access == 0x1F


def test_rpc_level_errors(emu: EmulatorThread, nfs: RawRpc) -> None:
    assert nfs.call(nfs3.PROGRAM, 3, 14).accept_stat == AcceptStat.PROC_UNAVAIL  # RENAME
    garbage = nfs.call(nfs3.PROGRAM, 3, nfs3.GETATTR.number, b"\xff\xff\xff\xff")
    assert garbage.accept_stat == AcceptStat.GARBAGE_ARGS
    assert nfs.call(100099, 1, 0).accept_stat == AcceptStat.PROG_UNAVAIL
    mismatch = nfs.call(nfs3.PROGRAM, 4, 0)
    assert (mismatch.accept_stat, mismatch.mismatch) == (AcceptStat.PROG_MISMATCH, (3, 3))
    gss = nfs.call(nfs3.PROGRAM, 3, 0, cred=rpc.OpaqueAuth(6, b""))
    assert (gss.reply_stat, gss.auth_stat) == (rpc.ReplyStat.MSG_DENIED,
                                               rpc.AuthStat.AUTH_BADCRED)
    call = bytearray(rpc.encode_call(0xABC, nfs3.PROGRAM, 3, 0))
    call[8:12] = (3).to_bytes(4, "big")  # RPC version 3
    nfs.send_raw(bytes(call))
    reply = nfs.wait(0xABC)
    assert (reply.reply_stat, reply.reject_stat) == (rpc.ReplyStat.MSG_DENIED,
                                                     rpc.RejectStat.RPC_MISMATCH)
    # The connection survives all of the above.
    assert nfs.getattr(mnt(emu, A1))[0] == S.NFS3_OK


def test_pipelined_calls_all_answered(emu: EmulatorThread, nfs: RawRpc) -> None:
    j = mnt(emu, A1)
    xids = [nfs.send_call(nfs3.PROGRAM, 3, nfs3.GETATTR.number, nfs3.fh3.encode(j))
            for _ in range(200)]
    for xid in reversed(xids):
        status, _ = nfs3.GETATTR.res.decode(nfs.wait(xid).check())
        assert status == S.NFS3_OK


def test_mount_and_nfs_can_share_one_port(tmp_path: Path) -> None:
    port = free_port(A2)
    cfg = make_config(tmp_path, [A2], ports={"mount": port, "nfs": port})
    with running(cfg) as emu, RawRpc(A2, port) as both:
        assert (emu.ports.mount, emu.ports.nfs) == (port, port)
        root = both.mnt("/")
        assert both.getattr(root)[0] == S.NFS3_OK


def test_unreadable_paths_are_bytes_safe(emu: EmulatorThread, nfs: RawRpc, tmp_path: Path
                                         ) -> None:
    raw = b"caf\xe9.txt"  # not UTF-8: names are bytes end to end
    d = os.fsencode(tmp_path / "backend/nas1") + b"/" + raw
    with open(d, "wb") as f:
        f.write(b"latin-1 name")
    j = mnt(emu, A1)
    status, found = nfs.nfs(nfs3.LOOKUP, nfs3.LookupArgs(j, raw))
    assert status == S.NFS3_OK
    status, page = nfs.nfs(nfs3.READDIRPLUS, nfs3.ReaddirplusArgs(j))
    assert raw in [e.name for e in page.entries]
    assert nfs.nfs(nfs3.READ, nfs3.ReadArgs(found.object, 0, 100))[1].data == b"latin-1 name"
