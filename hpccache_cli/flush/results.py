"""What happened to each input path, and the run as a whole.

Every input path ends as exactly one :class:`FileResult`. Results stream to sinks as they
happen (a million paths must not mean a million result objects), so the run-level account is a
:class:`FlushSummary` of counters, not a list, unless the caller asks to collect results.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hpccache_cli.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)


class Outcome(str, Enum):
    """The final state of one path. The value is what reports and JSON carry."""

    FLUSHED = "flushed"  # written back by this run
    CLEAN = "clean"  # nothing to write back
    FAILED = "failed"
    SKIPPED = "skipped"  # not a file to flush (duplicate, not a regular file, ...)
    UNFINISHED = "unfinished"  # interrupted before it ended
    STARTED = "started"  # --no-wait: write-back started (or already running)
    WRITTEN_BACK = "written-back"  # --status-only
    FLUSHING = "flushing"  # --status-only: write-back running
    DIRTY = "dirty"  # --status-only: dirty, no write-back running
    REFRESHED = "refreshed"  # hpccache refresh: the directory was listed (READDIRPLUS)
    COPIED = "copied"  # hpccache copy: written to the cache (and back, unless --no-flush)


_VALUES = {o: o.value for o in Outcome}
#: Summary keys that differ from the outcome's value: every key of the ``-o json`` summary is
#: a Python-style name (``summary["written_back"]``, ``jq .written_back``); reports and
#: console lines keep the value ``written-back``. (0.3.x named the key ``written-back``.)
SUMMARY_KEYS = {Outcome.WRITTEN_BACK: "written_back"}
#: Outcomes that are no answer from the cache: they do not count in the rate.
_NO_ANSWER = (Outcome.FAILED, Outcome.SKIPPED, Outcome.UNFINISHED)

#: Outcomes that mean "this path still needs attention": they go to --failed-to.
RETRY_OUTCOMES = frozenset({Outcome.FAILED, Outcome.UNFINISHED})
#: Outcomes that leave the exit code at 0 in each kind of run.
OK_OUTCOMES = frozenset(
    {Outcome.FLUSHED, Outcome.CLEAN, Outcome.SKIPPED, Outcome.STARTED, Outcome.WRITTEN_BACK,
     Outcome.REFRESHED, Outcome.COPIED}
)
#: The outcomes each operation's summary lists (its ``-o json`` keys): a flush never refreshes
#: and a refresh never flushes, so neither lists the other's.
REFRESH_OUTCOMES = (Outcome.REFRESHED, Outcome.SKIPPED, Outcome.FAILED, Outcome.UNFINISHED)
COPY_OUTCOMES = (Outcome.COPIED, Outcome.SKIPPED, Outcome.FAILED, Outcome.UNFINISHED)
FLUSH_OUTCOMES = tuple(o for o in Outcome if o not in (Outcome.REFRESHED, Outcome.COPIED))
#: Failure kind of a file whose export (junction) the cache does not have (MNT3ERR_NOENT):
#: made by the session, watched by the ``--export`` guard (here, so the guard needs no session).
NO_EXPORT = "no-export"


def display_path(raw: bytes) -> str:
    """A printable form of a raw name: undecodable bytes shown as ``\\xNN``, never an error."""
    return raw.decode("utf-8", "backslashreplace")


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(slots=True)
class FileResult:
    """One path's outcome. ``kind`` is a short stable code for grouping (``noent``, ...)."""

    path: bytes
    outcome: Outcome
    reason: str = ""
    seconds: float = 0.0
    attempts: int = 0
    kind: str = ""

    def to_json(self) -> dict[str, Any]:
        """The report line: ``path`` keeps every byte (surrogateescape), plus ``path_b64`` for
        a name that is not UTF-8 or holds a newline."""
        data: dict[str, Any] = {
            "path": os.fsdecode(self.path),
            "outcome": self.outcome.value,
            "reason": self.reason,
            "seconds": round(self.seconds, 6),
            "attempts": self.attempts,
        }
        if self.kind:
            data["kind"] = self.kind
        # base64 too for names a line-based tool would split (a newline: not in --failed-to)
        if b"\n" in self.path or not _is_utf8(self.path):
            import base64  # only for such names: not on every run's start-up

            data["path_b64"] = base64.b64encode(self.path).decode("ascii")
        return data


