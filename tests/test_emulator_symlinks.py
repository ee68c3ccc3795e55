"""Symlinks in the emulator's cache directory are not dirty files.

The emulator writes back regular files only; a symlink in the cache directory (one pointing at
a file whose bytes differ from the back end's, or one pointing nowhere) has nothing to write
back. Counting it dirty would make ``dirty_count()`` disagree with what a flush can ever clean,
and a flush of it would start a write-back that copies *through* the link. Checked on the
namespace and over NFS (raw RPC on real TCP), where a flush must answer "clean" (NFS3_OK) at
once without starting a write-back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_support import JUNCTION, RawRpc, handle_of, make_config, put, running

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.nfs3 import FLUSH_ASYNC_START as START
from hpccache_cli.nfs.nfs3 import FLUSH_STATUS as STATUS
from hpccache_cli.nfs.nfs3 import FLUSH_SYNC as SYNC
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

A1 = "127.0.0.42"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[EmulatorThread]:
    with running(make_config(tmp_path, [A1])) as e:
        yield e


def cache(emu: EmulatorThread, rest: str) -> Path:
    return Path(emu.config.cache.cache_dir) / JUNCTION.lstrip("/") / rest


def backend(emu: EmulatorThread, rest: str) -> Path:
    t = emu.config.target("nas1")
    assert t is not None
    return Path(t.backend_dir) / rest


def symlinked_cache(emu: EmulatorThread, outside: Path) -> None:
    """A cache with one really dirty file and three symlinks that must not count:

    - ``link.txt`` -> a file outside the cache whose bytes differ from the back end's copy
    - ``dangling.txt`` -> nothing (and no back-end copy)
    - ``linkdir`` -> a directory outside the cache holding a file the back end lacks
    """
    put(cache(emu, "real.txt"), "new bytes\n")
    put(backend(emu, "real.txt"), "old bytes\n")
    put(backend(emu, "link.txt"), "old bytes\n")
    target = put(outside / "link-target.txt", "newer, longer bytes\n")
    os.symlink(target, cache(emu, "link.txt"))
    os.symlink(outside / "nowhere.txt", cache(emu, "dangling.txt"))
    put(outside / "dir" / "f.txt", "only outside\n")
    os.symlink(outside / "dir", cache(emu, "linkdir"))


def test_symlinks_in_the_cache_are_not_counted_dirty(emu: EmulatorThread,
                                                     tmp_path: Path) -> None:
    symlinked_cache(emu, tmp_path / "outside")
    ns = emu.namespace
    assert emu.run(ns.dirty_files) == [f"{JUNCTION}/real.txt"]
    assert emu.run(ns.dirty_count) == 1
    assert emu.run(ns.dirty_count, "nas1") == 1
    for name in ("link.txt", "dangling.txt", "linkdir"):
        assert not emu.run(ns.is_dirty, f"{JUNCTION}/{name}"), name
    assert emu.run(ns.is_dirty, f"{JUNCTION}/real.txt")


def test_flushing_a_symlink_answers_clean_without_a_write_back(
    emu: EmulatorThread, tmp_path: Path
) -> None:
    symlinked_cache(emu, tmp_path / "outside")
    wb = emu.namespace.writeback
    with RawRpc(A1, emu.ports.nfs) as nfs:
        for name in ("link.txt", "dangling.txt"):
            fh = handle_of(emu, nfs, A1, f"{JUNCTION}/{name}")
            status, attrs = nfs.getattr(fh)
            assert status == S.NFS3_OK and attrs.type == nfs3.Ftype3.NF3LNK, name
            assert [nfs.flush(fh, op) for op in (START, STATUS, SYNC)] == [S.NFS3_OK] * 3
            assert emu.run(wb.running_count) == 0
        # The really dirty file still starts one: the answers above are not "always OK".
        real = handle_of(emu, nfs, A1, f"{JUNCTION}/real.txt")
        assert nfs.flush(real, STATUS) == S.NFS3ERR_NOTEMPTY
        assert nfs.flush(real, SYNC) == S.NFS3_OK
    assert (emu.run(lambda: wb.written), emu.run(lambda: wb.failed)) == (1, 0)
    # Nothing was copied through the link onto the back end, nor created for the dangling one.
    assert backend(emu, "link.txt").read_text() == "old bytes\n"
    assert not backend(emu, "dangling.txt").exists()
    assert not (tmp_path / "outside" / "nowhere.txt").exists()
    assert emu.run(emu.namespace.dirty_count) == 0
