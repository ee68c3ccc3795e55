"""``--fallback target-flush`` and the per-file records: a failed file whose storage target was
then flushed through ARM was written back, and ``--report``, ``--failed-to``, ``--junit`` and
the summary say so; a file whose target flush failed, or that no target flush can cure, stays
failed everywhere.

Real parts (see flush_cache_support): the CLI in a child process, the NFS emulator on loopback
with both mount addresses down (so every per-file flush fails as unreachable), and the fake ARM
over HTTPS whose target flush writes the emulator's dirty files back to disk.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from flush_cache_support import A_JUNCTION, A_ROOT, BY_NAME, CACHE, mountinfo, run, world
from junit_schema import validate_junit

DOWN = {"down_addresses": [A_ROOT, A_JUNCTION]}


def report_lines(path: Path) -> dict[bytes, dict[str, Any]]:
    """``--report`` lines by raw path (``path_b64`` when the name is not UTF-8)."""
    out: dict[bytes, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        raw = (base64.b64decode(data["path_b64"]) if "path_b64" in data
               else os.fsencode(data["path"]))
        assert raw not in out, f"{raw!r} reported twice"
        out[raw] = data
    return out


def junit_cases(path: Path) -> dict[str, str]:
    """JUnit test case name -> "failure", "skipped" or "pass"."""
    cases = validate_junit(path).iter("testcase")
    return {c.get("name", ""): ("failure" if c.find("failure") is not None else
                                "skipped" if c.find("skipped") is not None else "pass")
            for c in cases}


def test_files_a_target_flush_wrote_back_are_reported_flushed(tmp_path: Path) -> None:
    """Client paths (no --cache; the cache is found by address), NUL-separated, one name not
    UTF-8: every per-file flush fails, both target flushes succeed, so the report says
    flushed for each, the failed list is empty, JUnit has no failure and the summary agrees."""
    table, root, nas = mountinfo(tmp_path)
    out = {name: tmp_path / "out" / name for name in ("report.jsonl", "failed.lst", "j.xml")}
    out["report.jsonl"].parent.mkdir()
    odd = os.fsencode(nas) + b"/d/\xff odd"
    paths = [os.fsencode(f"{nas}/d/a"), odd, os.fsencode(f"{root}/blob/data/d")]
    listing = tmp_path / "in.lst"
    listing.write_bytes(b"".join(p + b"\0" for p in paths))
    with world(tmp_path, faults=DOWN) as w:
        ns = w.dirty("/NAS_12_exp5/d/a", b"/NAS_12_exp5/d/\xff odd", "/blob/data/d")
        proc = run(["flush", "--fallback", "target-flush", "-0", "--from-file", str(listing),
                    "-o", "json", "--report", str(out["report.jsonl"]), "--failed-to",
                    str(out["failed.lst"]), "--junit", str(out["j.xml"])],
                   w.env(HPCCACHE_MOUNTINFO=str(table)))
        assert proc.returncode == 0, proc.stderr
        w.assert_written_back(*ns)
    lines = report_lines(out["report.jsonl"])
    assert sorted(lines) == sorted(paths)
    for raw, line in lines.items():
        assert (line["outcome"], line["kind"]) == ("flushed", "target-flush"), line
        target = "blob1" if b"/blob/" in raw else "nas1"
        assert line["reason"].startswith(
            f"written back by the flush of storage target {target} of cache {CACHE}"), line
        assert "the per-file flush had failed:" in line["reason"]
    assert out["failed.lst"].read_bytes() == b""
    assert set(junit_cases(out["j.xml"]).values()) == {"pass"}
    data = json.loads(proc.stdout)
    assert (data["flushed"], data["failed"], data["failure_kinds"]) == (3, 0, {})
    assert data["fallback"]["failed_files_covered"] == 3
    assert data["fallback"]["failed_files_not_covered"] == 0


def test_files_whose_target_flush_failed_stay_failed(tmp_path: Path) -> None:
    """--cache: nas1's target flush succeeds, blob1's is refused (403), a path under no
    junction cannot be helped, a read-only target's file is skipped. Only nas1's files turn
    to flushed; the others stay failed in the report, the failed list and the summary."""
    report, failed = tmp_path / "report.jsonl", tmp_path / "failed.lst"
    nas = ["/NAS_12_exp5/m/a", "/NAS_12_exp5/m/b"]
    blob, nowhere, ro = "/blob/data/m", "/nowhere/m", "/ro/m"
    with world(tmp_path, faults=DOWN) as w:
        w.dirty(*nas, blob)
        w.arm.faults.next_status(403, method="POST", path_contains="storageTargets/blob1")
        proc = run(["flush", *BY_NAME, "--fallback", "target-flush", "-o", "json", "--report",
                    str(report), "--failed-to", str(failed), *nas, blob, nowhere, ro], w.env())
        assert proc.returncode == 4, proc.stderr  # not all covered: the per-file code stands
        w.assert_written_back(*nas)
        assert not w.backend_file(blob).exists()
    lines = {p.decode(): x for p, x in report_lines(report).items()}
    assert {p: lines[p]["outcome"] for p in lines} == {
        nas[0]: "flushed", nas[1]: "flushed", blob: "failed", nowhere: "failed",
        ro: "skipped"}
    assert "storage target nas1 of cache" in lines[nas[0]]["reason"]
    assert (lines[blob]["kind"], lines[nowhere]["kind"]) == ("unreachable", "no-junction")
    assert sorted(failed.read_bytes().splitlines()) == sorted([blob.encode(),
                                                               nowhere.encode()])
    data = json.loads(proc.stdout)
    assert (data["flushed"], data["failed"], data["skipped"]) == (2, 2, 1)
    assert data["failure_kinds"] == {"unreachable": 1, "no-junction": 1}
    fallback = data["fallback"]
    assert {(t["target"], t["status"]) for t in fallback["targets"]} == {
        ("nas1", "succeeded"), ("blob1", "failed")}
    assert (fallback["failed_files_covered"], fallback["failed_files_not_covered"]) == (2, 2)


def test_text_summary_after_a_fallback(tmp_path: Path) -> None:
    """The text summary counts the covered files as flushed and says the fallback did it."""
    with world(tmp_path, faults=DOWN) as w:
        files = w.dirty("/NAS_12_exp5/t/a", "/NAS_12_exp5/t/b")
        proc = run(["flush", *BY_NAME, "--fallback", "target-flush", *files], w.env())
        assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    assert "flushed: 2" in text and "failed: 0" in text, text
    assert ("fallback: 2 file(s) that failed per file were written back by a target flush "
            "(counted as flushed; not checked file by file: no mount address of the cache "
            "answered this run") in text  # unreachable: Azure's word, and the summary says so
    assert "not covered" not in text


def test_held_back_failures_are_written_as_they_were_when_no_fallback_ran(
        tmp_path: Path) -> None:
    """No network: an interrupted run (or a fallback that raised) never calls run(); release()
    still writes every held-back failure, byte-exact, and closes the files."""
    from hpccache_cli.cli.flush.fallback import ExportSites, TargetFallback, make_fallback
    from hpccache_cli.cli.flush.fallback_outputs import HeldOutputs
    from hpccache_cli.cli.flush.values import Naming
    from hpccache_cli.flush.outputs import OutputFile
    from hpccache_cli.flush.resolve import ExportResolver
    from hpccache_cli.flush.results import FileResult, Outcome
    from hpccache_cli.flush.sinks import FailedList, JsonlReport

    resolver = ExportResolver([A_ROOT], "/NAS_12_exp5")
    fallback = make_fallback(Naming(resolver, ExportSites(resolver)), None, quiet=True)
    assert isinstance(fallback, TargetFallback)
    report, failed = tmp_path / "r.jsonl", tmp_path / "f.lst"
    records = [JsonlReport(OutputFile.open(str(report), "--report")),
               FailedList(OutputFile.open(str(failed), "--failed-to"), b"\0")]
    held = HeldOutputs(records, fallback, str(tmp_path))
    results = [FileResult(b"d/\xff a", Outcome.FAILED, "unreachable", 1.5, 2, "unreachable"),
               FileResult(b"d/gone", Outcome.FAILED, "no such file", kind="noent"),
               FileResult(b"d/ok", Outcome.FLUSHED, attempts=1),
               FileResult(b"d/\xff a/b", Outcome.FAILED, "timed out", kind="timeout")]
    for result in results:
        held.emit(result)
    held.close()  # the run's end: the records stay open for the fallback
    assert held.held == 2 and not report.exists()  # written (renamed into place) at release
    held.release()
    lines = report_lines(report)
    assert [x["outcome"] for x in lines.values()] == ["failed", "flushed", "failed", "failed"]
    assert list(lines)[2:] == [b"d/\xff a", b"d/\xff a/b"]  # held back, then written last
    assert lines[b"d/\xff a"] == results[0].to_json()
    assert failed.read_bytes() == b"d/gone\0d/\xff a\0d/\xff a/b\0"
    assert sum(sum(k.values()) for k in fallback.kinds) == 2 and fallback.not_coverable == 1


def test_settle_decides_the_code_then_counts_covered_files_as_flushed() -> None:
    from collections import Counter

    from hpccache_cli.cli.flush.fallback import FallbackReport, TargetFlush
    from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome

    summary = FlushSummary(unreachable=True)
    for name, kind in ((b"a", "unreachable"), (b"b", "unreachable"), (b"c", "noent")):
        summary.add(FileResult(name, Outcome.FAILED, kind=kind))
    flush = TargetFlush("c", "rg", "t1", files=2, status="succeeded")
    report = FallbackReport([flush], covered_kinds=Counter(unreachable=2))
    assert report.settle(summary) == 4  # one failure left: the per-file code stands
    assert (summary.count(Outcome.FLUSHED), summary.failed) == (2, 1)
    assert dict(summary.reasons) == {"noent": 1}
    assert report.to_dict(summary)["failed_files_not_covered"] == 1
    assert report.settle(summary) == 4 and summary.failed == 1  # only once
