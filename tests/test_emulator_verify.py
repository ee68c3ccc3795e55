"""The emulator's back-end verification (emulator/verify.py), over the wire: a file changed
directly on the back end stays stale in the cache until its target's verification timer runs
out or a READDIRPLUS of its directory is served; a dirty cache copy wins over the back end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from emulator_support import JUNCTION, RawRpc, handle_of, make_config, mnt, put, running
from peers import wait_until

from hpccache_cli.emulator.config import ConfigError, config_from_dict
from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs import nfs3

ADDR = "127.0.0.61"


def read(nfs: RawRpc, fh: bytes) -> bytes:
    ok = nfs3.ok_body(nfs.nfs(nfs3.READ, nfs3.ReadArgs(fh, 0, 1 << 16)), "READ")
    return bytes(ok.data)


def readdirplus_all(nfs: RawRpc, dir_fh: bytes) -> list[bytes]:
    names, cookie, verf = [], 0, b"\0" * 8
    for _ in range(100):
        ok = nfs3.ok_body(nfs.nfs(nfs3.READDIRPLUS, nfs3.ReaddirplusArgs(
            dir_fh, cookie, verf, 256, 600)), "READDIRPLUS")  # small pages: several of them
        names += [e.name for e in ok.entries if e.name not in (b".", b"..")]
        if ok.eof:
            return names
        cookie, verf = ok.entries[-1].cookie, ok.cookieverf
    raise AssertionError("READDIRPLUS never reached eof")


def config(tmp_path: Path, **nas1: Any) -> Any:
    cfg = make_config(tmp_path, [ADDR])
    for key, value in nas1.items():
        setattr(cfg.target("nas1"), key, value)
    return cfg


def cached_and_flushed(emu: EmulatorThread, nfs: RawRpc, tmp_path: Path, rel: str,
                       data: bytes) -> bytes:
    """A file written through the cache and written back (both sides agree); its handle."""
    put(tmp_path / "cache" / JUNCTION.lstrip("/") / rel, data)
    fh = handle_of(emu, nfs, ADDR, f"{JUNCTION}/{rel}")
    assert nfs.flush(fh, nfs3.FLUSH_SYNC) == 0  # a SYNC flush: returns when written back
    wait_until(lambda: not emu.namespace.is_dirty(f"{JUNCTION}/{rel}"), 10)
    assert (tmp_path / "backend/nas1" / rel).read_bytes() == data
    return fh


def test_a_back_end_change_is_stale_until_readdirplus(tmp_path: Path) -> None:
    with running(config(tmp_path)) as emu, RawRpc(ADDR, emu.ports.nfs) as nfs:
        fh = cached_and_flushed(emu, nfs, tmp_path, "d/f1", b"old bytes\n")
        for i in range(12):  # a directory of several pages
            put(tmp_path / "backend/nas1/d" / f"other{i:02d}", b"x")
        (tmp_path / "backend/nas1/d/f1").write_bytes(b"new bytes from the NAS\n")
        # WRITE_WORKLOAD_15 verifies every 8 h: the cache still serves its own copy ...
        assert read(nfs, fh) == b"old bytes\n"
        # ... and calls it clean: it is stale, not dirty (a flush must not undo the change)
        assert not emu.namespace.is_dirty(f"{JUNCTION}/d/f1")
        names = readdirplus_all(nfs, handle_of(emu, nfs, ADDR, f"{JUNCTION}/d"))
        assert b"f1" in names and len(names) == 13
        assert read(nfs, fh) == b"new bytes from the NAS\n"
        assert emu.namespace.verifier.dropped == 1
        assert (tmp_path / "backend/nas1/d/f1").read_bytes() == b"new bytes from the NAS\n"


def test_a_dirty_copy_wins_over_the_back_end(tmp_path: Path) -> None:
    with running(config(tmp_path)) as emu, RawRpc(ADDR, emu.ports.nfs) as nfs:
        fh = cached_and_flushed(emu, nfs, tmp_path, "d/f", b"v1\n")
        (tmp_path / "backend/nas1/d/f").write_bytes(b"changed on the NAS\n")
        cache_copy = tmp_path / "cache" / JUNCTION.lstrip("/") / "d/f"
        cache_copy.write_bytes(b"v2 written through the cache\n")  # and then by a client
        readdirplus_all(nfs, handle_of(emu, nfs, ADDR, f"{JUNCTION}/d"))
        assert read(nfs, fh) == b"v2 written through the cache\n"
        assert emu.namespace.is_dirty(f"{JUNCTION}/d/f")
        assert emu.namespace.verifier.dropped == 0
        # a cache-only dirty file is untouched too
        put(cache_copy.parent / "new", b"only in the cache\n")
        readdirplus_all(nfs, handle_of(emu, nfs, ADDR, f"{JUNCTION}/d"))
        assert (cache_copy.parent / "new").read_bytes() == b"only in the cache\n"


def test_the_verification_timer_ends_staleness(tmp_path: Path) -> None:
    with running(config(tmp_path, verification_seconds=0.3)) as emu, \
            RawRpc(ADDR, emu.ports.nfs) as nfs:
        fh = cached_and_flushed(emu, nfs, tmp_path, "t", b"before\n")
        (tmp_path / "backend/nas1/t").write_bytes(b"after\n")
        # no READDIRPLUS: only the timer (0.3 s) can make the cache look again
        wait_until(lambda: read(nfs, fh) == b"after\n", 15, interval=0.05)
        assert emu.namespace.verifier.dropped == 1


def test_a_read_only_target_s_copy_is_stale_when_it_differs(tmp_path: Path) -> None:
    put(tmp_path / "cache/ro/r", b"cached\n")
    put(tmp_path / "backend/ro1/r", b"cached\n")
    cfg = make_config(tmp_path, [ADDR])
    cfg.target("ro1").verification_seconds = 3600.0
    with running(cfg) as emu, RawRpc(ADDR, emu.ports.nfs) as nfs:
        root = mnt(emu, ADDR, "/ro")
        fh = nfs.lookup_path(root, "r")
        (tmp_path / "backend/ro1/r").write_bytes(b"newer\n")
        assert read(nfs, fh) == b"cached\n"
        readdirplus_all(nfs, root)
        assert read(nfs, fh) == b"newer\n"


@pytest.mark.parametrize("value", [0, -1, 31_536_001, "30", True, float("nan"), float("inf")])
def test_verification_seconds_is_range_checked(tmp_path: Path, value: object) -> None:
    data = {"cache": {"mount_addresses": ["127.0.0.1"]}, "storage_targets": [
        {"name": "n", "backend_dir": "b", "verification_seconds": value}]}
    with pytest.raises(ConfigError, match="verification_seconds"):
        config_from_dict(data, tmp_path)


def test_verification_seconds_accepts_a_number(tmp_path: Path) -> None:
    data = {"cache": {"mount_addresses": ["127.0.0.1"]}, "storage_targets": [
        {"name": "n", "backend_dir": "b", "verification_seconds": 30}]}
    target = config_from_dict(data, tmp_path).target("n")
    assert target is not None and target.verification_seconds == 30.0
