"""Run summaries and progress without a cache: counting an input's records up front, the
progress total, the rate after Ctrl-C, plural forms and the fixed ``-o json`` key set."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpccache_cli.cli.flush.progress import progress_line, summary_text
from hpccache_cli.cli.flush.runner import print_summary
from hpccache_cli.cli.flush.values import FlushRequest
from hpccache_cli.flush.inputs import NEWLINE, NUL, count_records, split_records
from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome


@given(st.binary(max_size=300), st.sampled_from([NEWLINE, NUL]), st.integers(1, 17))
def test_count_records_agrees_with_the_reader(data: bytes, sep: bytes, chunk: int) -> None:
    """Counted with pread in chunks of any size, the same records the reader will yield."""
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"hpccache-count-{os.getpid()}"
    path.write_bytes(data)
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            expected = sum(len(b) for b in split_records([data], sep))
            assert count_records(fd, sep, chunk=chunk) == expected
            assert os.lseek(fd, 0, os.SEEK_CUR) == 0  # the reader still starts at 0
        finally:
            os.close(fd)
    finally:
        path.unlink()


def test_count_records_of_a_pipe_is_unknown() -> None:
    r, w = os.pipe()
    try:
        os.write(w, b"a\nb\n")
        assert count_records(r) is None
        assert os.read(r, 10) == b"a\nb\n"  # nothing was consumed
    finally:
        os.close(r)
        os.close(w)


def test_total_estimate_from_the_record_count() -> None:
    s = FlushSummary(expected_input=1000)
    assert s.total_estimate == 1000  # nothing read yet
    s.total = s.input_read = 300  # a plain list: one path per record
    assert s.total_estimate == 1000
    s.total = 150  # --shard 1/2: half of what was read is this job's
    assert s.total_estimate == 150 + 350
    s.input_complete = True
    assert s.total_estimate == 150
    assert FlushSummary().total_estimate is None  # a pipe: unknown until its end


def test_progress_line_has_a_percentage_when_the_total_is_known() -> None:
    s = FlushSummary(expected_input=10_817, total=4096, input_read=4096)
    for _ in range(1200):
        s.add(FileResult(b"f", Outcome.FLUSHED))
    assert progress_line(s) == "progress: 1,200 of ~10,817 done (11%), 0 failed"
    assert progress_line(FlushSummary(total=5)) == "progress: 0 of 5+ done, 0 failed"


def test_rate_counts_finished_files_only_and_plurals() -> None:
    s = FlushSummary(total=20_000, seconds=10.0, interrupted=True, shard=(1, 2),
                     outside_shard=1)
    for outcome, n in ((Outcome.FLUSHED, 3000), (Outcome.UNFINISHED, 17_000)):
        for _ in range(n):
            s.add(FileResult(b"f", outcome))
    assert s.rate == 300.0
    text = summary_text(s)
    assert text.startswith("flush of 20,000 paths in 10.00 s (300 files/s)")
    assert "1 more input path belongs to the other shards" in text
    one = FlushSummary(total=1, seconds=1.0)
    one.add(FileResult(b"f", Outcome.FLUSHED))
    assert summary_text(one).startswith("flush of 1 path in 1.00 s (1 files/s)")


KEYS = {"mode", "total", "seconds", "files_per_second", "flushed", "clean", "failed",
        "skipped", "unfinished", "started", "written_back", "flushing", "dirty",
        "failure_kinds", "interrupted", "input_complete", "unreachable", "input_error",
        "output_error", "unreachable_reason", "shard", "report", "failed_list", "fallback",
        "exit_code"}


def test_a_run_where_every_file_failed_has_no_rate() -> None:
    """Failing fast is no speed: failed, skipped and unfinished paths are not in the rate."""
    s = FlushSummary(total=1000, seconds=0.5, input_complete=True)
    for i in range(1000):
        s.add(FileResult(b"f", Outcome.FAILED if i % 2 else Outcome.SKIPPED, "x", kind="io"))
    assert s.rate == 0.0
    assert s.to_dict()["files_per_second"] == 0.0
    assert summary_text(s).startswith("flush of 1,000 paths in 0.50 s (0 files/s)")
    s.add(FileResult(b"g", Outcome.FLUSHED))
    s.add(FileResult(b"h", Outcome.CLEAN))
    assert s.rate == 4.0  # only the answered paths count


def test_every_summary_key_is_a_python_name() -> None:
    """``written-back`` was the one hyphenated key: ``jq .written_back`` must work."""
    s = FlushSummary(total=1, seconds=1.0, status_only=True)
    s.add(FileResult(b"f", Outcome.WRITTEN_BACK))
    data = s.to_dict()
    assert all(key.isidentifier() for key in data)
    assert data["written_back"] == 1 and "written-back" not in data


@pytest.mark.parametrize("busy", [False, True])
def test_json_summary_has_a_fixed_key_set(busy: bool, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    """The keys README lists, in every run: 0/false/null when they do not apply."""
    s = FlushSummary(total=2, seconds=1.0, input_complete=True)
    request = FlushRequest(output="json")
    if busy:
        s.add(FileResult(b"a", Outcome.FAILED, "io", kind="io"))
        s.add(FileResult(b"b", Outcome.SKIPPED, "dir"))
        s.shard, s.outside_shard, s.unreachable_reason = (1, 2), 3, "no answer"
        request = FlushRequest(output="json", report="r.jsonl", failed_to="f.txt")
    print_summary(request, s, code=s.exit_code)
    data = json.loads(capsys.readouterr().out)
    assert set(data) == KEYS
    if not busy:
        assert data["failed"] == data["dirty"] == 0 and data["shard"] is None
        assert data["report"] is data["fallback"] is data["input_error"] is None
    else:
        assert data["shard"] == {"k": 1, "n": 2, "outside": 3}
        assert (data["report"], data["failed_list"]) == ("r.jsonl", "f.txt")
