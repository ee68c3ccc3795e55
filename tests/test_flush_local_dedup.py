"""Client paths without ``--cache``: one file seen through the cache's root mount and through a
junction mount *of the same address* is one file, so the second input is a duplicate (as it is
with ``--cache``). Mounts from two different addresses are not known to be one cache without
Azure, so they are kept apart on purpose (see ``hpccache_cli.flush.resolve_local``).

The mount table is a fixture; files are flushed by the NFS emulator over TCP (loopback) and
checked on its back end, as in test_flush_local.py.
"""

from __future__ import annotations

from pathlib import Path

from flush_cache_support import A_JUNCTION, A_ROOT, report_of, run, world

from hpccache_cli.flush.resolve import Target
from hpccache_cli.flush.resolve_local import LocalPathResolver
from hpccache_cli.paths import MountTable


def same_address_table(base: Path) -> tuple[Path, Path, Path, Path]:
    """The root and the junction /NAS_12_exp5 both mounted from A_ROOT, and the junction once
    more from A_JUNCTION. Returns (table, root mount, junction mount, other-address mount)."""
    mnt = base.resolve() / "mnt"
    root, nas, other = mnt / "cache", mnt / "nas", mnt / "nas-other"
    table = base / "mountinfo"
    table.write_text(
        "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        f"40 1 0:40 / {root} rw - nfs {A_ROOT}:/ rw,vers=3,addr={A_ROOT}\n"
        f"41 1 0:41 / {nas} rw - nfs {A_ROOT}:/NAS_12_exp5 rw,vers=3,addr={A_ROOT}\n"
        f"42 1 0:42 / {other} rw - nfs {A_JUNCTION}:/NAS_12_exp5 rw,vers=3,addr={A_JUNCTION}\n"
    )
    return table, root, nas, other


def test_root_and_junction_mount_of_one_address_are_one_file(tmp_path: Path) -> None:
    table, root, nas, other = same_address_table(tmp_path)
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        ns = w.dirty("/NAS_12_exp5/dd/a", "/NAS_12_exp5/dd/b", "/blob/data/c")
        first, again = f"{root}/NAS_12_exp5/dd/a", f"{nas}/dd/a"
        b_root, b_other = f"{root}/NAS_12_exp5/dd/b", f"{other}/dd/b"
        proc = run(["flush", "--mountinfo", str(table), "--report", str(report), first, again,
                    b_root, b_other, f"{root}/blob/data/c"], w.env())
        assert proc.returncode == 0, proc.stderr
        w.assert_written_back(*ns)
        assert w.arm_calls() == 0
    lines = report_of(report)
    assert lines[first]["outcome"] == "flushed"
    assert (lines[again]["outcome"], lines[again]["kind"]) == ("skipped", "duplicate")
    # Another address: not proven to be the same cache without Azure, so not a duplicate:
    # both are flushed (the later of the two may find the file already clean).
    pair = sorted(lines[p]["outcome"] for p in (b_root, b_other))
    assert pair in (["flushed", "flushed"], ["clean", "flushed"]), pair


def test_a_tree_listed_through_both_mounts_is_flushed_once(tmp_path: Path) -> None:
    table, root, nas, _ = same_address_table(tmp_path)
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        ns = w.dirty("/NAS_12_exp5/tree/x", "/NAS_12_exp5/tree/sub/y")
        via_root, via_nas = f"{root}/NAS_12_exp5/tree", f"{nas}/tree"
        proc = run(["flush", "-r", "--mountinfo", str(table), "--report", str(report),
                    via_root, via_nas], w.env())
        assert proc.returncode == 0, proc.stderr
        w.assert_written_back(*ns)
    lines = report_of(report)
    flushed = [p for p, x in lines.items() if x["outcome"] == "flushed"]
    assert sorted(flushed) == [f"{via_root}/sub/y", f"{via_root}/x"]
    assert via_root not in lines  # a directory listed whole has no outcome of its own (#19)
    assert (lines[via_nas]["outcome"], lines[via_nas]["kind"]) == ("skipped", "duplicate")


def test_local_resolver_places_a_file_on_the_deepest_export_of_its_address() -> None:
    top = "/hpccache-test-not-here"
    table = MountTable.parse(
        b"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        b"40 1 0:40 / " + top.encode() + b"/r rw - nfs 127.0.0.63:/ rw\n"
        b"41 1 0:41 / " + top.encode() + b"/j rw - nfs 127.0.0.63:/NAS rw\n"
        b"42 1 0:42 / " + top.encode() + b"/s rw - nfs 127.0.0.63:/NAS/sub rw\n"
        b"43 1 0:43 / " + top.encode() + b"/o rw - nfs 127.0.0.64:/NAS rw\n")
    r = LocalPathResolver(table)
    a = ("127.0.0.63",)
    assert r.resolve(f"{top}/r/NAS/x".encode()) == Target(a, b"/NAS", b"x")
    assert r.resolve(f"{top}/j/x".encode()) == Target(a, b"/NAS", b"x")
    assert r.resolve(f"{top}/r/NAS".encode()) == Target(a, b"/NAS", b"")
    assert r.resolve(f"{top}/r/NAS/sub/y".encode()) == Target(a, b"/NAS/sub", b"y")
    assert r.resolve(f"{top}/j/sub/y".encode()) == Target(a, b"/NAS/sub", b"y")
    assert r.resolve(f"{top}/r/NASty/z".encode()) == Target(a, b"/", b"NASty/z")  # components
    assert r.resolve(f"{top}/r/other/z".encode()) == Target(a, b"/", b"other/z")
    assert r.resolve(f"{top}/o/x".encode()) == Target(("127.0.0.64",), b"/NAS", b"x")
