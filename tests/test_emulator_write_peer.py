"""The emulator's write path against a client we did not write: libnfs-utils' ``nfs-cp``
(CREATE, WRITEs of its own size, COMMIT, SETATTR as libnfs sends them), through the ports in
the URL (no portmapper). What it wrote is dirty in the cache until a flush writes it back,
and lands on the back end directly for a target that does not cache writes."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from emulator_support import JUNCTION, make_config, running

from hpccache_cli.nfs.client import ClientOptions, FlushOp, SyncNfsClient
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

A = "127.0.0.118"  # the peer helpers accept only nfs://127.0.0.1... URLs


def test_nfs_cp_writes_into_the_cache_and_a_flush_writes_it_back(
        libnfs: SimpleNamespace, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 99)
    src = tmp_path / "upload.bin"
    src.write_bytes(data)
    (tmp_path / "small.txt").write_bytes(b"straight through\n")
    config = make_config(tmp_path / "emu", [A])
    (tmp_path / "emu" / "backend" / "nas1" / "in").mkdir(parents=True)
    with running(config) as emu:
        def url(path: str) -> str:
            return str(libnfs.url(path, host=A, nfs_port=emu.ports.nfs,
                                  mount_port=emu.ports.mount))

        libnfs.run("nfs-cp", url(f"{JUNCTION}/in/upload.bin"), str(src))
        cache = Path(emu.config.cache.cache_dir) / JUNCTION.lstrip("/") / "in" / "upload.bin"
        backend = tmp_path / "emu" / "backend" / "nas1" / "in" / "upload.bin"
        assert cache.read_bytes() == data and not backend.exists()
        assert emu.namespace.is_dirty(f"{JUNCTION}/in/upload.bin")
        assert libnfs.cat(url(f"{JUNCTION}/in/upload.bin")) == data
        options = ClientOptions(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs)
        with SyncNfsClient(A, options) as c:
            fh = c.lookup_path(c.mount(JUNCTION.encode()), b"in/upload.bin")
            assert c.flush(fh, FlushOp.SYNC) == S.NFS3_OK
        assert backend.read_bytes() == data
        libnfs.run("nfs-cp", url("/ro/small.txt"), str(tmp_path / "small.txt"))
        assert (tmp_path / "emu" / "backend" / "ro1" / "small.txt").read_bytes() == (
            b"straight through\n")
