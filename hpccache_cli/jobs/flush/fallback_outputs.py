"""The per-file records under ``--fallback target-flush``: hold back what the fallback may
change, and write it once the fallback has run, so the records tell what finally happened.

The problem: ``--report``, ``--failed-to`` and ``--junit`` stream one entry per path while the
run goes (a million paths must not mean a million objects in memory), but whether a failed
file was written back after all is known only after the run, when its storage target has been
flushed through Azure. A file covered by a successful target flush listed as failed would be
redone by whoever reads the report or feeds the failed list back.

The choice: hold back only the failures a target flush may cover, on disk. Everything else
(flushed, clean, skipped, unfinished, and failures no target flush can cure: a missing file, a
bad name, no storage target) is written as it happens, exactly as without ``--fallback``. A
coverable failure is counted on its site by
:class:`~hpccache_cli.jobs.flush.fallback.TargetFallback`
and spilled as one JSON line (the report line plus the site's id) to an anonymous temporary
file next to the first record's destination (same disk as the output; ``/tmp`` may be RAM),
falling back to the system temporary directory when that directory refuses one. After the
fallback each spilled result is written to the records once: ``flushed`` (kind
``target-flush``, the reason naming the storage target and the per-file failure) when its
site's target flush succeeded, else unchanged. Memory stays bounded by sites, not by files;
the disk cost is one line per coverable failure, read back once.

Why not rewrite the finished report instead: the failed list carries no failure kind (which
decides whether a target flush covers a file) and its entries cannot always be split back
(a name listed with ``--recursive`` may contain the separator); and a destination may be a
pipe. Held-back entries come last in the records: their order is completion order anyway,
not input order. When the fallback does not run (interrupted, or an error), the held-back
failures are written as they were.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import IO

from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome
from hpccache_cli.flush.sinks import MultiSink, Sink
from hpccache_cli.jobs.flush.fallback import TargetFallback


class HeldOutputs(Sink):
    """The record sinks, with the failures a target flush may cover held back until
    :meth:`release` (see the module docstring). Also the fallback's counting sink."""

    def __init__(
        self, records: Sequence[Sink], fallback: TargetFallback, spill_dir: str | None = None,
    ) -> None:
        self.records = list(records)
        self._out = MultiSink(self.records)  # each record file fails on its own
        self.fallback = fallback
        self.spill_dir = spill_dir
        self.held = 0
        self._spill: IO[str] | None = None
        self._released = False
        # path -> why the check after the target flush did not find it written back
        # (set by hpccache_cli.jobs.flush.fallback_verify; those files stay failed)
        self.verdicts: dict[bytes, str] = {}
        self.note = ""  # said of every covered file when they could not be checked

    def attach(self, summary: FlushSummary) -> None:
        self._out.attach(summary)

    def emit(self, result: FileResult) -> None:
        site_id = self.fallback.take(result)
        if site_id is not None:  # held even with no records: the check needs the paths
            line = result.to_json()
            line["site"] = site_id
            self._spill_file().write(json.dumps(line, separators=(",", ":")) + "\n")
            self.held += 1
            return
        self._out.emit(result)

    def log(self, message: str) -> None:
        self._out.log(message)

    def problems(self) -> list[str]:
        return self._out.problems()

    def notes(self) -> list[str]:
        return self._out.notes()

    def close(self) -> None:
        """Nothing yet: the records stay open until :meth:`release`."""

    def release(self) -> None:
        """Write the held-back results, as the fallback left them, and close the records.
        Call after ``fallback.run`` (or instead of it: nothing is then covered)."""
        if self._released:
            return
        self._released = True
        try:
            if self._spill is not None:
                self._spill.seek(0)
                for line in self._spill:
                    result, site_id = _held(line)
                    flush = self.fallback.covering(site_id)
                    verdict = self.verdicts.get(result.path) if flush is not None else None
                    if flush is not None and verdict is not None:
                        result = FileResult(
                            result.path, Outcome.FAILED,
                            f"{verdict}: the flush of storage target {flush.target} of cache "
                            f"{flush.cache} reported Succeeded, but this file was not written "
                            f"back; the per-file flush had failed: {result.reason}",
                            result.seconds, result.attempts, kind=result.kind)
                    elif flush is not None:
                        result = FileResult(
                            result.path, Outcome.FLUSHED,
                            f"written back by the flush of storage target {flush.target} of "
                            f"cache {flush.cache} (--fallback target-flush); the per-file "
                            f"flush had failed: {result.reason}"
                            + (f" ({self.note})" if self.note else ""),
                            result.seconds, result.attempts, kind="target-flush")
                    self._out.emit(result)
        finally:
            try:
                if self._spill is not None:
                    self._spill.close()
            finally:
                self._out.close()

    def held_results(self) -> Iterator[tuple[FileResult, int]]:
        """The held-back results with their site ids, read back from the spill file."""
        if self._spill is None:
            return
        self._spill.flush()
        self._spill.seek(0)
        for line in self._spill:
            yield _held(line)
        self._spill.seek(0, os.SEEK_END)

    def _spill_file(self) -> IO[str]:
        if self._spill is None:
            try:
                self._spill = tempfile.TemporaryFile(  # noqa: SIM115 - closed by release()
                    "w+", encoding="utf-8", dir=self.spill_dir, prefix=".hpccache-held-")
            except OSError:
                if self.spill_dir is None:
                    raise
                self._spill = tempfile.TemporaryFile(  # noqa: SIM115
                    "w+", encoding="utf-8", prefix=".hpccache-held-")
        return self._spill


def spill_dir_for(destinations: Sequence[str | None]) -> str | None:
    """The directory of the first record's destination (None: the system's temp dir)."""
    for path in destinations:
        if path:
            return os.path.dirname(os.path.abspath(path))
    return None


def _held(line: str) -> tuple[FileResult, int]:
    data = json.loads(line)
    result = FileResult(os.fsencode(data["path"]), Outcome(data["outcome"]), data["reason"],
                        data["seconds"], data["attempts"], data.get("kind", ""))
    return result, int(data["site"])

