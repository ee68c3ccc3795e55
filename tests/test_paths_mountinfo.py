"""Parsing the mount table: fields, escapes, NFS sources, which mount is visible, loading."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hpccache_cli.errors import EXIT_USAGE
from hpccache_cli.paths import ENV_MOUNTINFO, MountTable, MountTableError
from hpccache_cli.paths.mountinfo import parse_line, split_nfs_source, unescape

FIXTURES = Path(__file__).parent / "fixtures" / "mountinfo"


def load(name: str) -> MountTable:
    return MountTable.load(FIXTURES / name)


def test_parse_line_reads_every_field_and_nfs_source() -> None:
    line = (
        b"100 22 0:50 / /mnt/cache/NAS_12_exp5 rw,relatime shared:60 master:2 - nfs "
        b"127.0.0.11:/NAS_12_exp5 rw,vers=3,proto=tcp,addr=127.0.0.11\n"
    )
    m = parse_line(line)
    assert m is not None
    assert (m.mount_id, m.parent_id, m.root) == (100, 22, "/")
    assert m.mount_point == "/mnt/cache/NAS_12_exp5"
    assert (m.fstype, m.source, m.host) == ("nfs", "127.0.0.11:/NAS_12_exp5", "127.0.0.11")
    assert (m.export_path, m.namespace_root) == ("/NAS_12_exp5", "/NAS_12_exp5")
    assert m.options["vers"] == "3" and m.addr == "127.0.0.11"
    assert m.is_nfs and m.is_cache_candidate


def test_parse_line_rejects_other_formats() -> None:
    assert parse_line(b"/dev/sda1 / ext4 rw,relatime 0 0") is None
    assert parse_line(b"garbage") is None
    assert parse_line(b"1 0 8:1 / relative rw - ext4 /dev/sda1 rw") is None


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("127.0.0.11:/", ("127.0.0.11", "/")),
        ("127.0.0.11:/NAS_12_exp5/", ("127.0.0.11", "/NAS_12_exp5")),
        ("[::1]:/NAS_v6", ("::1", "/NAS_v6")),
        ("localhost:/a//b/./c", ("localhost", "/a/b/c")),
        ("some-device", None),
        ("[::1]/x", None),
        ("host:relative", None),
        (":/x", None),
    ],
)
def test_split_nfs_source(source: str, expected: tuple[str, str] | None) -> None:
    assert split_nfs_source(source) == expected


def test_unescape_octal_and_non_utf8_bytes_round_trip() -> None:
    assert unescape(rb"/mnt/with\040space\011tab\012nl\134bs") == "/mnt/with space\ttab\nnl\\bs"
    raw = b"/mnt/caf\xe9\\040x"
    decoded = unescape(raw)
    assert os.fsencode(decoded) == b"/mnt/caf\xe9 x"  # surrogateescape: bytes come back


def test_special_fixture_decodes_escapes_ipv6_and_names() -> None:
    table = load("special.mountinfo")
    by_point = {m.mount_point: m for m in table.mounts}
    spaced = by_point["/mnt/with space"]
    assert spaced.export_path == "/NAS with space"
    assert by_point["/mnt/tab\tand\\slash"].namespace_root == "/NAS_12_exp5"
    assert by_point["/mnt/v6"].host == "::1"
    assert by_point["/mnt/v6long"].host == "0:0:0:0:0:0:0:1"
    assert by_point["/mnt/byname"].host == "localhost"
    assert by_point["/mnt/byname"].addr is None
    assert by_point["/mnt/trailing"].export_path == "/NAS_12_exp5"
    # root field of a bind mount joins the export path
    assert by_point["/srv/results"].namespace_root == "/NAS_12_exp5/result"
    assert by_point["/srv/kernel-bind"].namespace_root == "/NAS_12_exp5/result"
    # NFS, but no HOST:/PATH source: not a cache candidate
    assert by_point["/mnt/nocolon"].is_nfs and not by_point["/mnt/nocolon"].is_cache_candidate


def test_non_nfs_mount_with_host_path_source_is_not_a_cache() -> None:
    table = load("two_caches.mountinfo")
    sshfs = table.find("/mnt/cachefs/x")
    assert sshfs is not None and sshfs.fstype == "fuse.sshfs"
    assert not sshfs.is_cache_candidate


def test_find_is_longest_mount_point_on_component_boundaries() -> None:
    table = load("two_caches.mountinfo")
    assert table.find("/mnt/cache/NAS_12_exp5/a").mount_id == 41
    assert table.find("/mnt/cache/NAS_12_exp5").mount_id == 41
    assert table.find("/mnt/cache/NAS_12_exp55/a").mount_id == 40
    assert table.find("/mnt/cacheB/x").mount_id == 50
    assert table.find("/mnt/cache-local/x").mount_id == 60
    assert table.find("/mnt/cache/NAS_12_exp5/tmp/x").mount_id == 61
    assert table.find("/mnt").mount_id == 1
    assert table.find("/").mount_id == 1


def test_stacked_mount_on_top_wins_and_hidden_mount_is_dropped() -> None:
    table = load("shadowed.mountinfo")
    assert table.find("/mnt/auto/x").fstype == "nfs"  # NFS stacked on the autofs trigger
    assert table.find("/net/host/x").fstype == "autofs"
    assert table.find("/old/cache/sub/x").fstype == "tmpfs"  # /old mounted over it later
    assert [m.mount_point for m in table.nfs_mounts()] == ["/mnt/auto"]


def test_children_listed_before_root_are_still_visible() -> None:
    # Linux may list "/" after its children (as two_caches.mountinfo does).
    table = load("two_caches.mountinfo")
    points = [m.mount_point for m in table.nfs_mounts()]
    assert points == [
        "/home",
        "/mnt/cache",
        "/mnt/cacheB",
        "/scratch/exp6",
        "/mnt/cache/other",
        "/mnt/cache/NAS_12_exp5",
    ]


def test_load_uses_env_var_then_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_MOUNTINFO, str(FIXTURES / "docs_root.mountinfo"))
    assert MountTable.load().find("/mnt/cache/x").source == "127.0.0.11:/"
    table = MountTable.load(FIXTURES / "docs_junction.mountinfo")
    assert table.find("/mnt/cache/NAS_12_exp5/x").source == "127.0.0.11:/NAS_12_exp5"


def test_load_errors_are_usage_errors_with_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(MountTableError, match="cannot read mount table .*nope") as exc:
        MountTable.load(tmp_path / "nope")
    assert exc.value.exit_code == EXIT_USAGE
    with pytest.raises(MountTableError, match=r"copy /proc/self/mountinfo"):
        MountTable.load(FIXTURES / "proc_mounts_format.txt")


def test_malformed_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    data = (FIXTURES / "docs_root.mountinfo").read_bytes() + b"this is not a mount\n\n"
    table = MountTable.parse(data, "copy")
    assert table.skipped == 1
    assert table.find("/mnt/cache/a").is_cache_candidate


def test_this_machines_mount_table_parses() -> None:
    table = MountTable.load("/proc/self/mountinfo")
    assert table.skipped == 0
    assert table.find(os.getcwd()) is not None
