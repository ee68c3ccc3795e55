"""The emulator against a real client we did not write: libnfs-utils' nfs-ls and nfs-cat.

libnfs mounts the junction (or the cache root), walks it with READDIRPLUS/LOOKUP and reads
files with READ, through the emulator's MOUNT and NFS ports given in the URL (no
portmapper). The ``libnfs`` fixture marks these tests ``peer``: a missing libnfs-utils skips
them, or fails them under HPCCACHE_REQUIRE_PEERS=1. Never run with discovery (``-D``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from emulator_support import JUNCTION, make_config, put, running

from hpccache_cli.emulator.server import EmulatorThread

# Addresses under 127.0.0.1xx: the peer helpers accept only nfs://127.0.0.1... URLs.
A1, A2 = "127.0.0.116", "127.0.0.117"
BIG = os.urandom(3 * 1024 * 1024 + 123)  # several READs of libnfs' default size


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorThread]:
    base = tmp_path_factory.mktemp("emu-peer")
    put(base / "backend/nas1/hello.txt", "hello from the back end\n")
    put(base / "backend/nas1/both.txt", "old\n")
    put(base / "cache/NAS_12_exp5/both.txt", "the cache copy\n")
    put(base / "cache/NAS_12_exp5/results/big.bin", BIG)
    put(base / "backend/nas1/results/run1.csv", "step,value\n")
    for i in range(400):  # more entries than one READDIRPLUS reply holds
        put(base / f"backend/nas1/many/entry-{i:03d}", "")
    put(base / "backend/blob1/sub/model.txt", "blob\n")
    with running(make_config(base, [A1, A2])) as e:
        yield e


def url(libnfs: SimpleNamespace, emu: EmulatorThread, path: str, host: str = A1) -> str:
    return libnfs.url(path, host=host, nfs_port=emu.ports.nfs, mount_port=emu.ports.mount)


def test_nfs_ls_lists_a_junction(libnfs: SimpleNamespace, emu: EmulatorThread) -> None:
    listed = libnfs.ls(url(libnfs, emu, JUNCTION))
    assert sorted(listed) == ["both.txt", "hello.txt", "many", "results"]


def test_nfs_ls_pages_a_large_directory(libnfs: SimpleNamespace, emu: EmulatorThread) -> None:
    listed = libnfs.ls(url(libnfs, emu, f"{JUNCTION}/many", host=A2))
    assert sorted(listed) == [f"entry-{i:03d}" for i in range(400)]


def test_nfs_ls_recursive_from_the_cache_root(libnfs: SimpleNamespace, emu: EmulatorThread
                                              ) -> None:
    listed = set(libnfs.ls(url(libnfs, emu, "/"), recursive=True))
    assert {"NAS_12_exp5", "blob", "blob/data", "ro", "blob/data/model.txt",
            "NAS_12_exp5/results/big.bin", "NAS_12_exp5/results/run1.csv"} <= listed


def test_nfs_cat_reads_the_cache_view(libnfs: SimpleNamespace, emu: EmulatorThread) -> None:
    assert libnfs.cat(url(libnfs, emu, f"{JUNCTION}/hello.txt")) == b"hello from the back end\n"
    assert libnfs.cat(url(libnfs, emu, f"{JUNCTION}/both.txt", host=A2)) == b"the cache copy\n"
    assert libnfs.cat(url(libnfs, emu, f"{JUNCTION}/results/big.bin")) == BIG
    assert libnfs.cat(url(libnfs, emu, "/blob/data/model.txt")) == b"blob\n"


def test_reading_does_not_change_dirty_state(libnfs: SimpleNamespace, emu: EmulatorThread
                                             ) -> None:
    libnfs.cat(url(libnfs, emu, f"{JUNCTION}/both.txt"))
    assert emu.namespace.is_dirty(f"{JUNCTION}/both.txt")
    assert not emu.namespace.is_dirty(f"{JUNCTION}/hello.txt")
    assert Path(emu.config.target("nas1").backend_dir, "both.txt").read_text() == "old\n"
