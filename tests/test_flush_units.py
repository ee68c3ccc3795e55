"""Pure parts of the flush engine: input splitting, resolution, dedup, results, handle cache.

No network here: these pin down the rules every input path goes through before any NFS call
(what a blank line, ``..``, a NUL or an undecodable byte become) and the bookkeeping after.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpccache_cli.errors import UsageError
from hpccache_cli.flush.dedup import DigestSet, digest
from hpccache_cli.flush.handles import HandleCache
from hpccache_cli.flush.inputs import IterableSource, ThreadedReader, split_records
from hpccache_cli.flush.options import Backoff, FlushOptions
from hpccache_cli.flush.resolve import ExportResolver, Target, normalise_export
from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome

# --- input splitting ----------------------------------------------------------------------


def flat(batches: object) -> list[bytes]:
    return [p for batch in batches for p in batch]  # type: ignore[attr-defined]


def test_split_skips_blank_records_and_keeps_bytes() -> None:
    chunks = [b"a\n\nb", b" c\n", b"\n\xff\xfe name\n", b"last"]
    assert flat(split_records(chunks)) == [b"a", b"b c", b"\xff\xfe name", b"last"]


def test_split_nul_keeps_newlines_in_names() -> None:
    chunks = [b"one\nline\0", b"\0two", b"\0"]
    assert flat(split_records(chunks, b"\0")) == [b"one\nline", b"two"]


@given(st.lists(st.binary(min_size=1).filter(lambda b: b"\n" not in b), max_size=30),
       st.lists(st.integers(1, 7), min_size=1, max_size=10))
def test_split_is_independent_of_chunking(names: list[bytes], cuts: list[int]) -> None:
    data = b"".join(n + b"\n" for n in names)
    chunks, i, k = [], 0, 0
    while i < len(data):
        step = cuts[k % len(cuts)]
        chunks.append(data[i : i + step])
        i, k = i + step, k + 1
    assert flat(split_records(chunks)) == names


def test_iterable_source_batches_and_encodes() -> None:
    async def collect() -> list[bytes]:
        src = IterableSource(["a", b"b", "", os.fsdecode(b"\xff")] + [f"f{i}" for i in range(3000)])
        out: list[bytes] = []
        while (batch := await src.next_batch()) is not None:
            out += batch
        return out

    out = asyncio.run(collect())
    assert out[:3] == [b"a", b"b", b"\xff"] and len(out) == 3003


def test_threaded_reader_streams_from_a_pipe() -> None:
    """The reader hands out what has arrived while the writer is still writing."""
    r, w = os.pipe()

    async def run() -> list[bytes]:
        reader = ThreadedReader(r, b"\n", owns_fd=True)
        os.write(w, b"first\nsecond\n")
        got = await asyncio.wait_for(reader.next_batch(), 5)  # before EOF
        os.write(w, b"third")
        os.close(w)
        rest: list[bytes] = []
        while (batch := await asyncio.wait_for(reader.next_batch(), 5)) is not None:
            rest += batch
        return list(got or []) + rest

    assert asyncio.run(run()) == [b"first", b"second", b"third"]


# --- resolution -----------------------------------------------------------------------------


@pytest.fixture
def res() -> ExportResolver:
    return ExportResolver(["127.0.0.31"], "/NAS_12_exp5/")


@pytest.mark.parametrize("raw, rel", [
    (b"dir/file", b"dir/file"),
    (b"/dir/file", b"dir/file"),                 # flush_file.py style
    (b"NAS_12_exp5/dir/file", b"NAS_12_exp5/dir/file"),  # relative: never stripped
    (b"./a//b/./c", b"a/b/c"),
    (b"a/x/../b", b"a/b"),
    (b"/", b""),
    (b"caf\xe9/\xff", b"caf\xe9/\xff"),
])
def test_export_resolver_paths(res: ExportResolver, raw: bytes, rel: bytes) -> None:
    target = res.resolve(raw)
    assert target == Target(("127.0.0.31",), b"/NAS_12_exp5", rel)


@pytest.mark.parametrize("reading, raw, rel, alt", [
    # flush --export alone: /JUNCTION/... may be the namespace path or a path in the export.
    (None, b"/NAS_12_exp5/dir/file", b"dir/file", b"NAS_12_exp5/dir/file"),
    (None, b"/NAS_12_exp5", b"", b"NAS_12_exp5"),
    # flush-file and --path-kind export: relative to the export, never stripped.
    ("export", b"/NAS_12_exp5/new-file.txt", b"NAS_12_exp5/new-file.txt", None),
    ("export", b"/dir/file", b"dir/file", None),
    # --path-kind namespace: the junction's own path is stripped.
    ("namespace", b"/NAS_12_exp5/dir/file", b"dir/file", None),
    ("namespace", b"/NAS_12_exp5/NAS_12_exp5/f", b"NAS_12_exp5/f", None),
])
def test_export_resolver_readings(reading: str | None, raw: bytes, rel: bytes,
                                  alt: bytes | None) -> None:
    target = ExportResolver(["127.0.0.31"], "/NAS_12_exp5", reading).resolve(raw)
    assert target == Target(("127.0.0.31",), b"/NAS_12_exp5", rel, alt)


def test_namespace_reading_refuses_paths_outside_the_junction() -> None:
    out = ExportResolver(["127.0.0.31"], "/NAS_12_exp5", "namespace").resolve(b"/other/f")
    assert isinstance(out, FileResult) and out.outcome is Outcome.FAILED
    assert "not under the export junction /NAS_12_exp5" in out.reason


@pytest.mark.parametrize("raw, words", [
    (b"../etc/passwd", "escapes the export"),
    (b"a/../../b", "escapes the export"),
    (b"/NAS_12_exp5/../x", "escapes the export"),
    (b"a\0b", "NUL"),
    (b"d/" + b"x" * 1025, "1025 bytes"),
])
def test_export_resolver_refuses(res: ExportResolver, raw: bytes, words: str) -> None:
    out = res.resolve(raw)
    assert isinstance(out, FileResult) and out.outcome is Outcome.FAILED
    assert words in out.reason and out.path == raw


def test_export_must_be_sane() -> None:
    assert normalise_export("NAS//x/") == b"/NAS/x"
    with pytest.raises(UsageError):
        normalise_export("/a/../b")
    with pytest.raises(UsageError):
        ExportResolver([], "/x")


@given(st.lists(st.sampled_from([b"a", b"b", b"..", b".", b""]), max_size=12))
def test_resolution_never_leaves_the_export(parts: list[bytes]) -> None:
    out = ExportResolver(["127.0.0.31"], "/j").resolve(b"/".join(parts) or b".")
    if isinstance(out, Target):
        assert b".." not in out.rel.split(b"/") and not out.rel.startswith(b"/")


# --- dedup --------------------------------------------------------------------------------


def test_digest_set_grows_and_dedups() -> None:
    seen = DigestSet(capacity=4)
    values = [digest(b"e", f"p{i}".encode()) for i in range(5000)]
    assert all(seen.add(v) for v in values)
    assert not any(seen.add(v) for v in values[::7])
    assert len(seen) == 5000 and values[123] in seen and digest(b"other") not in seen


# --- results ------------------------------------------------------------------------------


def test_report_line_keeps_every_byte() -> None:
    line = FileResult(b"dir/caf\xe9", Outcome.FAILED, "not found", 0.5, 1, "noent").to_json()
    assert base64.b64decode(line["path_b64"]) == b"dir/caf\xe9"
    assert os.fsencode(line["path"]) == b"dir/caf\xe9"
    json.dumps(line)  # serialisable
    assert "path_b64" not in FileResult(b"ok", Outcome.FLUSHED).to_json()


@pytest.mark.parametrize("outcomes, code", [
    ([], 0),
    ([Outcome.FLUSHED, Outcome.CLEAN, Outcome.SKIPPED], 0),
    ([Outcome.FLUSHED, Outcome.FAILED], 1),
    ([Outcome.UNFINISHED], 1),
    ([Outcome.STARTED], 0),
    ([Outcome.WRITTEN_BACK, Outcome.DIRTY], 1),
    ([Outcome.FLUSHING], 1),
])
def test_exit_codes(outcomes: list[Outcome], code: int) -> None:
    summary = FlushSummary()
    for o in outcomes:
        summary.add(FileResult(b"p", o))
    assert summary.exit_code == code
    summary.interrupted = True
    assert summary.exit_code == 130


def test_backoff_grows_to_cap() -> None:
    it = Backoff(0.02, 2.0, 0.1).delays()
    assert [round(next(it), 3) for _ in range(5)] == [0.02, 0.04, 0.08, 0.1, 0.1]


@pytest.mark.parametrize("kwargs", [
    {"concurrency": 0}, {"timeout": -1}, {"retries": -1}, {"mode": "fast"},
    {"status_only": True, "mode": "sync"}, {"wait": False, "mode": "sync"},
])
def test_bad_options_are_usage_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        FlushOptions(**kwargs).validate()  # type: ignore[arg-type]


# --- handle cache -------------------------------------------------------------------------


def test_handle_cache_shares_one_lookup_and_invalidates_prefixes() -> None:
    async def run() -> None:
        cache = HandleCache(capacity=3)
        calls = 0

        async def loader() -> bytes:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.01)
            return b"fh-a"

        got = await asyncio.gather(*(cache.get_or_load(b"/e", b"a", loader) for _ in range(20)))
        assert got == [b"fh-a"] * 20 and calls == 1
        for p in (b"a/b", b"a/b/c", b"ab"):
            cache.put(b"/e", p, p)
        assert cache.get(b"/e", b"a") is None  # evicted: capacity 3, least recently used
        cache.invalidate(b"/e", b"a/b")
        assert cache.get(b"/e", b"a/b/c") is None and cache.get(b"/e", b"ab") == b"ab"

    asyncio.run(run())


def test_handle_cache_waiter_takes_over_when_the_loader_is_cancelled() -> None:
    async def run() -> None:
        cache = HandleCache()
        started = asyncio.Event()

        async def slow() -> bytes:
            started.set()
            await asyncio.sleep(10)
            return b"never"

        async def fast() -> bytes:
            return b"fh"

        first = asyncio.create_task(cache.get_or_load(b"/e", b"d", slow))
        await started.wait()
        second = asyncio.create_task(cache.get_or_load(b"/e", b"d", fast))
        await asyncio.sleep(0)
        first.cancel()
        assert await asyncio.wait_for(second, 5) == b"fh"

    asyncio.run(run())
