"""Waiting on an AMLFS archive or job by the state Azure reports for *it*, not the operation.

Why: a job's create operation ends when the job has *started*, and an archive is a plain POST,
so "the operation succeeded" says nothing about the data. The truth is the job's
``properties.status.state`` (or the file system's ``hsm.archiveStatus``). :func:`follow` reads
it with exactly one status GET per poll interval, hands each reading to a callback (state,
percent or counts, rate, ETA), and stops at an end state or when the time allowed runs out
(:class:`WaitTimeout`: the job goes on in Azure). :func:`outcome_code` maps the end state to
an exit code; a job whose operation succeeded but whose status then says Failed is a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from hpccache_cli.control.amlfs import ENDED, ArchiveProgress, _raw, archive_progress
from hpccache_cli.errors import EXIT_AZURE, EXIT_OK, EXIT_SOME_FAILED

#: End state -> exit code (say so in --help): partial = some files failed (1); a failed or
#: canceled job is Azure's verdict (3).
EXIT_BY_STATE = {"Completed": EXIT_OK, "CompletedPartial": EXIT_SOME_FAILED,
                 "Failed": EXIT_AZURE, "Canceled": EXIT_AZURE, "Disabled": EXIT_OK,
                 "DisableFailed": EXIT_AZURE}


@dataclass(frozen=True)
class Progress:
    """One reading of an archive's or a job's status."""

    what: str
    state: str | None  # None: Azure sent no status (yet)
    percent: float | None = None
    done: int | None = None  # files archived / blobs imported
    walked: int | None = None
    rate: float | None = None  # per second, Azure's figure or ours between two readings
    eta: float | None = None  # seconds
    conflicts: int = 0
    errors: int = 0
    message: str | None = None
    elapsed: float = 0.0
    polls: int = 0

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def counts(self) -> str:
        parts = []
        if self.percent is not None:
            parts.append(f"{self.percent:.0f} %")
        if self.walked is not None:
            parts.append(f"{self.walked} walked")
        if self.done is not None:
            parts.append(f"{self.done} imported")
        if self.conflicts:
            parts.append(f"{self.conflicts} conflicts")
        if self.errors:
            parts.append(f"{self.errors} errors")
        return ", ".join(parts)

    def line(self) -> str:
        """``InProgress, 40 %, 120 imported, 35/s, ETA 12 s`` (for terminals and logs)."""
        parts = [self.state or "no status reported yet"]
        if self.counts():
            parts.append(self.counts())
        if self.rate is not None:
            parts.append(f"{self.rate:.0f}/s")
        if self.eta is not None:
            parts.append(f"ETA {self.eta:.0f} s")
        return ", ".join(parts)


class WaitTimeout(Exception):
    """The time allowed ran out; ``last`` is the last reading (the job goes on)."""

    def __init__(self, last: Progress) -> None:
        super().__init__(last.state or "unknown")
        self.last = last


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def job_progress(job: Any, what: str) -> Progress:
    """A job's status as a reading; an absent or odd status reads as 'no status yet'."""
    status = (_raw(job).get("properties") or {}).get("status")
    if not isinstance(status, dict):
        return Progress(what, None)
    state = status.get("state") if isinstance(status.get("state"), str) else None
    rate = status.get("blobsImportedPerSecond", status.get("rateOfBlobImport"))
    return Progress(
        what, state,
        done=_int(status.get("totalBlobsImported", status.get("totalFilesExported"))),
        walked=_int(status.get("totalBlobsWalked")),
        rate=_int(rate),
        conflicts=_int(status.get("totalConflicts")) or 0,
        errors=_int(status.get("totalErrors", status.get("totalFilesFailed"))) or 0,
        message=status.get("statusMessage") if isinstance(status.get("statusMessage"), str)
        else None,
    )


def archive_reading(fs: Any, what: str, before: ArchiveProgress | None) -> Progress:
    """The archive's status; an entry unchanged since before our POST is 'not started yet'."""
    now = archive_progress(fs)
    if now is None:
        return Progress(what, None)
    if (before is not None and before.ended and now.ended and now.started == before.started
            and now.state == before.state):
        return Progress(what, None, message="the new archive has not started yet")
    message = now.error_message
    if now.error_code and message:
        message = f"{message} ({now.error_code})"
    return Progress(what, now.state, percent=now.percent, message=message)


def follow(
    read: Callable[[], Progress],
    *,
    timeout: float,
    interval: float,
    on_progress: Callable[[Progress], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Progress:
    """Read the status once per ``interval`` until an end state; :class:`WaitTimeout` after
    ``timeout`` seconds. Rate and ETA are filled from successive readings where Azure gives
    none (ETA from the percentage: only an archive has one)."""
    start = clock()
    previous: Progress | None = None
    polls = 0
    while True:
        reading = read()
        polls += 1
        now = clock() - start
        reading = replace(reading, elapsed=now, polls=polls)
        reading = _with_rate(reading, previous)
        if on_progress is not None:
            on_progress(reading)
        if reading.ended:
            return reading
        left = timeout - (clock() - start)
        if left <= 0:
            raise WaitTimeout(reading)
        previous = reading
        sleep(min(interval, left))


def _with_rate(now: Progress, before: Progress | None) -> Progress:
    rate = now.rate
    if (rate is None and before is not None and now.elapsed > before.elapsed
            and now.done is not None and before.done is not None):
        rate = (now.done - before.done) / (now.elapsed - before.elapsed)
    eta = None
    if now.percent is not None and 0 < now.percent < 100 and now.elapsed > 0:
        eta = now.elapsed * (100 - now.percent) / now.percent
    return replace(now, rate=rate, eta=eta)


def outcome_code(reading: Progress) -> int:
    return EXIT_BY_STATE.get(reading.state or "", EXIT_AZURE)


def describe_end(reading: Progress) -> str:
    """One line for how it ended, with the counts and Azure's reason."""
    text = f"{reading.what}: {reading.state}"
    if reading.counts():
        text += f" ({reading.counts()})"
    if reading.message:
        text += f": {reading.message}"
    return text + f" after {reading.elapsed:.1f} s"


def read_archive(client: Any, group: str, name: str, label: str, before: Any) -> Any:
    """One status GET of the file system: its archive, as a reading (what an archive wait
    polls, for ``amlfs archive`` and ``amlfs export --via archive-job`` alike)."""
    return archive_reading(client.aml_filesystems.get(group, name), label, before)
