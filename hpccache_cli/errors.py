"""Errors the user sees, with the exit code each one means.

Anything raised as a :class:`UserError` reaches the terminal as one line on stderr
(``hpccache: error: ...``) with its exit code, never as a traceback. Messages say what is wrong
and what to do next.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_AZURE = 3
EXIT_UNREACHABLE = 4
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A problem to report in one line, with an exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(UserError):
    """Bad options or input (exit 2)."""

    exit_code = EXIT_USAGE


class AzureError(UserError):
    """Azure Resource Manager refused or failed (exit 3)."""

    exit_code = EXIT_AZURE

