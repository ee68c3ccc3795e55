"""Azure DevOps logging commands: what ``hpccache flush`` tells the pipeline agent.

The agent scans every line a step writes to stdout; a line that starts with
``##vso[area.action key=value;...]message`` is a command, not log text. Commands give a pipeline
run what a wall of text cannot: failed files listed on the run's summary page, a progress
percentage on the step, output variables with the counts for later steps and jobs, and a
"succeeded with issues" result when ``--allow-partial`` accepts failures.

Escaping follows the agent (``CommandStringConvertor``) and the task library (``taskcommand.ts``):
in the message, ``%`` -> ``%AZP25``, CR -> ``%0D``, LF -> ``%0A``; in a property value also
``]`` -> ``%5D`` and ``;`` -> ``%3B``. ``%`` goes first, so a literal ``%0A`` in a name survives
as ``%AZP250A``. Paths are rendered with :func:`~hpccache_cli.pipelines.text.display_name`
before that, so a file name cannot hold a terminal control sequence or an unencodable byte.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from hpccache_cli.errors import EXIT_OK, EXIT_SOME_FAILED
from hpccache_cli.pipelines import (
    BASIC_OUTCOMES,
    DIRTY,
    FAILED,
    FLUSHING,
    SKIPPED,
    UNFINISHED,
    FileResultLike,
    is_failure,
    outcome_of,
    path_text,
)
from hpccache_cli.pipelines.guard import neutralise
from hpccache_cli.pipelines.text import display_name, plural, safe_text

DEFAULT_MAX_ERRORS = 50
DEFAULT_MAX_WARNINGS = 50
#: Seconds after which task.setprogress is written again even if the percentage did not move.
PROGRESS_EVERY = 10.0

# Output variables always set, in this order (0 when absent), so a later step's condition never
# meets an undefined variable. Other outcomes with a count (started, written_back, ...) follow.
COUNT_VARIABLES: tuple[str, ...] = (*BASIC_OUTCOMES, "total")

_FAILURE_WORDS = {
    FAILED: ("Flush failed", "no reason given"),
    UNFINISHED: ("Flush did not finish", "interrupted before it finished"),
    DIRTY: ("Not written back", "dirty in the cache"),
    FLUSHING: ("Not written back yet", "write-back still running"),
}


def escape_data(text: str) -> str:
    """Escape the message part of a logging command (after the closing ``]``).

    A ``##vso[`` inside the data (a file name) is neutralised too: the agent would not run a
    second command from one line, but the message is shown and may be copied into logs.
    """
    text = text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")
    return neutralise(text)


def escape_property(text: str) -> str:
    """Escape a property value (inside ``[...]``), where ``;`` and ``]`` are syntax."""
    return escape_data(text).replace("]", "%5D").replace(";", "%3B")


def format_command(
    area_action: str,
    properties: Mapping[str, str] | None = None,
    message: str = "",
    *,
    terminate: bool = False,
) -> str:
    """One logging-command line, without the newline: ``##vso[area.action k=v;k=v]message``.

    ``terminate`` adds the ``;`` before ``]`` that Microsoft's documented forms of some commands
    carry (``task.setprogress value=N;]``, ``task.complete result=...;]``). The agent accepts
    both; matching the documented form keeps log searches for it working.
    """
    props = ";".join(f"{k}={escape_property(v)}" for k, v in (properties or {}).items())
    if props and terminate:
        props += ";"
    sep = " " if props else ""
    return f"##vso[{area_action}{sep}{props}]{escape_data(message)}"


def detect(environ: Mapping[str, str]) -> bool:
    """True inside an Azure Pipelines job: the agent sets ``TF_BUILD=True`` for every step."""
    return environ.get("TF_BUILD", "").strip().lower() == "true"


class PipelineLog:
    """Sink that turns per-file results into logging commands on ``stream`` (stdout).

    Lists each file that may still be dirty (failed, unfinished, ...) as an error and each
    skipped file as a warning, up to a cap each, because the run summary becomes useless (and
    the agent slow) with thousands of issues; the rest are counted in one line at
    :meth:`finish`. Thread-safe: every command is written and flushed whole, at the start of a
    line, under one lock. The caller must not leave a partial line on the same stream (no
    ``\\r`` progress bars: see :mod:`hpccache_cli.pipelines.term`).

    ``retry_storm_attempts``: when set, :meth:`on_result` warns about any file that needed at
    least this many attempts. Set it, or call :meth:`retry_storm` from the engine, not both.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        max_errors: int = DEFAULT_MAX_ERRORS,
        max_warnings: int = DEFAULT_MAX_WARNINGS,
        retry_storm_attempts: int | None = None,
        listed_in: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_errors < 0 or max_warnings < 0:
            raise ValueError("caps must be >= 0")
        self._stream = stream
        self._max_errors = max_errors
        self._max_warnings = max_warnings
        self._storm = retry_storm_attempts
        # Where every failed file is listed (e.g. "--report r.jsonl, --junit j.xml"), for the
        # line that counts those over the cap; empty: none was asked for.
        self._listed_in = listed_in
        self._lock = threading.Lock()
        self._errors = 0  # issues written
        self._warnings = 0
        self._errors_unlisted = 0  # issues over the cap, reported by finish()
        self._warnings_unlisted = 0
        self._last_percent: int | None = None
        self._last_done = -1
        self._last_time = -math.inf
        self._clock = clock

    # -- writing --------------------------------------------------------------------------------

    def _write(self, line: str) -> None:
        """Write one command line whole; never raise on a stream that cannot encode it."""
        text = line + "\n"
        try:
            self._stream.write(text)
        except UnicodeEncodeError:  # e.g. a cp1252 console on a Windows agent
            enc = getattr(self._stream, "encoding", None) or "ascii"
            self._stream.write(text.encode(enc, "backslashreplace").decode(enc))
        self._stream.flush()

    def _issue(self, kind: str, message: str) -> None:
        """Write a logissue line if under the cap for ``kind``, else count it. Caller locks."""
        if kind == "error":
            if self._errors >= self._max_errors:
                self._errors_unlisted += 1
                return
            self._errors += 1
        else:
            if self._warnings >= self._max_warnings:
                self._warnings_unlisted += 1
                return
            self._warnings += 1
        self._write(format_command("task.logissue", {"type": kind}, message))

    # -- events ---------------------------------------------------------------------------------

    def on_result(self, result: FileResultLike) -> None:
        """Report one file's final result: failures as errors, skips as warnings, else nothing."""
        outcome = outcome_of(result)
        name = display_name(path_text(result.path))
        reason = safe_text(result.reason) if result.reason else None
        with self._lock:
            if outcome == SKIPPED:
                self._issue("warning", f"Skipped: {name}: {reason or 'no reason given'}")
            elif is_failure(outcome):
                what, default = _FAILURE_WORDS.get(outcome, (f"Flush {outcome}", outcome))
                self._issue("error", f"{what}: {name}: {reason or default}")
        if self._storm is not None and result.attempts >= self._storm:
            self.retry_storm(result.path, result.attempts)

    def retry_storm(self, path: str | bytes, attempts: int) -> None:
        """Warn that one file needed many attempts (the cache kept refusing or timing out)."""
        with self._lock:
            self._issue(
                "warning",
                f"Flush retried {attempts} times: {display_name(path_text(path))} "
                "(the cache kept asking to retry or did not answer in time)",
            )

    def progress(self, done: int, total: int | None) -> None:
        """Set the step's progress percentage: written when the whole percent changes, and
        at least every :data:`PROGRESS_EVERY` seconds while files finish (a long file list
        moves less than 1 % in minutes; the message then still shows DONE/TOTAL moving).

        ``total`` is None while the input list is still being read (paths streamed from stdin
        or ``find``): no percentage is written then, because one computed over the paths known
        so far would run backwards as more arrive. Call again once the total is known. An
        estimated total that grows never makes the percentage go back.
        """
        if total is None or total <= 0:
            return
        percent = max(0, min(100, done * 100 // total))
        now = self._clock()
        with self._lock:
            if self._last_percent is not None:
                percent = max(percent, self._last_percent)
            due = now - self._last_time >= PROGRESS_EVERY and done != self._last_done
            if percent == self._last_percent and not due:
                return
            self._last_percent = percent
            self._last_done = done
            self._last_time = now
            self._write(
                format_command(
                    "task.setprogress",
                    {"value": str(percent)},
                    f"hpccache flush: {done}/{total}",
                    terminate=True,
                )
            )

    def finish(self, summary_counts: Mapping[str, int], allow_partial: bool) -> int:
        """Write the unlisted-issue counts, the output variables and the result; return the exit
        code: 0 when nothing failed or ``allow_partial`` turned failures into
        SucceededWithIssues, else 1. (Interrupted 130 and unreachable 4 are the caller's.)

        ``summary_counts`` maps outcomes to counts (the engine's ``FlushSummary.counts`` fits);
        missing basic ones are 0, ``total`` defaults to the sum. Failures are the counts of
        every outcome that :func:`~hpccache_cli.pipelines.is_failure`: failed, unfinished, and
        in a status-only run dirty and flushing.
        """
        counts: dict[str, int] = dict.fromkeys(BASIC_OUTCOMES, 0)
        total: int | None = None
        for key, value in summary_counts.items():
            name = str(getattr(key, "value", key))
            if name == "total":
                total = int(value)
            else:
                counts[name] = int(value)
        counts["total"] = total if total is not None else sum(counts.values())
        failures = sum(v for k, v in counts.items() if k != "total" and is_failure(k))
        variables = [*COUNT_VARIABLES, *(k for k in counts if k not in COUNT_VARIABLES)]
        with self._lock:
            if self._errors_unlisted:
                self._write(
                    format_command(
                        "task.logissue",
                        {"type": "error"},
                        f"{plural(self._errors_unlisted, 'more failed file')} not listed "
                        + (f"(all of them are in {self._listed_in})" if self._listed_in
                           else "(run with --report FILE or --junit FILE to list all of "
                           "them)"),
                    )
                )
            if self._warnings_unlisted:
                self._write(
                    format_command(
                        "task.logissue",
                        {"type": "warning"},
                        f"{plural(self._warnings_unlisted, 'more warning')} not listed",
                    )
                )
            for name in variables:
                self._write(
                    format_command(
                        "task.setvariable",
                        # Variable names take letters, digits, "." and "_": written-back -> _
                        {"variable": name.replace("-", "_"), "isoutput": "true"},
                        str(counts[name]),
                    )
                )
            if failures == 0:
                return EXIT_OK
            if not allow_partial:
                return EXIT_SOME_FAILED
            self._write(
                format_command(
                    "task.complete",
                    {"result": "SucceededWithIssues"},
                    f"{failures} of {plural(counts['total'], 'file')} "
                    f"{'was' if failures == 1 else 'were'} not flushed (--allow-partial)",
                    terminate=True,
                )
            )
            return EXIT_OK

    @property
    def issues_written(self) -> tuple[int, int]:
        """(errors, warnings) written so far, for tests and the caller's own summary."""
        return self._errors, self._warnings


__all__ = [
    "COUNT_VARIABLES",
    "DEFAULT_MAX_ERRORS",
    "DEFAULT_MAX_WARNINGS",
    "PipelineLog",
    "detect",
    "escape_data",
    "escape_property",
    "format_command",
]
