"""``hpccache flush --cache``/``--cache-id``: junctions and addresses from ARM, files over NFS.

Real parts only: the CLI runs in a child process and talks to the fake ARM through the real
Azure SDK over HTTPS, and to the NFS emulator over TCP on 127.0.0.61/62; the fake ARM's
storage-target flush acts on the emulator's namespace, so "written back" is checked on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

from flush_cache_support import (
    A_JUNCTION,
    A_ROOT,
    BY_NAME,
    CACHE,
    CACHE_ID,
    JUNCTIONS,
    one_error_line,
    report_of,
    run,
    world,
)

from hpccache_cli.cli.flush.fallback import FallbackReport, LayoutSites, TargetFlush
from hpccache_cli.cli.flush.values import Site
from hpccache_cli.flush.resolve import Target
from hpccache_cli.flush.resolve_layout import LayoutResolver
from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome
from hpccache_cli.layout import CacheLayout, JunctionInfo

DOWN = {"down_addresses": [A_ROOT, A_JUNCTION]}


def test_namespace_paths_are_flushed_on_their_junctions(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        files = w.dirty("/NAS_12_exp5/run/a", "/NAS_12_exp5/run/deep/b", "/blob/data/x",
                        b"/NAS_12_exp5/caf\xe9")
        proc = run(["flush", *BY_NAME, "-o", "json", "--report", str(report), *files,
                    "/elsewhere/f", "/NAS_12_exp5x/g"], w.env())
        assert proc.returncode == 1, proc.stderr
        summary = json.loads(proc.stdout)
        assert (summary["flushed"], summary["failed"]) == (4, 2)
        assert summary["failure_kinds"] == {"no-junction": 2}
        w.assert_written_back(*files)  # nas1 (nfs3 export) and blob1 (clfs, target path /sub)
    lines = report_of(report)
    for path in ("/elsewhere/f", "/NAS_12_exp5x/g"):  # a prefix is not a junction
        reason = lines[path]["reason"]
        assert f"under no junction of cache {CACHE} (junctions: {JUNCTIONS})" in reason
    assert lines["/NAS_12_exp5/caf\udce9"]["outcome"] == "flushed"  # odd bytes kept


def test_targets_that_do_not_cache_writes_are_skipped_unless_forced(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        w.dirty("/ro/r", "/NAS_12_exp5/w")
        args = ["flush", *BY_NAME, "--report", str(report), "/ro/r", "/NAS_12_exp5/w"]
        skipped = run(args, w.env())
        assert skipped.returncode == 0, skipped.stderr
        ro = report_of(report)["/ro/r"]
        assert ro["outcome"] == "skipped"
        assert ro["reason"].startswith("writes go straight through; nothing to flush")
        assert "READ_ONLY" in ro["reason"]
        forced = run([*args, "--force"], w.env())
        assert forced.returncode == 0, forced.stderr
        assert report_of(report)["/ro/r"]["outcome"] == "clean"  # asked the cache: not dirty
        w.assert_written_back("/NAS_12_exp5/w")


def test_cache_id_and_the_resolution_cache(tmp_path: Path) -> None:
    """The first run asks ARM (cache + storage targets); the next within the TTL asks nothing,
    whether the cache is named by id or by name; --refresh asks again."""
    with world(tmp_path) as w:
        files = w.dirty("/NAS_12_exp5/c/1", "/NAS_12_exp5/c/2")
        first = run(["flush", "--cache-id", CACHE_ID, files[0]], w.env())
        assert first.returncode == 0, first.stderr
        assert w.arm_calls("GET") == 2
        again = run(["flush", *BY_NAME, files[1]], w.env())
        assert again.returncode == 0, again.stderr
        assert w.arm_calls() == 2  # no ARM request at all
        refreshed = run(["flush", *BY_NAME, "--refresh", files[1]], w.env())
        assert refreshed.returncode == 0, refreshed.stderr
        assert w.arm_calls("GET") == 4
        w.assert_written_back(*files)


def test_az_names_for_the_cache(tmp_path: Path) -> None:
    """An az hpc-cache user's -n/--name and --ids name the cache as --cache and --cache-id do."""
    with world(tmp_path) as w:
        files = w.dirty("/NAS_12_exp5/az/1", "/NAS_12_exp5/az/2")
        by_ids = run(["flush", "--ids", CACHE_ID, "--refresh", files[0]], w.env())
        assert by_ids.returncode == 0, by_ids.stderr
        by_n = run(["flush", "-n", BY_NAME[1], *BY_NAME[2:], "--refresh", files[1]], w.env())
        assert by_n.returncode == 0, by_n.stderr
        w.assert_written_back(*files)


