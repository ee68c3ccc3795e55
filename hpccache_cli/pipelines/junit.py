"""``--junit FILE``: flush results as a JUnit XML report, one test case per input path.

Azure Pipelines' PublishTestResults@2 (``testResultsFormat: JUnit``) turns this into a Tests tab
with one row per file: failed files show as failed tests with the reason, skipped ones as
skipped, and runs of parallel shard jobs merge into one view.

The shape is the common JUnit one (``testsuites > testsuite > testcase``, children ``failure``
and ``skipped``). Results stream in while files flush, but the counts belong on the
``<testsuite>`` element that comes *first*; so test cases are written to an unnamed temporary
file in the report's directory as they arrive and copied behind the header at :meth:`close`.
Memory stays bounded however long the list is, and the report appears atomically (written
beside the target, then renamed), so a reader never sees half a report.

Outcome mapping: ``flushed``, ``clean``, ``written-back`` and ``started`` (``--no-wait``, noted
in ``<system-out>``) pass; ``skipped`` is skipped; ``failed`` is a failure with the reason, and
so are ``unfinished`` ("interrupted before it finished"), ``dirty``, ``flushing`` and any
outcome this module does not know, because such a file may still be dirty. Names use
:func:`~hpccache_cli.pipelines.text.display_name`, which keeps them valid XML and unique.

A path given twice is flushed once; its repeat is a skipped case (kind ``duplicate``) that
would otherwise carry the same name, and readers that key tests by class and name (Azure
Pipelines, Jenkins) would merge the two rows or drop one. So a repeat is named ``PATH
(duplicate #N)``, N counting the report's repeats: unique among the repeats without
remembering any path (only an input whose own name ends in that very text could meet one).

The suite's ``timestamp`` carries its zone (UTC, ``+00:00``, as pytest writes it): Jenkins'
junit-10.xsd, which tests/junit_schema.py encodes, types it ``xs:string``, so a zone is
allowed, and a reader in another zone no longer takes the UTC time for its local time. (Ant's
older JUnit.xsd forbids a zone; the Jenkins schema does not.)
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from types import TracebackType

from hpccache_cli.errors import UsageError
from hpccache_cli.pipelines import (
    DIRTY,
    FAILED,
    FLUSHING,
    PASS_OUTCOMES,
    SKIPPED,
    STARTED,
    UNFINISHED,
    FileResultLike,
    is_failure,
    outcome_of,
    path_text,
)
from hpccache_cli.pipelines.text import display_name, safe_text


def escape(text: str) -> str:
    """XML character data. ``xml.sax.saxutils`` is imported here, at the first report line:
    at import it brings urllib, http.client, email and ssl, ~40 ms of every flush's
    start-up, though only runs with a JUnit report ever write one."""
    from xml.sax.saxutils import escape as xml_escape

    return xml_escape(text)


def quoteattr(text: str) -> str:
    """An XML attribute value with its quotes (imported late, as :func:`escape`)."""
    from xml.sax.saxutils import quoteattr as xml_quoteattr

    return xml_quoteattr(text)

CLASSNAME = "hpccache.flush"
SUITE_NAME = "hpccache flush"
UNFINISHED_MESSAGE = "interrupted before it finished"
#: The engine's failure kind of an input given again (skipped: flushed once).
DUPLICATE_KIND = "duplicate"
_DEFAULT_MESSAGES = {
    FAILED: "flush failed",
    UNFINISHED: UNFINISHED_MESSAGE,
    DIRTY: "not written back: dirty in the cache",
    FLUSHING: "not written back yet: write-back still running",
}


def _seconds(value: float) -> str:
    """JUnit ``time``: seconds with millisecond precision; never negative, NaN or infinite."""
    if not math.isfinite(value) or value < 0:
        value = 0.0
    return f"{value:.3f}"


class JUnitReport:
    """Streaming JUnit XML writer; use as a context manager or call :meth:`close`.

    Opening fails at once (``UsageError``, exit 2) when the report's directory cannot be
    written, so a wrong ``--junit`` path is reported before hours of flushing, not after.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        suite_name: str = SUITE_NAME,
        classname: str = CLASSNAME,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = os.fspath(path)
        self._dir: str | None = os.path.dirname(os.path.realpath(self.path))
        if os.path.exists(self.path) and not os.path.isfile(self.path):
            self._dir = None  # /dev/stdout, a pipe: written directly; the body waits in TMPDIR
        self._suite_name = quoteattr(safe_text(suite_name))
        self._lock = threading.Lock()
        self._classname = quoteattr(safe_text(classname))
        self._clock = clock
        self._started = clock()
        self._timestamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.tests = self.failures = self.skipped = 0
        self.duplicates = 0  # repeats of an earlier input: their cases are numbered
        self.errors = 0  # nothing maps to <error>: kept for the schema and for readers
        self._closed = False
        try:
            # Lives until close(), so no `with`; unnamed, so nothing is left behind on a crash.
            self._body = tempfile.TemporaryFile(  # noqa: SIM115
                mode="w+", encoding="utf-8", dir=self._dir, prefix=".hpccache-junit-"
            )
        except OSError as exc:
            raise UsageError(
                f"cannot write the JUnit report {self.path}: {exc.strerror or exc}; "
                "give a path in an existing, writable directory"
            ) from None

    def add(self, result: FileResultLike) -> None:
        """Append one file's test case. Thread-safe."""
        outcome = outcome_of(result)
        reason = safe_text(result.reason) if result.reason else None
        name = display_name(path_text(result.path))
        repeat = outcome == SKIPPED and getattr(result, "kind", None) == DUPLICATE_KIND
        if repeat:
            with self._lock:
                self.duplicates += 1
                name = f"{name} (duplicate #{self.duplicates})"
        head = (
            f"<testcase classname={self._classname}"
            f" name={quoteattr(name)}"
            f' time="{_seconds(result.seconds)}"'
        )
        if outcome == STARTED:  # --no-wait: passed, but say that nobody waited for it
            note = "write-back started, not waited for (--no-wait)"
            entry = f"    {head}>\n      <system-out>{note}</system-out>\n    </testcase>\n"
        elif outcome in PASS_OUTCOMES:
            entry = f"    {head}/>\n"
        elif outcome == SKIPPED:
            child = f"<skipped message={quoteattr(reason or 'skipped')}/>"
            entry = f"    {head}>\n      {child}\n    </testcase>\n"
        else:  # failed, unfinished, dirty, flushing, and anything unknown: may still be dirty
            default = _DEFAULT_MESSAGES.get(outcome, f"outcome {safe_text(outcome)}")
            if outcome == UNFINISHED and reason:
                message = f"{UNFINISHED_MESSAGE}: {reason}"
            else:
                message = reason or default
            detail = f"{message}\nattempts: {result.attempts}"
            child = (
                f"<failure message={quoteattr(message)} type={quoteattr(safe_text(outcome))}>"
                f"{escape(detail)}</failure>"
            )
            entry = f"    {head}>\n      {child}\n    </testcase>\n"
        with self._lock:
            if self._closed:
                raise ValueError("JUnit report already closed")
            self._body.write(entry)
            self.tests += 1
            if outcome == SKIPPED:
                self.skipped += 1
            elif is_failure(outcome):
                self.failures += 1

    def close(self, elapsed: float | None = None, *,
              write: Callable[[str], object] | None = None) -> None:
        """Write the report file. ``elapsed`` defaults to the wall-clock time since opening.

        The suite time is wall-clock, not the sum of test case times: files flush
        concurrently, so the sum would overstate how long the run took. With ``write``, the
        document goes to that function, piece by piece, and the caller publishes it (the
        flush command's outputs, which also bound the wait for a FIFO's reader); an error
        it raises propagates.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if elapsed is None:
            elapsed = self._clock() - self._started
        if write is not None:
            try:
                self._render(elapsed, write)
            finally:
                self._body.close()
            return
        # A link is followed (the file it names is replaced, not the link); a target that is
        # not a regular file (/dev/stdout, a pipe) cannot be renamed over: written directly.
        direct = os.path.exists(self.path) and not os.path.isfile(self.path)
        final = self.path if direct else os.path.realpath(self.path)
        tmp = final if direct else os.path.join(
            os.path.dirname(final), f".{os.path.basename(final)}.{os.getpid()}.tmp")
        try:
            # os.open with 0o666 lets the umask decide the report's mode, like any output file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | (0 if direct else os.O_TRUNC), 0o666)
            with open(fd, "w", encoding="utf-8") as out:
                self._render(elapsed, out.write)
            if not direct:
                os.replace(tmp, final)
        except OSError as exc:
            if not direct:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise UsageError(
                f"cannot write the JUnit report {self.path}: {exc.strerror or exc}"
            ) from None
        finally:
            self._body.close()

    def _render(self, elapsed: float, write: Callable[[str], object]) -> None:
        """The whole document: header with the counts, the test cases, the closing tags."""
        # <testsuites> takes name, time, tests, failures and errors only (the common Jenkins
        # JUnit schema, junit-10.xsd); "skipped" belongs on <testsuite>.
        totals = (
            f'tests="{self.tests}" failures="{self.failures}" errors="{self.errors}" '
            f'time="{_seconds(elapsed)}"'
        )
        counts = (
            f'tests="{self.tests}" failures="{self.failures}" errors="{self.errors}" '
            f'skipped="{self.skipped}" time="{_seconds(elapsed)}"'
        )
        write('<?xml version="1.0" encoding="UTF-8"?>\n')
        write(f"<testsuites name={self._suite_name} {totals}>\n")
        write(
            f"  <testsuite name={self._suite_name} {counts}"
            f' timestamp="{self._timestamp}"'
            f" hostname={quoteattr(safe_text(socket.gethostname()))}>\n"
        )
        self._body.flush()
        self._body.seek(0)
        while chunk := self._body.read(1 << 16):
            write(chunk)
        write("  </testsuite>\n</testsuites>\n")

    def __enter__(self) -> JUnitReport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Written even when the run is failing or interrupted: a partial report of what did
        # finish is what the pipeline's Tests tab should show then.
        self.close()


__all__ = ["CLASSNAME", "DUPLICATE_KIND", "SUITE_NAME", "UNFINISHED_MESSAGE", "JUnitReport"]
