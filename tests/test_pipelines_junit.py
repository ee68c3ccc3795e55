"""JUnit XML report: parses, counts match, one test case per path, odd names stay valid."""

from __future__ import annotations

import os
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from junit_schema import check_schema

from hpccache_cli.errors import EXIT_USAGE, UsageError
from hpccache_cli.flush.results import FileResult, Outcome
from hpccache_cli.pipelines.junit import CLASSNAME, UNFINISHED_MESSAGE, JUnitReport
from hpccache_cli.pipelines.text import display_name


@dataclass(frozen=True)
class R:
    path: str
    outcome: str
    reason: str | None = None
    seconds: float = 0.25
    attempts: int = 1


SUITE_ATTRS = {"name", "tests", "failures", "errors", "skipped", "time"}
CASE_CHILDREN = {"failure", "error", "skipped", "system-out", "system-err"}


def check_shape(root: ET.Element) -> ET.Element:
    """The structure PublishTestResults@2 (JUnit) reads: testsuites > testsuite > testcase.

    Checks the attributes the JUnit schema requires and that the counts on both levels agree
    with the test cases actually present. Returns the single testsuite.
    """
    check_schema(root)  # only what the common Jenkins JUnit schema allows
    assert root.tag == "testsuites"
    suites = list(root)
    assert [s.tag for s in suites] == ["testsuite"]
    suite = suites[0]
    assert set(suite.attrib) >= SUITE_ATTRS
    cases = list(suite)
    assert all(c.tag == "testcase" for c in cases)
    for c in cases:
        assert {"classname", "name", "time"} <= set(c.attrib)
        assert float(c.attrib["time"]) >= 0
        assert {child.tag for child in c} <= CASE_CHILDREN
        assert len(list(c)) <= 1
    failures = sum(1 for c in cases if c.find("failure") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    for level in (root, suite):
        assert int(level.attrib["tests"]) == len(cases)
        assert int(level.attrib["failures"]) == failures
        assert int(level.attrib["errors"]) == 0
        assert float(level.attrib["time"]) >= 0
    assert int(suite.attrib["skipped"]) == skipped  # (the schema has none on <testsuites>)
    return suite


def test_counts_and_cases_match_the_results(tmp_path: Path) -> None:
    report = tmp_path / "flush-results.xml"
    results = [
        R("/mnt/out/a.dat", "flushed", attempts=2),
        R("/mnt/out/b.dat", "clean"),
        R("/mnt/out/c.dat", "failed", "NFS3ERR_IO from the cache", attempts=3),
        R("/mnt/out/d.dat", "skipped", "not under an HPC Cache mount"),
        R("/mnt/out/e.dat", "unfinished"),
        R("/mnt/out/f.dat", "unfinished", "--timeout reached"),
        R("/mnt/out/g.dat", "started"),  # --no-wait: passes, with a note
    ]
    times = iter([100.0, 112.5])
    with JUnitReport(report, clock=lambda: next(times)) as junit:
        for r in results:
            junit.add(r)
    suite = check_shape(ET.parse(report).getroot())
    assert suite.attrib["tests"] == "7"
    assert suite.attrib["failures"] == "3"
    assert suite.attrib["skipped"] == "1"
    assert suite.attrib["time"] == "12.500"  # wall clock, not the sum of case times
    cases = {c.attrib["name"]: c for c in suite}
    assert list(cases) == [f"/mnt/out/{x}.dat" for x in "abcdefg"]
    assert all(c.attrib["classname"] == CLASSNAME for c in suite)
    assert list(cases["/mnt/out/a.dat"]) == [] and list(cases["/mnt/out/b.dat"]) == []
    failure = cases["/mnt/out/c.dat"].find("failure")
    assert failure is not None
    assert failure.attrib["message"] == "NFS3ERR_IO from the cache"
    assert failure.attrib["type"] == "failed"
    assert failure.text == "NFS3ERR_IO from the cache\nattempts: 3"
    skipped = cases["/mnt/out/d.dat"].find("skipped")
    assert skipped is not None and skipped.attrib["message"] == "not under an HPC Cache mount"
    e = cases["/mnt/out/e.dat"].find("failure")
    f = cases["/mnt/out/f.dat"].find("failure")
    assert e is not None and e.attrib["message"] == UNFINISHED_MESSAGE
    assert f is not None and f.attrib["message"] == f"{UNFINISHED_MESSAGE}: --timeout reached"
    assert f.attrib["type"] == "unfinished"
    note = cases["/mnt/out/g.dat"].find("system-out")
    assert note is not None and "not waited for" in (note.text or "")
    assert cases["/mnt/out/g.dat"].find("failure") is None


def test_status_only_and_unknown_outcomes_never_pass_silently(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    with JUnitReport(report) as junit:
        junit.add(R("/wb", "written-back"))
        junit.add(R("/dirty", "dirty"))
        junit.add(R("/busy", "flushing"))
        junit.add(R("/odd", "exploded"))
    suite = check_shape(ET.parse(report).getroot())
    assert (suite.attrib["tests"], suite.attrib["failures"]) == ("4", "3")
    messages = [(c.attrib["name"], c.find("failure")) for c in suite]
    assert messages[0][1] is None
    assert [(n, f.attrib["type"], f.attrib["message"]) for n, f in messages[1:]] == [
        ("/dirty", "dirty", "not written back: dirty in the cache"),
        ("/busy", "flushing", "not written back yet: write-back still running"),
        ("/odd", "exploded", "outcome exploded"),
    ]


def test_the_engines_own_file_result_fits(tmp_path: Path) -> None:
    """The flush engine's FileResult (bytes path, str-Enum outcome, "" reason) works as is."""
    report = tmp_path / "r.xml"
    with JUnitReport(report) as junit:
        junit.add(FileResult(b"/mnt/\xff.dat", Outcome.FAILED, "NFS3ERR_IO", 0.5, 3, "io"))
        junit.add(FileResult(b"/mnt/ok.dat", Outcome.FLUSHED, "", 0.1, 1))
    suite = check_shape(ET.parse(report).getroot())
    assert [c.attrib["name"] for c in suite] == ["/mnt/\\xff.dat", "/mnt/ok.dat"]
    failure = suite[0].find("failure")
    assert failure is not None
    assert (failure.attrib["type"], failure.attrib["message"]) == ("failed", "NFS3ERR_IO")


NASTY = [
    "/mnt/plain.txt",
    "/mnt/ctrl\x01\x1f\x7f.txt",
    "/mnt/new\nline\r\ttab",
    "/mnt/bytes\udcff\udc80",  # os.fsdecode of non-UTF-8 bytes
    "/mnt/literal\\xff",  # must not collide with the byte above
    "/mnt/\\\\xff",
    "/mnt/c1\u0085\u009f",
    "/mnt/xml<&>\"']]>",
    "/mnt/lone\ud800surrogate",
    "/mnt/nonchar\ufffe\uffff",
    "/mnt/emoji\U0001f600 caf\u00e9",
]


def test_invalid_xml_characters_are_made_safe_and_stay_unique(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    with JUnitReport(report) as junit:
        for p in NASTY:
            junit.add(R(p, "failed", f"reason for {p}"))
    suite = check_shape(ET.parse(report).getroot())  # raises on any invalid character
    names = [c.attrib["name"] for c in suite]
    assert len(set(names)) == len(NASTY)
    assert names == [display_name(p) for p in NASTY]
    assert names[1] == "/mnt/ctrl\\x01\\x1f\\x7f.txt"
    assert names[2] == "/mnt/new\\x0aline\\x0d\\x09tab"
    assert names[3] == "/mnt/bytes\\xff\\x80"
    assert names[4] == "/mnt/literal\\\\xff"
    assert names[6] == "/mnt/c1\\u0085\\u009f"
    assert names[7] == "/mnt/xml<&>\"']]>"  # XML-escaped on disk, intact once parsed
    assert names[10] == NASTY[10]  # printable non-ASCII is kept as is
    failure = suite[2].find("failure")
    assert failure is not None
    # Reasons keep their line breaks (attribute char references), controls become escapes.
    assert failure.attrib["message"] == "reason for /mnt/new\nline\r\ttab"
    assert suite[1].find("failure").attrib["message"] == "reason for /mnt/ctrl\\x01\\x1f\\x7f.txt"


def undisplay(name: str) -> bytes:
    """Inverse of display_name for paths that were fsdecoded bytes: proves it is injective."""
    out = bytearray()
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == "\\":
            kind = name[i + 1]
            if kind == "\\":
                out += b"\\"
                i += 2
            elif kind == "x":
                out.append(int(name[i + 2 : i + 4], 16))
                i += 4
            else:
                assert kind == "u"
                out += chr(int(name[i + 2 : i + 6], 16)).encode("utf-8", "surrogatepass")
                i += 6
        else:
            out += ch.encode("utf-8")
            i += 1
    return bytes(out)


@pytest.mark.parametrize(
    "raw",
    [b"/a/\xff\x80b", b"/a/\\xff", b"/a/\x01\n\x7f", "/a/\u0085\u2028".encode(), b"/a/\\\\"],
)
def test_display_name_inverts_to_the_original_bytes(raw: bytes) -> None:
    assert undisplay(display_name(os.fsdecode(raw))) == raw


def test_empty_report_is_valid(tmp_path: Path) -> None:
    report = tmp_path / "empty.xml"
    JUnitReport(report).close()
    suite = check_shape(ET.parse(report).getroot())
    assert suite.attrib["tests"] == "0"


def test_report_appears_only_at_close_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    junit = JUnitReport(report, suite_name="hpccache flush (shard 2/4)")
    junit.add(R("/x", "flushed"))
    assert not report.exists()
    junit.close()
    junit.close()  # idempotent
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xml"]
    root = check_schema(ET.parse(report).getroot())
    assert root[0].attrib["name"] == "hpccache flush (shard 2/4)"
    with pytest.raises(ValueError):
        junit.add(R("/y", "flushed"))


def test_written_even_when_the_run_raises(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    with pytest.raises(KeyboardInterrupt), JUnitReport(report) as junit:
        junit.add(R("/done", "flushed"))
        junit.add(R("/inflight", "unfinished"))
        raise KeyboardInterrupt
    suite = check_shape(ET.parse(report).getroot())
    assert (suite.attrib["tests"], suite.attrib["failures"]) == ("2", "1")


def test_unwritable_directory_is_a_usage_error_at_open(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        JUnitReport(tmp_path / "missing-dir" / "r.xml")
    assert info.value.exit_code == EXIT_USAGE
    assert "cannot write the JUnit report" in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_times_are_written_as_zero(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    with JUnitReport(report) as junit:
        junit.add(R("/neg", "flushed", seconds=-1.0))
        junit.add(R("/nan", "flushed", seconds=float("nan")))
    suite = check_shape(ET.parse(report).getroot())
    assert [c.attrib["time"] for c in suite] == ["0.000", "0.000"]


def test_concurrent_adds_are_all_recorded(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    with JUnitReport(report) as junit:

        def worker(w: int) -> None:
            for i in range(200):
                junit.add(R(f"/w{w}/f{i}", "failed" if i % 10 == 0 else "flushed", "io"))

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    suite = check_shape(ET.parse(report).getroot())
    assert suite.attrib["tests"] == "800" and suite.attrib["failures"] == "80"
    assert len({c.attrib["name"] for c in suite}) == 800


@dataclass(frozen=True)
class K(R):
    kind: str = ""


def test_a_repeated_input_gets_a_case_of_its_own_name(tmp_path: Path) -> None:
    """Readers key cases by class and name: a repeat must not share its original's name."""
    report = tmp_path / "r.xml"
    dup = "duplicate of an earlier input"
    with JUnitReport(report) as junit:
        junit.add(K("/mnt/a", "flushed"))
        junit.add(K("/mnt/a", "skipped", dup, kind="duplicate"))
        junit.add(K("/mnt/a", "skipped", dup, kind="duplicate"))
        junit.add(K("/mnt/b", "skipped", "a directory", kind="directory"))
    suite = check_shape(ET.parse(report).getroot())
    names = [c.attrib["name"] for c in suite]
    assert names == ["/mnt/a", "/mnt/a (duplicate #1)", "/mnt/a (duplicate #2)", "/mnt/b"]
    assert len(set(names)) == len(names)
    skipped = suite[1].find("skipped")
    assert skipped is not None and skipped.attrib["message"] == dup


def test_the_timestamp_says_its_zone(tmp_path: Path) -> None:
    """ISO 8601 with the UTC offset: a reader elsewhere cannot take it for local time."""
    from datetime import datetime, timedelta

    report = tmp_path / "r.xml"
    with JUnitReport(report) as junit:
        junit.add(R("/a", "flushed"))
    suite = check_shape(ET.parse(report).getroot())
    stamp = datetime.fromisoformat(suite.attrib["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
