"""Client path -> (cache address, namespace path) and back, from fixture mount tables."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpccache_cli.paths import (
    MountTable,
    group_by_address,
    local_matches,
    to_local,
    translate,
    translate_many,
)

FIXTURES = Path(__file__).parent / "fixtures" / "mountinfo"
DOCS_FILE = "/mnt/cache/NAS_12_exp5/result/output3.txt"
DOCS_NS = "/NAS_12_exp5/result/output3.txt"


def load(name: str) -> MountTable:
    return MountTable.load(FIXTURES / name)


@pytest.mark.parametrize("fixture", ["docs_junction.mountinfo", "docs_root.mountinfo"])
def test_public_docs_example_client_to_namespace(fixture: str) -> None:
    t = translate(DOCS_FILE, load(fixture), resolve=False)
    assert t.ok, t.error
    assert t.cache_address == "127.0.0.11"
    assert t.namespace_path == DOCS_NS
    assert t.client_path == DOCS_FILE
    expected_point = "/mnt/cache/NAS_12_exp5" if "junction" in fixture else "/mnt/cache"
    assert t.mount_point == expected_point
    assert to_local(DOCS_NS, load(fixture)) == [DOCS_FILE]


@pytest.mark.parametrize(
    ("path", "point", "address", "namespace"),
    [
        (DOCS_FILE, "/mnt/cache/NAS_12_exp5", "127.0.0.12", DOCS_NS),
        ("/mnt/cache/NAS_12_exp6/a", "/mnt/cache", "127.0.0.11", "/NAS_12_exp6/a"),
        ("/mnt/cache/NAS_12_exp55/a", "/mnt/cache", "127.0.0.11", "/NAS_12_exp55/a"),
        ("/scratch/exp6/x/y", "/scratch/exp6", "127.0.0.13", "/NAS_12_exp6/x/y"),
        ("/mnt/cacheB/data/f", "/mnt/cacheB", "127.0.0.21", "/data/f"),
        ("/mnt/cache/other/p/q", "/mnt/cache/other", "127.0.0.22", "/projects/p/q"),
        ("/mnt/cache", "/mnt/cache", "127.0.0.11", "/"),
        ("/mnt/cache/", "/mnt/cache", "127.0.0.11", "/"),
        ("/mnt/cache/NAS_12_exp5/", "/mnt/cache/NAS_12_exp5", "127.0.0.12", "/NAS_12_exp5"),
        ("//mnt//cache/./NAS_12_exp5/result/../result/output3.txt/", None, None, DOCS_NS),
        ("/mnt/cache/NAS_12_exp5/../NAS_12_exp5/x", None, "127.0.0.12", "/NAS_12_exp5/x"),
        ("/mnt/cache/NAS_12_exp5/..", "/mnt/cache", "127.0.0.11", "/"),
    ],
)
def test_two_caches_root_junction_and_nested_mounts(
    path: str, point: str | None, address: str | None, namespace: str
) -> None:
    t = translate(path, load("two_caches.mountinfo"), resolve=False)
    assert t.ok, t.error
    assert t.namespace_path == namespace
    if point is not None:
        assert t.mount_point == point
    if address is not None:
        assert t.cache_address == address
    assert t.exists_locally is None  # resolve=False looks at no file


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/mnt/cache-local/x", "ext4 mount at /mnt/cache-local"),
        ("/mnt/cache/NAS_12_exp5/tmp/x", "tmpfs mount at /mnt/cache/NAS_12_exp5/tmp"),
        ("/mnt/cachefs/x", "fuse.sshfs mount at /mnt/cachefs"),
        ("/tmp/elsewhere", "ext4 mount at /"),
        ("", "empty path"),
    ],
)
def test_paths_outside_any_cache_mount_get_a_reason(path: str, reason: str) -> None:
    t = translate(path, load("two_caches.mountinfo"), resolve=False)
    assert not t.ok
    assert reason in t.error
    assert t.namespace_path is None and t.cache_address is None


def test_table_without_root_mount_says_not_under_any_mount() -> None:
    table = MountTable.parse(b"40 1 0:40 / /mnt/cache rw - nfs 127.0.0.11:/ rw\n")
    t = translate("/tmp/x", table, resolve=False)
    assert t.error == "not under any mount in the mount table"


@pytest.mark.parametrize(
    ("path", "address", "namespace"),
    [
        ("/mnt/with space/a b/c", "127.0.0.11", "/NAS with space/a b/c"),
        ("/mnt/v6/x", "::1", "/NAS_v6/x"),
        ("/mnt/v6long/x", "::1", "/NAS_v6/x"),
        ("/mnt/byname/x", "localhost", "/NAS_byname/x"),
        ("/mnt/byname-addr/x", "127.0.0.1", "/NAS_byname/x"),
        ("/srv/results/output3.txt", "127.0.0.11", DOCS_NS),
        ("/srv/kernel-bind/output3.txt", "127.0.0.11", DOCS_NS),
        ("/mnt/tab\tand\\slash/result/output3.txt", "127.0.0.11", DOCS_NS),
        ("/mnt/trailing/result/output3.txt", "127.0.0.11", DOCS_NS),
    ],
)
def test_escapes_ipv6_host_names_and_bind_mounts(path: str, address: str, namespace: str) -> None:
    t = translate(path, load("special.mountinfo"), resolve=False)
    assert t.ok, t.error
    assert (t.cache_address, t.namespace_path) == (address, namespace)


def test_nfs_mount_without_host_path_source_is_reported() -> None:
    t = translate("/mnt/nocolon/x", load("special.mountinfo"), resolve=False)
    assert "not HOST:/PATH" in t.error


def test_autofs_hint_and_hidden_mount() -> None:
    table = load("shadowed.mountinfo")
    assert "access it once and retry" in translate("/net/h/x", table, resolve=False).error
    assert translate("/mnt/auto/x", table, resolve=False).namespace_path == "/NAS_12_exp5/x"
    assert "tmpfs" in translate("/old/cache/sub/x", table, resolve=False).error
    assert to_local("/NAS_12_exp5/x", table) == ["/mnt/auto/x"]


def test_relative_input_uses_cwd() -> None:
    table = load("two_caches.mountinfo")
    t = translate("./result/../result/output3.txt", table, cwd="/mnt/cache/NAS_12_exp5")
    assert t.namespace_path == DOCS_NS
    assert t.client_path == DOCS_FILE
    assert t.input == "./result/../result/output3.txt"


def test_missing_file_is_translated_lexically_and_says_so() -> None:
    t = translate(DOCS_FILE, load("docs_root.mountinfo"))
    assert t.ok and t.exists_locally is False
    assert "does not exist" in t.note
    assert t.namespace_path == DOCS_NS


def test_non_utf8_names_round_trip_as_bytes() -> None:
    raw = b"/mnt/cache/NAS_12_exp5/caf\xe9/\xff\xfe.dat"
    path = os.fsdecode(raw)
    t = translate(path, load("two_caches.mountinfo"), resolve=False)
    assert os.fsencode(t.namespace_path) == b"/NAS_12_exp5/caf\xe9/\xff\xfe.dat"
    assert path in to_local(t.namespace_path, load("two_caches.mountinfo"))


def test_mount_point_with_non_utf8_bytes() -> None:
    line = b"90 1 0:90 / /mnt/c\xe9che rw - nfs 127.0.0.11:/NAS_\xe9 rw,addr=127.0.0.11\n"
    table = MountTable.parse(b"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n" + line)
    t = translate(os.fsdecode(b"/mnt/c\xe9che/x"), table, resolve=False)
    assert os.fsencode(t.namespace_path) == b"/NAS_\xe9/x"


def test_to_local_lists_every_mount_and_skips_hidden_paths() -> None:
    table = load("two_caches.mountinfo")
    cache_a = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
    assert to_local(DOCS_NS, table, cache_a) == [DOCS_FILE]  # root + junction mount: one path
    # Without addresses every root mount counts, cache B's too: the caller sees which
    assert to_local(DOCS_NS, table) == ["/mnt/cacheB" + DOCS_NS, DOCS_FILE]
    assert to_local("/NAS_12_exp6/a", table, cache_a) == [
        "/mnt/cache/NAS_12_exp6/a",
        "/scratch/exp6/a",
    ]
    cache_b = ["127.0.0.21", "127.0.0.22"]
    assert to_local("/projects/p", table, cache_b) == [
        "/mnt/cacheB/projects/p",
        "/mnt/cache/other/p",
    ]
    # cache A's root mount would show /other under /mnt/cache/other, but cache B hides it
    assert to_local("/other/x", table, cache_addresses=["127.0.0.11"]) == []
    assert to_local("/NAS_12_exp5/tmp/x", table, cache_a) == []  # under the tmpfs
    assert to_local("/projects/p", table, cache_addresses=["127.0.0.22"]) == ["/mnt/cache/other/p"]
    assert to_local("/", table, cache_addresses=["127.0.0.21"]) == ["/mnt/cacheB"]
    matches = local_matches("/NAS_12_exp6", table, cache_a)
    assert [(p, m.mount_id) for p, m in matches] == [
        ("/mnt/cache/NAS_12_exp6", 40),
        ("/scratch/exp6", 42),
    ]


def test_to_local_matches_host_name_mounts_by_resolving_them() -> None:
    table = load("special.mountinfo")
    assert to_local("/NAS_byname/x", table, cache_addresses=["127.0.0.1"]) == [
        "/mnt/byname/x",  # no addr=: localhost resolved (loopback)
        "/mnt/byname-addr/x",  # addr=127.0.0.1 in the options: no lookup
    ]
    assert to_local("/NAS_v6/x", table, cache_addresses=["0::1"]) == ["/mnt/v6/x", "/mnt/v6long/x"]


def test_group_by_address_keeps_order_and_drops_failures() -> None:
    table = load("two_caches.mountinfo")
    paths = [DOCS_FILE, "/mnt/cache/x", "/tmp/no", "/mnt/cache/NAS_12_exp5/b", "/mnt/cache/y"]
    groups = group_by_address(translate_many(paths, table, resolve=False))
    assert {k: [t.input for t in v] for k, v in groups.items()} == {
        "127.0.0.12": [DOCS_FILE, "/mnt/cache/NAS_12_exp5/b"],
        "127.0.0.11": ["/mnt/cache/x", "/mnt/cache/y"],
    }


_NAME = st.one_of(
    st.text(st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)), min_size=1),
    st.binary(min_size=1).map(lambda b: os.fsdecode(b.replace(b"/", b"_").replace(b"\0", b"_"))),
).filter(lambda n: n not in (".", ".."))
_TWO_CACHES = MountTable.load(FIXTURES / "two_caches.mountinfo")
_CACHE_POINTS = [m.mount_point for m in _TWO_CACHES.nfs_mounts()]


@settings(max_examples=300, deadline=None)
@given(point=st.sampled_from(_CACHE_POINTS), names=st.lists(_NAME, max_size=5))
def test_round_trip_to_local_of_namespace_contains_the_path(point: str, names: list[str]) -> None:
    path = point + "".join("/" + n for n in names)
    t = translate(path, _TWO_CACHES, resolve=False)
    if not t.ok:  # landed in a nested non-cache mount (e.g. .../NAS_12_exp5/tmp)
        assert _TWO_CACHES.find(path).mount_point != point
        return
    assert path in to_local(t.namespace_path, _TWO_CACHES)
    assert path in to_local(t.namespace_path, _TWO_CACHES, cache_addresses=[t.cache_address])
    mount = _TWO_CACHES.find(path)
    assert t.namespace_path.startswith(mount.namespace_root)


# --- symlinks: a real directory tree with a generated mount table ---------------------------


def _escape(path: str) -> str:
    raw = os.fsencode(path)
    for ch in (b"\\", b" ", b"\t", b"\n"):
        raw = raw.replace(ch, b"\\%03o" % ch[0])
    return os.fsdecode(raw)


@pytest.fixture()
def tree(tmp_path: Path) -> tuple[Path, MountTable]:
    root = (tmp_path / "client root").resolve()  # a space, escaped in the table
    text = (FIXTURES / "symlinks.mountinfo.in").read_text().replace("@ROOT@", _escape(str(root)))
    cache = root / "mnt/cache/NAS_12_exp5"
    (cache / "result/sub").mkdir(parents=True)
    (cache / "result/output3.txt").write_text("x")
    (root / "mnt/cacheB/data").mkdir(parents=True)
    (root / "mnt/cacheB/data/f.txt").write_text("y")
    (root / "outside").mkdir()
    (root / "outside/file.txt").write_text("z")
    (cache / "link_out").symlink_to(root / "outside/file.txt")
    (cache / "link_b").symlink_to(root / "mnt/cacheB/data/f.txt")
    (cache / "linkdir").symlink_to("result")
    (cache / "deep").symlink_to("result/sub")
    (cache / "dangling").symlink_to("result/not-there")
    (root / "shortcut").symlink_to(cache)
    table_file = tmp_path / "mountinfo"
    table_file.write_text(text)
    return root, MountTable.load(table_file)


def test_symlink_inside_mount_pointing_outside_any_mount(tree: tuple[Path, MountTable]) -> None:
    root, table = tree
    t = translate(str(root / "mnt/cache/NAS_12_exp5/link_out"), table)
    assert not t.ok
    assert "resolves to" in t.error and str(root / "outside/file.txt") in t.error


def test_symlink_into_another_cache_mount(tree: tuple[Path, MountTable]) -> None:
    root, table = tree
    t = translate(str(root / "mnt/cache/NAS_12_exp5/link_b"), table)
    assert (t.cache_address, t.namespace_path) == ("127.0.0.21", "/data/f.txt")
    assert t.exists_locally is True and t.note is None


def test_symlinked_directories_and_dotdot_follow_the_links(tree: tuple[Path, MountTable]) -> None:
    root, table = tree
    cache = root / "mnt/cache/NAS_12_exp5"
    assert translate(str(cache / "linkdir/output3.txt"), table).namespace_path == DOCS_NS
    # deep -> result/sub, so deep/.. is result (lexically it would be NAS_12_exp5)
    assert translate(str(cache / "deep/../output3.txt"), table).namespace_path == DOCS_NS
    assert translate(str(root / "shortcut/result/output3.txt"), table).namespace_path == DOCS_NS
    relative = translate("linkdir/./output3.txt", table, cwd=str(cache))
    assert relative.namespace_path == DOCS_NS and relative.exists_locally is True
    assert relative.client_path == str(cache / "result/output3.txt")


def test_dangling_link_and_missing_file(tree: tuple[Path, MountTable]) -> None:
    root, table = tree
    cache = root / "mnt/cache/NAS_12_exp5"
    dangling = translate(str(cache / "dangling"), table)
    assert dangling.namespace_path == "/NAS_12_exp5/result/not-there"
    assert dangling.exists_locally is False
    new = translate(str(cache / "linkdir/new.txt"), table)  # directory link still followed
    assert new.namespace_path == "/NAS_12_exp5/result/new.txt" and new.exists_locally is False


def test_lexical_mode_does_not_follow_links(tree: tuple[Path, MountTable]) -> None:
    root, table = tree
    t = translate(str(root / "mnt/cache/NAS_12_exp5/link_out"), table, resolve=False)
    assert t.namespace_path == "/NAS_12_exp5/link_out"


def test_round_trip_on_real_files(tree: tuple[Path, MountTable]) -> None:
    root, table = tree
    path = str(root / "mnt/cache/NAS_12_exp5/result/output3.txt")
    t = translate(path, table)
    assert t.exists_locally is True
    assert path in to_local(t.namespace_path, table)
