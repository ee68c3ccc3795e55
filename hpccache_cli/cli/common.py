"""Pieces every command module shares: error reporting (and, under their old names, the
option grouping of :mod:`hpccache_cli.cli.options` and the record formats of
:mod:`hpccache_cli.cli.output.records`)."""

from __future__ import annotations

import functools
import os
import sys
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from hpccache_cli.cli.options.grouping import OptionSpec as OptionSpec
from hpccache_cli.cli.options.grouping import grouped_options as grouped_options
from hpccache_cli.cli.output.records import RecordFormat as OutputFormat  # old name
from hpccache_cli.cli.output.records import default_format as default_format
from hpccache_cli.errors import UserError, render_error

__all__ = [
    "OptionSpec", "OutputFormat", "default_format", "fail", "grouped_options", "reports_errors",
]

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int) -> None:
    """Print one error line and exit with ``code``."""
    typer.echo(f"hpccache: error: {message}", err=True)
    raise typer.Exit(code)


@typing.overload
def reports_errors(func: F) -> F: ...


@typing.overload
def reports_errors(*, command: str | None = None) -> Callable[[F], F]: ...


def reports_errors(func: F | None = None, *, command: str | None = None) -> Any:
    """Turn UserError (and OSError) raised by a command into one line plus its exit code.

    Library fields in the message read as the command's flags: ``@reports_errors`` uses the
    shared table, ``@reports_errors(command="flush-file")`` that command's own names
    (:func:`hpccache_cli.cli.flags.flags_for`).
    """
    if func is None:
        return functools.partial(reports_errors, command=command)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            from hpccache_cli.cli.flags import flags_for

            # library fields read as this command's flags
            fail(render_error(exc, flags_for(command)), exc.exit_code)
        except KeyboardInterrupt:
            typer.echo("hpccache: interrupted", err=True)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # Output piped into `head`: stop quietly, like other Unix tools.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(1) from None

    return wrapper
