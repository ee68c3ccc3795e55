"""Fault knobs of the emulator, changed while it runs: latency, JUKEBOX, dropped connections,
a mount address going down and coming back, and a suspended storage target.

No timing is asserted beyond "the reply is not there before the latency": a slow machine can
only make that more true.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_support import JUNCTION, RawRpc, make_config, mnt, put, running
from peers import wait_until

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.nfs3 import FLUSH_STATUS, FLUSH_SYNC
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

A1, A2 = "127.0.0.24", "127.0.0.25"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[EmulatorThread]:
    put(tmp_path / "backend/nas1/f.txt", "old")
    put(tmp_path / "cache/NAS_12_exp5/f.txt", "new")
    put(tmp_path / "backend/ro1/r.txt", "read only")
    with running(make_config(tmp_path, [A1, A2])) as e:
        yield e


def test_latency_holds_replies(emu: EmulatorThread) -> None:
    with RawRpc(A1, emu.ports.nfs) as nfs:
        root = mnt(emu, A1)
        emu.faults.latency_ms = 400
        xid = nfs.send_call(nfs3.PROGRAM, 3, nfs3.GETATTR.number, nfs3.fh3.encode(root))
        readable, _, _ = select.select([nfs.sock], [], [], 0.1)
        assert not readable, "reply came before the configured latency"
        status, _ = nfs3.GETATTR.res.decode(nfs.wait(xid).check())
        assert status == S.NFS3_OK
        emu.faults.latency_ms = 0
        assert nfs.getattr(root)[0] == S.NFS3_OK


def test_jukebox_every_nth_flush(emu: EmulatorThread) -> None:
    with RawRpc(A1, emu.ports.nfs) as nfs:
        fh = nfs.lookup_path(mnt(emu, A1), "f.txt")
        emu.faults.jukebox_every = 3
        answers = [nfs.flush(fh, FLUSH_STATUS) for _ in range(6)]
        assert answers.count(S.NFS3ERR_JUKEBOX) == 2
        assert set(answers) == {S.NFS3ERR_JUKEBOX, S.NFS3ERR_NOTEMPTY}
        assert nfs.getattr(fh)[0] == S.NFS3_OK  # only flushes are affected
        emu.faults.jukebox_every = 0
        assert nfs.flush(fh, FLUSH_SYNC) == S.NFS3_OK


def test_drop_connection_every_nth_call(emu: EmulatorThread) -> None:
    root = mnt(emu, A1)
    emu.faults.drop_connection_every = 4
    dropped = answered = 0
    nfs = RawRpc(A1, emu.ports.nfs)
    try:
        for _ in range(12):
            try:
                assert nfs.getattr(root)[0] == S.NFS3_OK
                answered += 1
            except ConnectionError:
                dropped += 1
                nfs.close()
                nfs = RawRpc(A1, emu.ports.nfs)
    finally:
        nfs.close()
    assert (dropped, answered) == (3, 9)


def test_address_down_at_start_and_back_up(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, [A1, A2], faults={"down_addresses": [A2]})
    with running(cfg) as emu:
        with pytest.raises(ConnectionRefusedError):
            RawRpc(A2, emu.ports.mount)
        root = mnt(emu, A1)
        emu.set_address_down(A2, False)
        assert emu.faults.down_addresses == []
        with RawRpc(A2, emu.ports.nfs) as nfs:
            assert nfs.getattr(root)[0] == S.NFS3_OK


def test_address_goes_down_mid_run(emu: EmulatorThread) -> None:
    root = mnt(emu, A1)
    with RawRpc(A1, emu.ports.nfs) as nfs, RawRpc(A2, emu.ports.nfs) as other:
        assert nfs.getattr(root)[0] == S.NFS3_OK
        emu.set_address_down(A1, True)
        assert emu.faults.down_addresses == [A1]
        with pytest.raises(ConnectionError):
            nfs.getattr(root)  # the open connection is dropped
        with pytest.raises(ConnectionRefusedError):
            RawRpc(A1, emu.ports.nfs)
        assert other.getattr(root)[0] == S.NFS3_OK  # other mount IPs keep serving
        emu.set_address_down(A1, False)
    with RawRpc(A1, emu.ports.nfs) as again:
        assert again.getattr(root)[0] == S.NFS3_OK  # same handle after the outage
    with pytest.raises(ValueError):
        emu.set_address_down("127.0.0.99", True)


def test_suspended_target_answers_jukebox(emu: EmulatorThread) -> None:
    with RawRpc(A1, emu.ports.nfs) as nfs:
        fh = nfs.lookup_path(mnt(emu, A1), "f.txt")
        ro = nfs.lookup_path(mnt(emu, A1, "/ro"), "r.txt")
        emu.run(emu.namespace.set_suspended, "nas1", True)
        assert nfs.getattr(fh)[0] == S.NFS3ERR_JUKEBOX
        assert nfs.flush(fh, FLUSH_SYNC) == S.NFS3ERR_JUKEBOX
        assert nfs.getattr(ro)[0] == S.NFS3_OK  # other targets are not affected
        assert nfs.getattr(mnt(emu, A1, "/"))[0] == S.NFS3_OK
        emu.run(emu.namespace.set_suspended, "nas1", False)
        assert nfs.flush(fh, FLUSH_SYNC) == S.NFS3_OK
        assert not emu.namespace.is_dirty(f"{JUNCTION}/f.txt")


def test_client_hanging_up_does_not_cancel_the_write_back(emu: EmulatorThread) -> None:
    wb = emu.namespace.writeback
    with RawRpc(A1, emu.ports.nfs) as nfs:
        fh = nfs.lookup_path(mnt(emu, A1), "f.txt")
        emu.run(wb.pause)
        args = nfs3.CommitArgs.xdr.encode(nfs3.CommitArgs(fh, nfs3.FLUSH_OFFSET, FLUSH_SYNC))
        nfs.send_call(nfs3.PROGRAM, 3, nfs3.COMMIT.number, args)
        wait_until(lambda: emu.run(wb.running_count) == 1, message="write-back running")
    wait_until(lambda: emu.emulator.connection_count(A1) == 0, message="connection closed")
    emu.run(wb.resume)
    wait_until(lambda: not emu.namespace.is_dirty(f"{JUNCTION}/f.txt"), message="written back")


def test_denied_paths_refuse_every_call_on_their_handles(emu: EmulatorThread) -> None:
    """A handle got before the path was denied (or from a READDIRPLUS listing, which names
    the file without a LOOKUP) is refused too: the fault applies however the file is reached
    (it used to act on LOOKUP alone, so ``flush -r`` flushed denied files)."""
    with RawRpc(A1, emu.ports.nfs) as nfs:
        root = mnt(emu, A1)
        fh = nfs.lookup_path(root, "f.txt")
        emu.faults.denied_paths.append(f"{JUNCTION}/f.txt")
        assert nfs.getattr(fh)[0] == S.NFS3ERR_ACCES
        assert nfs.flush(fh, FLUSH_SYNC) == S.NFS3ERR_ACCES
        assert nfs.getattr(root)[0] == S.NFS3_OK  # the directory above is not denied
        assert emu.namespace.is_dirty(f"{JUNCTION}/f.txt")  # not written back
        emu.faults.denied_paths.clear()
        assert nfs.flush(fh, FLUSH_SYNC) == S.NFS3_OK
