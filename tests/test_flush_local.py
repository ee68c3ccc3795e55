"""``hpccache flush`` with client paths: each file's mount gives the cache address and namespace.

The client's mount table is a fixture (HPCCACHE_MOUNTINFO / --mountinfo): the cache's root
``/`` mounted from 127.0.0.61 and its junction ``/NAS_12_exp5`` mounted from 127.0.0.62, both
served by the NFS emulator over TCP. The mount points do not exist here, so paths are
translated as written; the files are flushed through the emulator and checked on its back end.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flush_cache_support import (
    A_JUNCTION,
    A_ROOT,
    BY_NAME,
    CACHE,
    JUNCTIONS,
    mountinfo,
    one_error_line,
    report_of,
    run,
    world,
)

from hpccache_cli.cli.flush.fallback import LocalSites
from hpccache_cli.cli.flush.local_hint import NAMESPACE_HINT
from hpccache_cli.cli.flush.values import Site
from hpccache_cli.flush.resolve import Target
from hpccache_cli.flush.resolve_local import LocalPathResolver
from hpccache_cli.flush.results import FileResult
from hpccache_cli.paths import MountTable


def test_client_paths_across_mounts_and_junctions_without_azure(tmp_path: Path) -> None:
    table, root, nas = mountinfo(tmp_path)
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        ns = w.dirty("/NAS_12_exp5/l/a", "/NAS_12_exp5/l/b", "/blob/data/c",
                     b"/NAS_12_exp5/l/\xff odd")
        paths = [f"{root}/NAS_12_exp5/l/a",  # root mount, 127.0.0.61, LOOKUP from "/"
                 f"{nas}/l/b",  # junction mount, 127.0.0.62, MOUNT of the junction
                 f"{root}/blob/data/c",  # another junction, through the root mount
                 f"{nas}/l/../l/./b",  # the same file again
                 "/not/on/nfs/f"]
        odd = str(nas).encode() + b"/l/\xff odd"
        proc = run(["flush", "-o", "json", "--report", str(report), *paths, odd],
                   w.env(HPCCACHE_MOUNTINFO=str(table)))
        assert proc.returncode == 1, proc.stderr
        data = json.loads(proc.stdout)
        assert (data["flushed"], data["skipped"], data["failed"]) == (4, 1, 1)
        w.assert_written_back(*ns)
        assert w.arm_calls() == 0  # client paths never touch Azure
    lines = report_of(report)
    reason = lines["/not/on/nfs/f"]["reason"]
    # /not is not on this machine either: read as a namespace path, it gets the hint
    assert reason == ("not under an NFS mount of a cache: it is on the ext4 mount at /"
                      + NAMESPACE_HINT)
    assert lines[f"{nas}/l/../l/./b"]["reason"] == "duplicate of an earlier input"


def test_each_file_goes_to_the_address_its_mount_came_from(tmp_path: Path) -> None:
    """With the junction mount's address down, files seen through it fail as unreachable
    while files seen through the root mount (the other address) are flushed."""
    table, root, nas = mountinfo(tmp_path)
    report = tmp_path / "report.jsonl"
    with world(tmp_path, faults={"down_addresses": [A_JUNCTION]}) as w:
        ns = w.dirty("/NAS_12_exp5/t/a", "/NAS_12_exp5/t/b")
        via_root, via_nas = f"{root}/NAS_12_exp5/t/a", f"{nas}/t/b"
        proc = run(["flush", "--mountinfo", str(table), "--report", str(report), via_root,
                    via_nas], w.env())
        assert proc.returncode == 1, proc.stderr
        w.assert_written_back(ns[0])
    lines = report_of(report)
    assert lines[via_root]["outcome"] == "flushed"
    assert lines[via_nas]["kind"] == "unreachable" and A_JUNCTION in lines[via_nas]["reason"]


def test_client_and_namespace_paths_mixed_with_cache(tmp_path: Path) -> None:
    table, root, nas = mountinfo(tmp_path)
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        ns = w.dirty("/NAS_12_exp5/m/a", "/NAS_12_exp5/m/b", "/NAS_12_exp5/m/c", "/ro/m/d")
        args = ["flush", *BY_NAME, "--mountinfo", str(table), "--report", str(report),
                f"{root}/NAS_12_exp5/m/a", f"{nas}/m/b", "/NAS_12_exp5/m/c", f"{root}/ro/m/d"]
        proc = run(args, w.env())
        assert proc.returncode == 0, proc.stderr
        w.assert_written_back(*ns[:3])
    lines = report_of(report)
    assert [lines[p]["outcome"] for p in args[-4:]] == ["flushed"] * 3 + ["skipped"]


def test_path_kind_forces_how_paths_are_read(tmp_path: Path) -> None:
    table, _, nas = mountinfo(tmp_path)
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        ns = w.dirty("/NAS_12_exp5/k/a")
        env = w.env(HPCCACHE_MOUNTINFO=str(table))
        common = ["flush", *BY_NAME, "--report", str(report)]
        as_ns = run([*common, "--path-kind", "namespace", f"{nas}/k/a"], env)
        assert as_ns.returncode == 1
        assert f"under no junction of cache {CACHE} (junctions: {JUNCTIONS})" in report_of(
            report)[f"{nas}/k/a"]["reason"]
        as_local = run([*common, "--path-kind", "local", "/NAS_12_exp5/k/a"], env)
        assert as_local.returncode == 1
        assert report_of(report)["/NAS_12_exp5/k/a"]["reason"].startswith(
            "not under an NFS mount of a cache")
        as_export = run(["flush", "--ip", A_JUNCTION, "--export", "/NAS_12_exp5",
                         "--path-kind", "export", "k/a"], env)
        assert as_export.returncode == 0, as_export.stderr
        w.assert_written_back(*ns)


def test_fallback_without_cache_finds_the_cache_by_address(tmp_path: Path) -> None:
    """No --cache: the mount addresses are unreachable from here, so --fallback asks Azure
    which cache has the failed files' mount address, and flushes their storage targets."""
    table, root, nas = mountinfo(tmp_path)
    with world(tmp_path, faults={"down_addresses": [A_ROOT, A_JUNCTION]}) as w:
        ns = w.dirty("/NAS_12_exp5/d/a", "/blob/data/d")
        proc = run(["flush", "--fallback", "target-flush", "-o", "json",
                    f"{nas}/d/a", f"{root}/blob/data/d"], w.env(HPCCACHE_MOUNTINFO=str(table)))
        assert proc.returncode == 0, proc.stderr
        targets = json.loads(proc.stdout)["fallback"]["targets"]
        assert sorted((t["cache"], t["target"], t["status"]) for t in targets) == [
            (CACHE, "blob1", "succeeded"), (CACHE, "nas1", "succeeded")]
        w.assert_written_back(*ns)
        # The same with flush_file.py-style naming: the cache is found by the --ip address.
        more = w.dirty("/NAS_12_exp5/d/more")
        proc = run(["flush", "--fallback", "target-flush", "--ip", A_JUNCTION, "--export",
                    "/NAS_12_exp5", "d/more"], w.env())
        assert proc.returncode == 0, proc.stderr
        assert "fallback: flushed storage target nas1 of cache emu-test" in proc.stdout.decode()
        w.assert_written_back(*more)


