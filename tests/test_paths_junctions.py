"""Namespace path -> junction -> storage target -> back-end path; path kinds for the flush."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpccache_cli.layout import CacheLayout, JunctionInfo
from hpccache_cli.paths import (
    MountTable,
    PathError,
    PathKind,
    Translation,
    classify_path,
    enrich,
    matches_any,
    namespace_from_export,
    pick_layout,
    resolve_host,
    resolve_inputs,
    translate,
)
from hpccache_cli.paths.addresses import canonical_ip

FIXTURES = Path(__file__).parent / "fixtures" / "mountinfo"
DOCS_FILE = "/mnt/cache/NAS_12_exp5/result/output3.txt"


def layouts(name: str) -> list[CacheLayout]:
    data = json.loads((FIXTURES / name).read_text())
    return [CacheLayout.from_dict(d) for d in (data if isinstance(data, list) else [data])]


DOCS = layouts("docs.layout.json")[0]
CACHE_A, CACHE_B = layouts("two_caches.layout.json")
TWO = MountTable.load(FIXTURES / "two_caches.mountinfo")


@pytest.mark.parametrize("fixture", ["docs_junction.mountinfo", "docs_root.mountinfo"])
def test_public_docs_example_down_to_the_export(fixture: str) -> None:
    t = translate(DOCS_FILE, MountTable.load(FIXTURES / fixture), resolve=False)
    e = enrich(t, DOCS)
    assert e.error is None
    assert (e.cache, e.junction, e.storage_target) == ("hpccache-docs", "/NAS_12_exp5", "nas12")
    assert e.usage_model == "WRITE_WORKLOAD_15" and e.caches_writes is True
    assert e.backend_path == "/export5/result/output3.txt"


@pytest.mark.parametrize(
    ("path", "junction", "target", "backend"),
    [
        ("/mnt/cache/NAS_12_exp6/a/b", "/NAS_12_exp6", "nas12", "/export6/sub/a/b"),
        ("/scratch/exp6", "/NAS_12_exp6", "nas12", "/export6/sub"),
        ("/mnt/cache/proj/b/x", "/proj/b", "nasb", "/vol/b/x"),
        ("/mnt/cache/proj/bc/x", "/proj/bc", "nasbc", "/vol/bc/x"),
        ("/mnt/cache/proj/b", "/proj/b", "nasb", "/vol/b"),
    ],
)
def test_junction_is_longest_prefix_on_component_boundaries(
    path: str, junction: str, target: str, backend: str
) -> None:
    e = enrich(translate(path, TWO, resolve=False), CACHE_A)
    assert (e.junction, e.storage_target, e.backend_path) == (junction, target, backend)


def test_no_junction_is_an_error_naming_the_junctions() -> None:
    e = enrich(translate("/mnt/cache/proj/bcd/x", TWO, resolve=False), CACHE_A)
    assert e.junction is None and e.backend_path is None
    assert "under no junction of cache cache-a" in e.error and "/proj/bc" in e.error


def test_mount_of_another_cache_is_refused() -> None:
    t = translate("/mnt/cacheB/data/f", TWO, resolve=False)
    e = enrich(t, CACHE_A)
    assert e.error.startswith("mounted from 127.0.0.21, which is not a mount address of cache")
    assert enrich(t, CACHE_B).backend_path == "/export/data/f"
    assert enrich(t, CACHE_A, check_address=False).error is not None  # no /data junction in A


def test_blob_target_has_a_model_and_a_path() -> None:
    e = enrich(translate("/mnt/cache/other/p/q", TWO, resolve=False), CACHE_B)
    assert (e.storage_target, e.target_type, e.usage_model) == ("blob1", "clfs", "(blob)")
    assert e.backend_path == "/p/q"


def test_pick_layout_by_address() -> None:
    both = [CACHE_A, CACHE_B]
    assert pick_layout(translate("/mnt/cache/x", TWO, resolve=False), both) is CACHE_A
    assert pick_layout(translate("/mnt/cache/other/x", TWO, resolve=False), both) is CACHE_B
    assert pick_layout(translate("/home/u", TWO, resolve=False), both) is None


def test_host_name_mount_is_matched_by_resolving_it() -> None:
    table = MountTable.load(FIXTURES / "special.mountinfo")
    local = CacheLayout(
        "local",
        "rg",
        ("127.0.0.1",),
        (JunctionInfo("/NAS_byname", "t", nfs_export="/srv", usage_model="READ_WRITE"),),
    )
    t = translate("/mnt/byname/a", table, resolve=False)
    assert t.cache_address == "localhost"  # as written: translation alone resolves nothing
    assert enrich(t, local).backend_path == "/srv/a"


def test_resolve_host_literals_names_and_failures() -> None:
    assert resolve_host("127.0.0.11") == ("127.0.0.11",)
    assert resolve_host("0:0::1") == ("::1",)
    assert "127.0.0.1" in resolve_host("localhost")
    assert resolve_host("no-such-host.invalid") == ()
    assert canonical_ip("[::1]") == "::1" and canonical_ip("cache.example") is None
    m = TWO.find("/mnt/cache/x")
    assert matches_any(m, ["127.0.0.11"]) and not matches_any(m, ["127.0.0.12"])


def test_translation_makes_no_network_call(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("network call during translation")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    table = MountTable.load(FIXTURES / "special.mountinfo")
    for path in ("/mnt/byname/x", "/mnt/v6/x", "/mnt/with space/x"):
        assert translate(path, table).ok


@pytest.mark.parametrize(
    ("path", "namespace"),
    [
        ("/export5/result/output3.txt", "/NAS_12_exp5/result/output3.txt"),
        ("/export5", "/NAS_12_exp5"),
        ("/export6/sub/a", "/NAS_12_exp6/a"),
        ("/vol/bc/x", "/proj/bc/x"),
        ("/vol/b/x", "/proj/b/x"),
    ],
)
def test_namespace_from_export(path: str, namespace: str) -> None:
    layout = CACHE_A if not path.startswith("/export5") else DOCS
    assert namespace_from_export(path, layout) == namespace


def test_namespace_from_export_refuses_to_guess() -> None:
    with pytest.raises(PathError, match="under no NFS export"):
        namespace_from_export("/export6/other", CACHE_A)  # export6 is mounted at /sub only
    with pytest.raises(PathError, match="under no NFS export"):
        namespace_from_export("/vol/bcd", CACHE_A)
    twin = CacheLayout(
        "twin",
        "rg",
        ("127.0.0.11",),
        (
            JunctionInfo("/a", "nas1", nfs_export="/export"),
            JunctionInfo("/b", "nas2", nfs_export="/export"),
        ),
    )
    with pytest.raises(PathError, match=r"several storage targets \(nas1, nas2\)"):
        namespace_from_export("/export/x", twin)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (DOCS_FILE, PathKind.local),
        ("relative/file", PathKind.local),
        ("/NAS_12_exp5/result/output3.txt", PathKind.namespace),
        ("/proj/bc/x", PathKind.namespace),
        ("/export5/result/output3.txt", PathKind.export),
        ("/vol/b/x", PathKind.export),
    ],
)
def test_classify_path(path: str, kind: PathKind) -> None:
    assert classify_path(path, TWO, CACHE_A if not path.startswith("/export5") else DOCS) is kind


def test_classify_unknown_path_is_an_error_and_no_layout_means_namespace() -> None:
    with pytest.raises(PathError, match="--path-kind"):
        classify_path("/nowhere/x", TWO, CACHE_A)
    assert classify_path("/nowhere/x", TWO, None) is PathKind.namespace
    assert classify_path("/mnt/cache-local/x", TWO, None) is PathKind.namespace


def test_classify_follows_a_local_symlink_into_the_mount(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    (tmp_path / "link").symlink_to(mnt)
    table = MountTable.parse(
        b"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        + f"40 1 0:40 / {mnt} rw - nfs 127.0.0.11:/ rw,addr=127.0.0.11\n".encode()
    )
    assert classify_path(str(tmp_path / "link"), table, DOCS) is PathKind.local


def test_resolve_inputs_mixes_kinds_in_input_order() -> None:
    paths = [
        "/mnt/cache/NAS_12_exp5/a",
        "/NAS_12_exp6/b",
        "/export6/sub/c",
        "/nowhere",
        "/mnt/cache-local/x",
    ]
    out = resolve_inputs(paths, TWO, CACHE_A, resolve=False)
    assert [t.input for t in out] == paths
    assert [t.kind for t in out] == ["local", "namespace", "export", "unknown", "unknown"]
    assert [t.namespace_path for t in out[:3]] == [
        "/NAS_12_exp5/a",
        "/NAS_12_exp6/b",
        "/NAS_12_exp6/c",
    ]
    assert out[0].cache_address == "127.0.0.12" and out[1].cache_address is None
    assert "--path-kind" in out[3].error
    assert out[4].namespace_path is None and "not under an NFS mount" in out[4].error


def test_resolve_inputs_forced_kind() -> None:
    out = resolve_inputs(["/mnt/cache/x", "rel", "/NAS_12_exp5/y"], TWO, DOCS, kind="namespace")
    assert out[0].namespace_path == "/mnt/cache/x" and out[0].kind == "namespace"
    assert "must be absolute" in out[1].error
    local = resolve_inputs(["/NAS_12_exp5/y"], TWO, DOCS, kind=PathKind.local, resolve=False)
    assert "ext4 mount at /" in local[0].error
    bad = resolve_inputs(["/x"], TWO, DOCS, kind="remote")
    assert "unknown path kind 'remote'" in bad[0].error
    no_layout = resolve_inputs(["/export5/x"], TWO, None, kind="export")
    assert "needs the cache layout" in no_layout[0].error


_SEG = st.sampled_from(["a", "b", "bc", "NAS_12_exp5", "x y", "é"])
_NS = st.lists(_SEG, max_size=4).map(lambda parts: "/" + "/".join(parts))
_JUNCTION = st.builds(
    JunctionInfo,
    namespace_path=_NS,
    storage_target=st.sampled_from(["t1", "t2"]),
    nfs_export=st.one_of(st.none(), st.just("/"), _NS, _NS.map(lambda p: p + "/")),
    target_path=st.one_of(st.just("/"), _NS, st.just("")),
)


@settings(max_examples=400, deadline=None)
@given(junctions=st.lists(_JUNCTION, max_size=6), ns=_NS)
def test_enrich_agrees_with_layout_junction_for_and_backend_path(
    junctions: list[JunctionInfo], ns: str
) -> None:
    """enrich() uses an index for speed; it must give CacheLayout's own answers."""
    layout = CacheLayout("c", "rg", ("127.0.0.11",), tuple(junctions))
    e = enrich(Translation(ns, namespace_path=ns), layout)
    expected = layout.junction_for(ns)
    if expected is None:
        assert e.junction is None and "under no junction" in e.error
    else:
        assert e.junction == expected.namespace_path
        assert e.storage_target == expected.storage_target
        assert e.backend_path == expected.backend_path(ns)


def test_nfs_mount_of_another_server_does_not_make_a_path_local() -> None:
    nfs_root = MountTable.parse(
        b"1 0 0:30 / / rw - nfs 127.0.0.99:/diskless rw,addr=127.0.0.99\n"
        b"40 1 0:40 / /mnt/cache rw - nfs 127.0.0.11:/ rw,addr=127.0.0.11\n"
    )
    ns = "/NAS_12_exp5/result/output3.txt"
    assert classify_path(ns, nfs_root, DOCS) is PathKind.namespace
    assert classify_path("/mnt/cache/NAS_12_exp5/x", nfs_root, DOCS) is PathKind.local
    assert classify_path(ns, nfs_root, None) is PathKind.local  # no layout: any NFS mount
    with pytest.raises(PathError, match="not under an NFS mount of cache cache-a"):
        classify_path("/home/u/x", TWO, CACHE_A)
