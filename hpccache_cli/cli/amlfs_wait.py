"""How ``hpccache amlfs`` shows a wait: terminal, job script, or Azure Pipelines.

The wait itself is the library's (:func:`hpccache_cli.control.aml_wait.follow`: one status GET
per poll interval, bounded). Here each reading becomes:

- on a terminal: one status line on stderr, redrawn (state, percent or counts, rate, ETA);
- in Azure Pipelines (``TF_BUILD``): ``##vso[task.setprogress]`` when the percentage moves,
  and at the end a warning per kind of trouble (conflicts, errors) and output variables
  ``AMLFS_STATE``, ``AMLFS_PERCENT``, ``AMLFS_IMPORTED``, ``AMLFS_CONFLICTS``, ``AMLFS_ERRORS``;
- in a job script (stderr not a terminal): one line per change of state once the wait has
  lasted :data:`ANNOUNCE_AFTER` seconds (a short wait prints only its outcome).

A timeout or Ctrl-C leaves the job running in Azure and says which commands show or cancel it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TextIO

from hpccache_cli.control.aml_wait import (
    Progress,
    WaitTimeout,
    describe_end,
    follow,
    outcome_code,
)
from hpccache_cli.errors import EXIT_AZURE, EXIT_INTERRUPTED, UserError

#: Seconds after which a job script's log gets a line per change of state.
ANNOUNCE_AFTER = 2.0


class WaitReport:
    """The progress callback for :func:`follow`, and the end-of-wait lines."""

    def __init__(self, label: str, *, out: TextIO | None = None, err: TextIO | None = None,
                 environ: dict[str, str] | None = None) -> None:
        from hpccache_cli.cli.az_logging import only_errors
        from hpccache_cli.pipelines.vso import detect

        self.label = label
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        env = dict(os.environ) if environ is None else environ
        self.pipeline = detect(env)
        self.quiet = only_errors()
        self.terminal = not self.pipeline and not self.quiet and self.err.isatty()
        self._last_state: str | None = "-"
        self._last_percent: int | None = None
        self._drawn = False
        self.readings = 0

    def __call__(self, reading: Progress) -> None:
        self.readings += 1
        if self.quiet:
            return
        if self.pipeline:
            percent = int(reading.percent) if reading.percent is not None else None
            if percent is not None and percent != self._last_percent:
                self._vso("task.setprogress", {"value": str(percent)},
                          f"{self.label}: {reading.line()}", terminate=True)
                self._last_percent = percent
            elif reading.state != self._last_state:
                self.out.write(f"{self.label}: {reading.line()}\n")
        elif self.terminal:
            self.err.write(f"\r\x1b[K{self.label}: {reading.line()} ({reading.elapsed:.0f} s)")
            self._drawn = True
        elif reading.state != self._last_state and reading.elapsed >= ANNOUNCE_AFTER:
            self.err.write(f"{self.label}: {reading.line()} ({reading.elapsed:.0f} s)\n")
        elif reading.elapsed < ANNOUNCE_AFTER:
            return  # a short wait needs no announcement: its state shows when it is long
        self._last_state = reading.state
        self.err.flush()

    def clear(self) -> None:
        if self._drawn:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self._drawn = False

    def _vso(self, area: str, props: dict[str, str], message: str = "",
             terminate: bool = False) -> None:
        from hpccache_cli.pipelines.guard import command_stream
        from hpccache_cli.pipelines.vso import format_command

        stream = command_stream(self.out)  # our own commands pass the TF_BUILD guard
        self.out.flush()  # keep the order with what went through the guard
        stream.write(format_command(area, props, message, terminate=terminate) + "\n")
        stream.flush()

    def finish(self, reading: Progress) -> None:
        """Warnings and output variables in a pipeline; nothing elsewhere."""
        self.clear()
        if not self.pipeline:
            return
        if reading.conflicts:
            self._vso("task.logissue", {"type": "warning"},
                      f"{self.label}: {reading.conflicts} conflict(s)")
        if reading.errors:
            self._vso("task.logissue", {"type": "warning"},
                      f"{self.label}: {reading.errors} error(s)")
        if reading.state not in ("Completed", "Disabled"):
            self._vso("task.logissue", {"type": "error"}, describe_end(reading))
        values = {"AMLFS_STATE": reading.state or "", "AMLFS_PERCENT": _num(reading.percent),
                  "AMLFS_IMPORTED": _num(reading.done), "AMLFS_CONFLICTS": str(reading.conflicts),
                  "AMLFS_ERRORS": str(reading.errors)}
        for name, val in values.items():
            self._vso("task.setvariable", {"variable": name, "isOutput": "true"}, val)


def _num(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


def wait_and_report(read: Callable[[], Progress], report: WaitReport, *, timeout: float,
                    interval: float, show: str, cancel: str | None) -> Progress:
    """Follow to the end; a timeout or Ctrl-C (SIGTERM, SIGHUP) raises one line naming the
    show/cancel commands."""
    after = f"; show it: {show}" + (f"; cancel it: {cancel}" if cancel else "")
    from hpccache_cli.jobs.flush.interrupts import signals_as_ctrl_c

    try:
        with signals_as_ctrl_c():  # SIGTERM, SIGHUP: the same line as Ctrl-C, exit 130
            end = follow(read, timeout=timeout, interval=interval, on_progress=report)
    except WaitTimeout as exc:
        report.clear()
        raise UserError(
            f"{report.label} did not end within {timeout:g} s (--timeout; last: "
            f"{exc.last.line()}); it is still running in Azure{after}", EXIT_AZURE) from None
    except KeyboardInterrupt:
        report.clear()
        raise UserError(f"interrupted; {report.label} is still running in Azure{after}",
                        EXIT_INTERRUPTED) from None
    except UserError:
        report.clear()
        raise
    except Exception as exc:  # noqa: BLE001 - losing track is not the job failing
        report.clear()
        if not report.readings:
            raise  # the first read failed: not found, no access... (the caller says which)
        raise UserError(f"lost track of {report.label} ({_why(exc)}); it may still be "
                        f"running in Azure{after}", EXIT_AZURE) from None
    report.finish(end)
    return end


def _why(exc: BaseException) -> str:
    """A failed status read in a few words (an HTTP answer, or no answer at all)."""
    status = getattr(exc, "status_code", None)
    if status:
        from hpccache_cli.control.arm_errors import error_parts

        code, message = error_parts(exc)
        return f"a status request answered HTTP {status}" + (f" {code}" if code else "") + (
            f": {message[:200]}" if message else "")
    return f"a status request failed: {' '.join(str(exc).split())[:200]}"


def end_or_fail(end: Progress) -> None:
    """Exit 0 for Completed; otherwise one line with the counts and Azure's reason."""
    code = outcome_code(end)
    if code:
        raise UserError(describe_end(end), code)
    sys.stderr.write(describe_end(end) + "\n")
