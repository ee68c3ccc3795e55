"""Pure parts of the write path and of ``hpccache copy``, without a server: the write plan's
rules (short writes continued, a FILE_SYNC answered as UNSTABLE committed, bounds on what a
server may answer) and the local rules (where a source goes, what is skipped and why, the
data extents of a sparse file)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from hpccache_cli.flush.copy_local import dest_name, extents, is_sparse, skip_reason
from hpccache_cli.nfs.errors import ProtocolError
from hpccache_cli.nfs.nfs3_const import StableHow
from hpccache_cli.nfs.write_plan import write_ranges

VERF = b"verifier"


class FakeServer:
    """A file in memory that takes at most ``short`` bytes per WRITE and answers with
    ``committed`` (a server may store more stably than asked, never less)."""

    def __init__(self, short: int = 1 << 30, committed: StableHow | None = None) -> None:
        self.data = bytearray()
        self.short = short
        self.committed = committed
        self.calls: list[tuple[int, int, StableHow]] = []
        self.commits = 0

    async def write(self, at: int, count: int, stable: StableHow
                    ) -> tuple[int, StableHow, bytes]:
        self.calls.append((at, count, stable))
        taken = min(count, self.short)
        end = at + taken
        if len(self.data) < end:
            self.data.extend(b"\0" * (end - len(self.data)))
        self.data[at:end] = bytes((at + i) % 251 for i in range(taken))
        return taken, stable if self.committed is None else self.committed, VERF

    async def commit(self) -> bytes:
        self.commits += 1
        return VERF


def run_plan(server: FakeServer, ranges: list[tuple[int, int]], chunk: int,
             parallel: int = 3) -> tuple[int, int]:
    stats = asyncio.run(write_ranges(ranges, server.write, server.commit, chunk=chunk,
                                     parallel=parallel))
    return stats.writes, stats.commits


def test_one_chunk_is_file_sync_and_needs_no_commit() -> None:
    server = FakeServer()
    assert run_plan(server, [(0, 100)], chunk=4096) == (1, 0)
    assert server.calls == [(0, 100, StableHow.FILE_SYNC)]


def test_chunks_are_unstable_then_committed_and_cover_every_byte() -> None:
    server = FakeServer()
    assert run_plan(server, [(0, 10_000)], chunk=4096) == (3, 1)
    assert {s for _, _, s in server.calls} == {StableHow.UNSTABLE}
    assert bytes(server.data) == bytes(i % 251 for i in range(10_000))


def test_short_writes_are_continued() -> None:
    server = FakeServer(short=1000)
    writes, commits = run_plan(server, [(0, 4096), (8192, 100)], chunk=4096)
    assert (writes, commits) == (6, 1)  # 5 for the first chunk, 1 for the second
    assert bytes(server.data[:4096]) == bytes(i % 251 for i in range(4096))
    assert bytes(server.data[8192:8292]) == bytes((8192 + i) % 251 for i in range(100))


def test_a_file_sync_answered_unstable_is_committed() -> None:
    server = FakeServer(committed=StableHow.UNSTABLE)
    assert run_plan(server, [(0, 100)], chunk=4096) == (1, 1)


def test_a_server_claiming_more_bytes_than_sent_is_a_protocol_error() -> None:
    async def liar(at: int, count: int, stable: StableHow) -> tuple[int, StableHow, bytes]:
        return count + 1, stable, VERF

    async def commit() -> bytes:
        return VERF

    with pytest.raises(ProtocolError, match="answered 101 bytes taken"):
        asyncio.run(write_ranges([(0, 100)], liar, commit, chunk=4096))
    with pytest.raises(ValueError):
        asyncio.run(write_ranges([(0, 100)], liar, commit, chunk=0))


def test_where_a_source_goes() -> None:
    assert dest_name(b"run42") == b"run42"
    assert dest_name(b"/data/run42") == b"run42"
    assert dest_name(b"/data/run42/") is None  # the contents go into DEST
    assert dest_name(b"./") is None and dest_name(b".") is None


def test_what_is_skipped_and_why(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    (tmp_path / "l").symlink_to("f")
    os.mkfifo(tmp_path / "p")
    assert skip_reason(b"", (tmp_path / "f").lstat()) is None
    assert skip_reason(b"", tmp_path.lstat()) is None
    link = skip_reason(os.fsencode(tmp_path / "l"), (tmp_path / "l").lstat())
    assert link is not None and "symbolic link (to 'f')" in link
    assert "a FIFO" in (skip_reason(b"", (tmp_path / "p").lstat()) or "")


def test_the_extents_of_a_sparse_file(tmp_path: Path) -> None:
    path = tmp_path / "sparse"
    with open(path, "wb") as f:
        f.write(b"head")
        f.seek(4 << 20)
        f.write(b"middle")
        f.truncate(9 << 20)
    st = path.stat()
    fd = os.open(path, os.O_RDONLY)
    try:
        found = extents(fd, st.st_size)
    finally:
        os.close(fd)
    assert sum(n for _, n in found) < st.st_size  # holes left out (ext4, tmpfs, xfs...)
    assert found[0][0] == 0 and any(o <= 4 << 20 < o + n for o, n in found)
    assert is_sparse(st)


def test_stable_chunks_need_no_commit() -> None:
    """Chunks spread over several servers go FILE_SYNC: no COMMIT could cover them all."""
    server = FakeServer()
    stats = asyncio.run(write_ranges([(0, 10_000)], server.write, server.commit, chunk=4096,
                                     stable_chunks=True))
    assert (stats.writes, stats.commits) == (3, 0)
    assert {s for _, _, s in server.calls} == {StableHow.FILE_SYNC}
