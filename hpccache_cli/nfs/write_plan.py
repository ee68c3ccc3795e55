"""How a file's bytes go out in WRITE calls: chunking, stability, COMMIT and the verifier.

Pure logic over two callables (send one WRITE, send one COMMIT), so the same rules serve
:meth:`NfsClient.write_file` (one address) and ``hpccache copy`` (each chunk on whichever
mount address is least loaded), and tests can drive it without a server.

The rules (RFC 1813 3.3.7 and 3.3.21):

- Chunks are at most ``chunk`` bytes (the caller passes ``min(FSINFO wtmax, MAX_WRITE)``).
- Data that fits in one chunk goes as one FILE_SYNC WRITE: stored when answered, no COMMIT.
- Larger data goes as UNSTABLE WRITEs, ``parallel`` at once, then one COMMIT. Every WRITE
  reply carries the server's write verifier; a COMMIT whose verifier differs from any of them
  means the server restarted in between and may have lost those bytes: everything is written
  again (at most ``attempts`` rounds, then :class:`VerifierChanged`).
- A short WRITE (``count`` less than sent) is followed by a WRITE of the rest.
- A server may store more stably than asked, never less: a FILE_SYNC answered as UNSTABLE
  is committed like unstable data.
- ``stable_chunks``: every chunk goes FILE_SYNC and no COMMIT is needed. For a caller that
  spreads one file's chunks over several servers (the mount addresses of a cache are separate
  nodes): a COMMIT asks *one* server to store what *it* holds unstable, so unstable chunks
  sent to another node would not be covered by it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from hpccache_cli.nfs.errors import ProtocolError
from hpccache_cli.nfs.nfs3_const import StableHow

#: ``write(offset, count, stable) -> (bytes taken, committed, verifier)``
WriteFn = Callable[[int, int, StableHow], Awaitable[tuple[int, StableHow, bytes]]]
#: ``commit() -> verifier``
CommitFn = Callable[[], Awaitable[bytes]]


class VerifierChanged(ProtocolError):
    """The server's write verifier kept changing between WRITE and COMMIT: it keeps
    restarting (or losing unstable data), and the bytes cannot be known to be stored."""


@dataclass
class WriteStats:
    """What one :func:`write_ranges` did (for tests and the copy's byte counters)."""

    bytes: int = 0  # bytes the server took (each round counted)
    writes: int = 0
    commits: int = 0
    rounds: int = 1


async def write_ranges(
    ranges: Sequence[tuple[int, int]], write: WriteFn, commit: CommitFn, *, chunk: int,
    parallel: int = 4, attempts: int = 3, stable_chunks: bool = False,
) -> WriteStats:
    """Write every ``(offset, length)`` range (see the module docstring); return the stats."""
    if chunk < 1 or parallel < 1 or attempts < 1:
        raise ValueError("chunk, parallel and attempts must be at least 1")
    pieces = [(off + at, min(chunk, length - at))
              for off, length in ranges if length > 0 for at in range(0, length, chunk)]
    stats = WriteStats()
    if not pieces:
        return stats
    single = len(pieces) == 1 or stable_chunks
    for round_no in range(1, attempts + 1):
        stats.rounds = round_no
        verfs: set[bytes] = set()
        levels: set[StableHow] = set()
        queue = list(reversed(pieces))
        stable = StableHow.FILE_SYNC if single else StableHow.UNSTABLE
        workers = [asyncio.ensure_future(_worker(queue, write, stable, stats, verfs, levels))
                   for _ in range(min(parallel, len(pieces)))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        if levels <= {StableHow.FILE_SYNC}:
            return stats
        verf = await commit()
        stats.commits += 1
        if verfs == {verf}:
            return stats
    raise VerifierChanged(
        f"the server's write verifier changed between WRITE and COMMIT in each of {attempts} "
        "rounds (is it restarting?); the data cannot be known to be stored")


async def _worker(queue: list[tuple[int, int]], write: WriteFn, stable: StableHow,
                  stats: WriteStats, verfs: set[bytes], levels: set[StableHow]) -> None:
    """Send the queued pieces one after the other (short writes continued)."""
    while queue:
        offset, count = queue.pop()
        while count > 0:
            taken, committed, verf = await write(offset, count, stable)
            stats.writes += 1
            if taken <= 0 or taken > count:
                raise ProtocolError(
                    f"WRITE of {count} bytes at {offset} answered {taken} bytes taken")
            stats.bytes += taken
            verfs.add(verf)
            levels.add(committed)
            offset, count = offset + taken, count - taken


__all__ = ["CommitFn", "VerifierChanged", "WriteFn", "WriteStats", "write_ranges"]
