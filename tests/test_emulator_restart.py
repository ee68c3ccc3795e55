"""The emulator's file handles survive a restart as a real server's do (issue #11 §5).

Client A looks its files up and is paused; the emulator is stopped (its in-memory tables
gone, as with a kill) and started again on the same ports; client B works on other files;
then A resumes with the handles it holds. Each of A's handles must still name A's own file,
or be STALE: never another file. Before, handles were handed out by a counter, so A's
handles named B's files after the restart and A was told its files were flushed while their
back-end copies did not exist.
"""

from __future__ import annotations

from pathlib import Path

from emulator_support import JUNCTION, RawRpc, make_config, mnt, put, running

from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

A1 = "127.0.11.21"
FILES = [f"f{i}" for i in range(10)]


def _dirty(base: Path, directory: str) -> None:
    for name in FILES:
        put(base / "cache" / JUNCTION.lstrip("/") / directory / name, f"{directory}/{name}\n")


def _handles(emu: object, directory: str) -> dict[str, bytes]:
    """Directory and file handles of ``directory/*`` through a fresh connection."""
    with RawRpc(A1, emu.ports.nfs) as nfs:  # type: ignore[attr-defined]
        dir_fh = nfs.lookup_path(mnt(emu, A1), directory)  # type: ignore[arg-type]
        out = {name: nfs.lookup_path(dir_fh, name) for name in FILES}
        out[""] = dir_fh
        return out


def test_a_client_resumed_after_a_restart_never_flushes_another_file(tmp_path: Path) -> None:
    _dirty(tmp_path, "a")
    _dirty(tmp_path, "b")
    backend = tmp_path / "backend/nas1"
    with running(make_config(tmp_path, [A1])) as first:
        ports = {"mount": first.ports.mount, "nfs": first.ports.nfs}
        held = _handles(first, "a")  # client A, paused from here on
    with running(make_config(tmp_path, [A1], ports=ports)) as emu:
        b = _handles(emu, "b")  # client B, after the restart
        with RawRpc(A1, emu.ports.nfs) as nfs:
            assert [nfs.flush(b[n], nfs3.FLUSH_SYNC) for n in FILES] == [S.NFS3_OK] * 10
            # Client A resumes (reconnected, same handles).
            answers = {}
            for name in FILES:
                status = nfs.flush(held[name], nfs3.FLUSH_SYNC)
                answers[name] = status
                if status == S.NFS3_OK:  # "flushed" must mean A's own file is on the back end
                    assert (backend / "a" / name).read_text() == f"a/{name}\n", name
                else:
                    assert status == S.NFS3ERR_STALE, (name, status)
            # LOOKUP in A's held directory handle finds A's file, or the handle is STALE.
            status, res = nfs.nfs(nfs3.LOOKUP, nfs3.LookupArgs(held[""], b"f0"))
            assert status in (S.NFS3_OK, S.NFS3ERR_STALE)
            if status == S.NFS3_OK:
                assert res.object == held["f0"]
            # After looking its paths up again, A gets handles that work (the same ones).
            again = _handles(emu, "a")
            assert again == held
            assert [nfs.flush(again[n], nfs3.FLUSH_SYNC) for n in FILES] == [S.NFS3_OK] * 10
    for name in FILES:
        assert (backend / "a" / name).read_text() == f"a/{name}\n"
        assert (backend / "b" / name).read_text() == f"b/{name}\n"