def test_fallback_flushes_the_targets_of_unreachable_files(tmp_path: Path) -> None:
    """Scenario: this machine cannot reach the cache's mount addresses (a build agent outside
    the cache's virtual network, a firewall change) but can reach Azure. Per file every flush
    fails as unreachable (exit 4); with --fallback the storage targets of those files are
    flushed through ARM, which writes them back, and the run succeeds."""
    with world(tmp_path, faults=DOWN) as w:
        files = w.dirty("/NAS_12_exp5/u/a", "/NAS_12_exp5/u/b", "/blob/data/u")
        plain = run(["flush", *BY_NAME, *files], w.env())
        assert plain.returncode == 4
        assert "hpccache: error: cache unreachable" in plain.stderr.decode()
        assert w.arm_calls("POST") == 0  # no target flush unless asked for
        proc = run(["flush", *BY_NAME, "--fallback", "target-flush", "-o", "json", *files],
                   w.env())
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        # The summary counts what finally happened: the target flushes wrote all 3 back.
        assert (data["flushed"], data["failed"], data["exit_code"]) == (3, 0, 0)
        assert data["failure_kinds"] == {}
        fallback = data["fallback"]
        assert {(t["target"], t["status"], t["failed_files"]) for t in fallback["targets"]} == {
            ("nas1", "succeeded", 2), ("blob1", "succeeded", 1)}
        assert fallback["failed_files_covered"] == 3
        assert fallback["failed_files_not_covered"] == 0
        assert w.arm_calls("POST") == 2
        w.assert_written_back(*files)
    assert "fallback: flushed storage target nas1" in proc.stderr.decode()


def test_fallback_reports_a_failed_target_flush(tmp_path: Path) -> None:
    """A file whose write-back the back end keeps refusing fails per file, and the target
    flush fails too; a missing file is not something a target flush can fix. Exit 1."""
    faults = {"failing_paths": ["/NAS_12_exp5/f/bad"]}
    with world(tmp_path, faults=faults) as w:
        good = w.dirty("/NAS_12_exp5/f/good")
        w.dirty("/NAS_12_exp5/f/bad")
        proc = run(["flush", *BY_NAME, "--fallback", "target-flush", "--retries", "0",
                    "-o", "json", *good, "/NAS_12_exp5/f/bad", "/NAS_12_exp5/f/missing"],
                   w.env())
        assert proc.returncode == 1, proc.stderr
        data = json.loads(proc.stdout)
        assert (data["flushed"], data["failed"], data["exit_code"]) == (1, 2, 1)
        [target] = data["fallback"]["targets"]
        assert (target["target"], target["status"], target["failed_files"]) == ("nas1",
                                                                               "failed", 1)
        assert "/NAS_12_exp5/f/bad" in target["reason"]
        assert data["fallback"]["failed_files_not_covered"] == 2
        w.assert_written_back(*good)


def test_fallback_without_permission_says_so(tmp_path: Path) -> None:
    with world(tmp_path, faults=DOWN) as w:
        files = w.dirty("/NAS_12_exp5/p/a")
        w.arm.faults.next_status(403, method="POST")
        proc = run(["flush", *BY_NAME, "--fallback", "target-flush", *files], w.env())
    assert proc.returncode == 4  # nothing covered: the per-file code stands
    out = proc.stdout.decode()
    assert "fallback: failed: storage target nas1 of cache emu-test" in out
    assert "ask for Contributor" in out
    assert "fallback: 1 failed file(s) not covered by a target flush" in out