@dataclass
class FlushSummary:
    """Counters for a run; ``results`` only when the caller asked to collect them."""

    mode: str = "async"  # "refresh" for hpccache refresh, "copy" for hpccache copy
    total: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)  # failure kind -> count
    seconds: float = 0.0
    interrupted: bool = False
    input_complete: bool = False  # the whole input was read (set at end of input)
    input_error: str = ""  # reading the input failed part-way (exit 2)
    output_error: str = ""  # writing results (report, failed list, stderr) failed (exit 2)
    unreachable: bool = False  # no file could reach the cache at all
    unreachable_reason: str = ""
    status_only: bool = False
    # --shard K/N: (k, n), and the input paths left to the other jobs. Those are not this
    # run's input: not in total, no outcome (N jobs would each report the whole list).
    shard: tuple[int, int] | None = None
    outside_shard: int = 0
    results: list[FileResult] | None = None
    # Progress before the input is read to its end: the records the input holds, counted at
    # the start when it can be (a regular file; None for a pipe), and the records read so far.
    expected_input: int | None = None
    input_read: int = 0
    # Directories (--recursive) found and not listed to their end yet: each is still one
    # path in ``total``, so progress never reaches 100 % while one is listed.
    listing: int = 0
    bytes_copied: int = 0  # hpccache copy: data bytes the cache took

    @property
    def mb_per_second(self) -> float:
        """Copy bandwidth in MB/s (10**6 bytes) over the whole run."""
        return self.bytes_copied / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def add(self, result: FileResult) -> None:
        outcome = result.outcome
        self.counts[_VALUES[outcome]] += 1  # (an Enum's .value is a property: slow per file)
        if outcome is Outcome.FAILED:
            self.reasons[result.kind or "failed"] += 1
        if self.results is not None:
            self.results.append(result)

    def count(self, outcome: Outcome) -> int:
        return self.counts.get(outcome.value, 0)

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        return self.count(Outcome.FAILED)

    @property
    def total_estimate(self) -> int | None:
        """The run's total for a progress bar: exact once the input was read to its end;
        before that, from the record count of the input (paths not read yet, scaled by how
        many each read one became: 1 for a plain list, less with --shard, more with
        --recursive); None when the input could not be counted (a pipe), or while
        --recursive lists a directory (how many files it holds is not known until then: a
        percentage of the files found so far would claim 100 % of a listing still running)."""
        if self.listing:
            return None
        if self.input_complete:
            return self.total
        if self.expected_input is None:
            return None
        unread = max(0, self.expected_input - self.input_read)
        if self.input_read:
            unread = round(unread * self.total / self.input_read)
        return max(self.total + unread, self.done)

    @property
    def finished(self) -> int:
        """Paths that reached an end (not ``unfinished``: a Ctrl-C stopped those)."""
        return self.done - self.count(Outcome.UNFINISHED)

    @property
    def answered(self) -> int:
        """Paths the cache gave an answer for: not failed, skipped or unfinished."""
        return self.done - sum(self.counts.get(o.value, 0) for o in _NO_ANSWER)

    @property
    def rate(self) -> float:
        """Answered paths per second (:attr:`answered`): a file that failed, was skipped or
        was cut short by Ctrl-C did no work to count, so a run where every file failed has a
        rate of 0, not the speed at which it failed."""
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """2 results unwritable; 130 interrupted; 2 input unreadable; 4 cache never reached;
        1 some path not done
        (failed, unfinished, or with --status-only not written back); else 0."""
        if self.output_error:
            return EXIT_USAGE
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.input_error:
            return EXIT_USAGE
        if self.unreachable:
            return EXIT_UNREACHABLE
        if any(self.counts.get(o.value, 0) for o in Outcome if o not in OK_OUTCOMES):
            return EXIT_SOME_FAILED
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "mode": "status-only" if self.status_only else self.mode,
            "total": self.total,
            "seconds": round(self.seconds, 3),
            "files_per_second": round(self.rate, 1),
        }
        # Every key always (0, false or null when it does not apply): scripts index them.
        listed = {"refresh": REFRESH_OUTCOMES, "copy": COPY_OUTCOMES}.get(self.mode,
                                                                           FLUSH_OUTCOMES)
        for outcome in listed:
            data[SUMMARY_KEYS.get(outcome, outcome.value)] = self.counts.get(outcome.value, 0)
        if self.mode == "copy":
            data["bytes_copied"] = self.bytes_copied
            data["mb_per_second"] = round(self.mb_per_second, 1)
        data["failure_kinds"] = dict(self.reasons.most_common())
        data["interrupted"] = self.interrupted
        data["input_complete"] = self.input_complete
        data["unreachable"] = self.unreachable
        for key in ("input_error", "output_error", "unreachable_reason"):
            data[key] = getattr(self, key) or None
        data["shard"] = None if self.shard is None else {
            "k": self.shard[0], "n": self.shard[1], "outside": self.outside_shard}
        data["exit_code"] = self.exit_code
        return data

