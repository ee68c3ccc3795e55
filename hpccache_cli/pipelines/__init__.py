"""Building blocks for scripted use and Azure DevOps pipelines.

Each module is independent of the flush engine and of each other, so ``hpccache flush`` can
wire in only what a run asks for:

- :mod:`.vso`: Azure DevOps logging commands (``##vso[...]``) for issues, progress, output
  variables and ``--allow-partial``.
- :mod:`.junit`: a streaming JUnit XML report for ``--junit FILE``.
- :mod:`.shard`: ``--shard K/N`` / ``--shard auto``, a stable split of one input list over the
  parallel jobs of a pipeline.
- :mod:`.term`: whether colour and progress bars may be used (``NO_COLOR``, pipelines, pipes).
- :mod:`.text`: printable, unambiguous renderings of paths for logs and reports.

They consume plain per-file records through the :class:`FileResultLike` protocol rather than the
engine's own class, so the engine can change its result type (or tests can use a tiny
dataclass) without touching this package. The engine's ``FileResult`` (bytes path, str-Enum
outcome) fits as it is.
"""

from __future__ import annotations

import os
from typing import Protocol

# Outcomes a per-file record can carry (the values of hpccache_cli.flush.results.Outcome).
FLUSHED = "flushed"  # written back by this run
CLEAN = "clean"  # nothing to write back
FAILED = "failed"
SKIPPED = "skipped"  # not a file to flush (duplicate, not a regular file, ...)
UNFINISHED = "unfinished"  # the run stopped (interrupt, --timeout) before this file was done
STARTED = "started"  # --no-wait: write-back started, not waited for
WRITTEN_BACK = "written-back"  # --status-only: nothing dirty
FLUSHING = "flushing"  # --status-only: write-back running
DIRTY = "dirty"  # --status-only: dirty, no write-back running
REFRESHED = "refreshed"  # hpccache refresh: the directory was listed
COPIED = "copied"  # hpccache copy: written to the cache (and back)

#: Outcomes that count as success (the engine's OK_OUTCOMES less "skipped", reported apart).
#: Every other outcome but "skipped" is a failure, unknown ones included: a file that is not
#: known to be written back may still be dirty in the cache, so it must not pass silently.
PASS_OUTCOMES: frozenset[str] = frozenset({FLUSHED, CLEAN, STARTED, WRITTEN_BACK, REFRESHED,
                                          COPIED})
#: Counts always reported, even when 0, so pipeline conditions never meet an undefined variable.
BASIC_OUTCOMES: tuple[str, ...] = (FLUSHED, CLEAN, FAILED, SKIPPED, UNFINISHED)


class FileResultLike(Protocol):
    """What this package needs from one file's flush result.

    Read-only attributes, so frozen dataclasses, named tuples and the engine's own class all fit.
    """

    @property
    def path(self) -> str | bytes:
        """The path as the user gave it: raw bytes, or str (may hold surrogate escapes)."""
        ...

    @property
    def outcome(self) -> str:
        """One of the outcome strings above (a str-valued Enum member fits too)."""
        ...

    @property
    def reason(self) -> str | None:
        """Why it failed or was skipped; None or "" when there is nothing to say."""
        ...

    @property
    def seconds(self) -> float:
        """Time spent on this file, all attempts included."""
        ...

    @property
    def attempts(self) -> int:
        """How many flush attempts were made."""
        ...


def outcome_of(result: FileResultLike) -> str:
    """The outcome as a plain string, whether the record holds a str or a str-valued Enum."""
    outcome = result.outcome
    return str(getattr(outcome, "value", outcome))


def is_failure(outcome: str) -> bool:
    """True for outcomes that make a run fail (exit 1): neither passed nor skipped."""
    return outcome not in PASS_OUTCOMES and outcome != SKIPPED


def path_text(path: str | bytes) -> str:
    """A record's path as str: bytes (raw names) are fsdecoded, keeping every byte."""
    return os.fsdecode(path) if isinstance(path, bytes) else path


__all__ = [
    "BASIC_OUTCOMES",
    "CLEAN",
    "DIRTY",
    "FAILED",
    "FLUSHED",
    "FLUSHING",
    "PASS_OUTCOMES",
    "SKIPPED",
    "STARTED",
    "UNFINISHED",
    "WRITTEN_BACK",
    "FileResultLike",
    "is_failure",
    "outcome_of",
    "path_text",
]