def test_errors_are_one_line_with_their_exit_code(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        env = w.env()
        missing = run(["flush", "--cache", "nosuch", "-g", "emulated-rg", "/NAS_12_exp5/a"], env)
        assert missing.returncode == 3
        assert "nosuch" in one_error_line(missing)
        asked = w.arm_calls()
        cases = [
            (["--cache", CACHE, "/NAS_12_exp5/a"], "-g/--resource-group"),
            ([*BY_NAME, "--ip", A_ROOT, "/NAS_12_exp5/a"], "drop --ip/--export"),
            ([*BY_NAME, "--cache-id", CACHE_ID, "/a"], "give one of them"),
            ([*BY_NAME, "--path-kind", "export", "/a"], "--path-kind export"),
            (["--force", "--ip", A_ROOT, "--export", "/NAS_12_exp5", "a"], "--force"),
            ([*BY_NAME, "--fallback", "target-flush", "--status-only", "/a"], "--status-only"),
        ]
        for args, words in cases:
            proc = run(["flush", *args], env)
            assert proc.returncode == 2, (args, proc.stderr)
            assert words in one_error_line(proc), args
        assert w.arm_calls() == asked  # bad usage is refused before any Azure call


# -- units: no network ---------------------------------------------------------------------------

ADDR = ("127.0.0.63",)
LAYOUT = CacheLayout("c", "rg", ADDR, (
    JunctionInfo("/a", "t1"), JunctionInfo("/a/b", "t2"),
    JunctionInfo("/ro", "t3", usage_model="READ_ONLY")))


def test_layout_resolver_places_paths_on_the_longest_junction() -> None:
    r = LayoutResolver(LAYOUT)
    assert r.resolve(b"/a/b/c/d") == Target(ADDR, b"/a/b", b"c/d")
    assert r.resolve(b"/a/bc") == Target(ADDR, b"/a", b"bc")  # component bounds, not prefix
    assert r.resolve(b"/a//./x/../y") == Target(ADDR, b"/a", b"y")
    assert r.resolve(b"/a/b") == Target(ADDR, b"/a/b", b"")  # the junction itself
    assert r.resolve(b"/a/\xff") == Target(ADDR, b"/a", b"\xff")  # bytes kept
    sites = LayoutSites(r)
    assert sites.site(b"/a/b/x") == Site(target="t2") and sites.site(b"/zz") is None
    assert r.storage_target(b"/a/x") == "t1" and r.storage_target(b"/a/x\0y") is None
    for raw, kind in ((b"/a/" + b"n" * 1025, "bad-path"), (b"/a/x\0y", "bad-path"),
                      (b"/zz/y", "no-junction"), (b"rel/x", "path")):
        result = r.resolve(raw)
        assert isinstance(result, FileResult), raw
        assert (result.outcome, result.kind) == (Outcome.FAILED, kind), (raw, result)
    skipped = r.resolve(b"/ro/x")
    assert isinstance(skipped, FileResult) and skipped.outcome is Outcome.SKIPPED
    assert LayoutResolver(LAYOUT, force=True).resolve(b"/ro/x") == Target(ADDR, b"/ro", b"x")


def test_fallback_exit_code_rule() -> None:
    summary = FlushSummary(unreachable=True)
    summary.add(FileResult(b"a", Outcome.FAILED, kind="unreachable"))
    summary.add(FileResult(b"b", Outcome.FLUSHED))
    flush = TargetFlush("c", "rg", "t1", files=1, status="succeeded")
    assert FallbackReport([flush]).exit_code(summary) == 0  # every failure covered
    flush.status = "failed"
    assert FallbackReport([flush]).exit_code(summary) == 4  # else the per-file code
    summary.add(FileResult(b"c", Outcome.UNFINISHED))
    summary.interrupted = True
    assert FallbackReport([]).exit_code(summary) == 130
