"""The emulator's namespace without the network: union view, dirty rules, handles, TargetOps."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from emulator_support import JUNCTION, make_config, put

from hpccache_cli.emulator.config import config_from_dict
from hpccache_cli.emulator.handlers_nfs import read_file
from hpccache_cli.emulator.namespace import Namespace
from hpccache_cli.emulator.nodes import NfsStatusError
from hpccache_cli.emulator.target_ops import TargetOps
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S


@pytest.fixture
def ns(tmp_path: Path) -> Namespace:
    cfg = make_config(tmp_path, ["127.0.0.1"])
    namespace = Namespace(cfg, cfg.faults)
    namespace.ensure_dirs()
    return namespace


def cache(tmp_path: Path, rel: str, data: str | bytes) -> Path:
    return put(tmp_path / "cache" / JUNCTION.lstrip("/") / rel, data)


def backend(tmp_path: Path, rel: str, data: str | bytes) -> Path:
    return put(tmp_path / "backend/nas1" / rel, data)


def test_namespace_implements_target_ops(ns: Namespace) -> None:
    ops: TargetOps = ns  # the fake ARM drives the namespace through this protocol
    assert ops.dirty_count() == 0


def test_dirty_rules(ns: Namespace, tmp_path: Path) -> None:
    cache(tmp_path, "only-cache", "x")
    backend(tmp_path, "only-backend", "x")
    cache(tmp_path, "same", "abc"), backend(tmp_path, "same", "abc")
    cache(tmp_path, "size", "abcd"), backend(tmp_path, "size", "abc")
    cache(tmp_path, "bytes", "abd"), backend(tmp_path, "bytes", "abc")
    cache(tmp_path, "dir/inner", "x")
    expected = {"only-cache": True, "only-backend": False, "same": False, "size": True,
                "bytes": True, "dir": False, "missing": False}
    for name, dirty in expected.items():
        assert ns.is_dirty(f"{JUNCTION}/{name}") is dirty, name
    assert not ns.is_dirty(JUNCTION) and not ns.is_dirty("/") and not ns.is_dirty("relative")
    assert sorted(ns.dirty_files("nas1")) == [f"{JUNCTION}/{n}" for n in
                                              ("bytes", "dir/inner", "only-cache", "size")]


def test_a_remembered_comparison_never_hides_a_change(ns: Namespace, tmp_path: Path) -> None:
    backend(tmp_path, "f", "aaaa")
    path = cache(tmp_path, "f", "aaaa")
    assert not ns.is_dirty(f"{JUNCTION}/f")
    path.write_text("bbbb")  # same size, maybe within the same mtime tick
    assert ns.is_dirty(f"{JUNCTION}/f")
    old = 1_000_000_000
    os.utime(path, (old, old))  # old enough to be remembered; ctime still changes on write
    assert ns.is_dirty(f"{JUNCTION}/f") and ns.is_dirty(f"{JUNCTION}/f")
    path.write_text("aaaa")
    os.utime(path, (old, old))
    assert not ns.is_dirty(f"{JUNCTION}/f")


def test_targets_without_write_caching_are_never_dirty(ns: Namespace, tmp_path: Path) -> None:
    put(tmp_path / "cache/ro/f", "cache")
    put(tmp_path / "backend/ro1/f", "differs")
    assert not ns.is_dirty("/ro/f")
    assert ns.dirty_count("ro1") == 0


def test_union_view_and_lookup(ns: Namespace, tmp_path: Path) -> None:
    cache(tmp_path, "both", "cache wins")
    backend(tmp_path, "both", "backend")
    backend(tmp_path, "sub/b", "b")
    root = ns.node_at(JUNCTION)
    assert root is not None
    both, st = ns.lookup(root, b"both")
    assert st is not None and st.st_size == len("cache wins")
    assert read_file(both, 0, 100)[0] == b"cache wins"
    names, _ = ns.listing(root, b"\0" * 8, fresh=True)
    assert names == [".", "..", "both", "sub"]
    with pytest.raises(NfsStatusError) as info:
        ns.lookup(root, b"nope")
    assert info.value.status == S.NFS3ERR_NOENT
    with pytest.raises(NfsStatusError) as info:
        ns.lookup(root, b"x" * 256)
    assert info.value.status == S.NFS3ERR_NAMETOOLONG


def test_nested_junctions(tmp_path: Path) -> None:
    cfg = config_from_dict({
        "cache": {"mount_addresses": ["127.0.0.1"]},
        "storage_targets": [
            {"name": "outer", "backend_dir": "b/outer", "junctions": [{"namespace_path": "/a"}]},
            {"name": "inner", "backend_dir": "b/inner",
             "junctions": [{"namespace_path": "/a/b/c"}]},
        ],
    }, tmp_path)
    ns = Namespace(cfg, cfg.faults)
    ns.ensure_dirs()
    put(tmp_path / "cache/a/x", "outer file")
    put(tmp_path / "cache/a/b/c/y", "inner file")
    a = ns.node_at("/a")
    assert a is not None
    assert ns.listing(a, b"\0" * 8, fresh=True)[0] == [".", "..", "b", "x"]
    b, _ = ns.lookup(a, b"b")  # not on the outer back end: exists because c is below it
    c, _ = ns.lookup(b, b"c")
    assert c.target is not None and c.target.name == "inner"
    assert ns.dirty_files("outer") == ["/a/x"]
    assert ns.dirty_files("inner") == ["/a/b/c/y"]


def test_handles(ns: Namespace, tmp_path: Path) -> None:
    backend(tmp_path, "f", "x")
    root = ns.node_at(JUNCTION)
    assert root is not None
    node, _ = ns.lookup(root, b"f")
    assert ns.lookup(root, b"f")[0].handle == node.handle
    assert ns.node_for_handle(node.handle) is node
    ns.invalidate_handle(f"{JUNCTION}/f")
    for bad, status in ((node.handle, S.NFS3ERR_STALE), (b"short", S.NFS3ERR_BADHANDLE),
                        (b"X" * 16, S.NFS3ERR_BADHANDLE)):
        with pytest.raises(NfsStatusError) as info:
            ns.node_for_handle(bad)
        assert info.value.status == status
    again, _ = ns.lookup(root, b"f")
    assert again.handle != node.handle
    ns.forget_handles()
    with pytest.raises(NfsStatusError):
        ns.node_for_handle(root.handle)


def test_target_ops(ns: Namespace, tmp_path: Path) -> None:
    cache(tmp_path, "d1", "new")
    cache(tmp_path, "d2", "new")
    cache(tmp_path, "clean", "same")
    backend(tmp_path, "clean", "same")
    put(tmp_path / "cache/blob/data/blobfile", "blob")
    assert ns.dirty_count() == 3 and ns.dirty_count("nas1") == 2
    ns.faults.failing_paths.append(f"{JUNCTION}/d2")
    with pytest.raises(RuntimeError, match="1 file.*d2"):
        asyncio.run(ns.flush_target("nas1"))
    assert ns.dirty_files("nas1") == [f"{JUNCTION}/d2"]
    assert (tmp_path / "backend/nas1/d1").read_text() == "new"
    asyncio.run(ns.invalidate_target("nas1"))
    assert not (tmp_path / "cache/NAS_12_exp5/clean").exists()
    assert not (tmp_path / "cache/NAS_12_exp5/d1").exists()  # clean after its write-back
    assert (tmp_path / "cache/NAS_12_exp5/d2").exists()  # dirty copies are kept
    ns.faults.failing_paths.clear()
    asyncio.run(ns.flush_all())
    assert ns.dirty_count() == 0
    assert (tmp_path / "backend/blob1/sub/blobfile").read_text() == "blob"
    ns.set_suspended("nas1", True)
    assert ns.suspended == {"nas1"}
    ns.set_suspended("nas1", False)
    with pytest.raises(ValueError, match="no storage target named 'x'"):
        ns.set_suspended("x", True)