def test_client_path_errors(tmp_path: Path) -> None:
    table, root, _ = mountinfo(tmp_path)
    with world(tmp_path) as w:
        env = w.env()
        missing = run(["flush", "--mountinfo", str(tmp_path / "nope"), f"{root}/x"], env)
        assert missing.returncode == 2
        assert "cannot read mount table" in one_error_line(missing)
        ns_kind = run(["flush", "--mountinfo", str(table), "--path-kind", "namespace", "/x"], env)
        assert ns_kind.returncode == 2
        assert "add --cache NAME -g RG" in one_error_line(ns_kind)


def test_local_resolver_mounts_what_the_client_mounted() -> None:
    """Root mounts LOOKUP from ``/``; a bind mount of a junction's subdirectory keeps that
    subdirectory in the path; a host-name source is flushed by name (no lookup here)."""
    top = "/hpccache-test-not-here"
    table = MountTable.parse(
        b"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        b"40 1 0:40 / " + top.encode() + b"/r rw - nfs 127.0.0.63:/ rw,addr=127.0.0.63\n"
        b"41 1 0:41 /sub " + top.encode() + b"/b rw - nfs 127.0.0.64:/NAS_12_exp5 rw\n"
        b"42 1 0:42 / " + top.encode() + b"/h rw - nfs cachehost:/ro rw\n")
    r = LocalPathResolver(table)
    assert r.resolve(f"{top}/r/x/y".encode()) == Target(("127.0.0.63",), b"/", b"x/y")
    assert r.resolve(f"{top}/b/f".encode()) == Target(("127.0.0.64",), b"/NAS_12_exp5",
                                                      b"sub/f")
    assert r.resolve(f"{top}/h/g".encode()) == Target(("cachehost",), b"/ro", b"g")
    assert r.resolve(f"{top}/r/caf\xe9".encode("utf-8", "surrogateescape")) == Target(
        ("127.0.0.63",), b"/", "caf\xe9".encode("utf-8", "surrogateescape"))
    assert r.resolve(os.fsencode(f"{top}/r/caf\udce9")).rel == b"caf\xe9"
    assert LocalSites(r).site(f"{top}/b/f".encode()) == Site(address="127.0.0.64",
                                                 directory="/NAS_12_exp5/sub")
    failed = r.resolve(b"/etc/x")
    assert isinstance(failed, FileResult) and failed.kind == "path"
