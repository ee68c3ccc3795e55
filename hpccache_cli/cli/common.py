"""Pieces every command module shares: error reporting and output-format choice."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

import typer

from hpccache_cli.errors import UserError

F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    tsv = "tsv"


def default_format(fmt: OutputFormat | None) -> OutputFormat:
    """Table on a terminal, JSON when piped (documented in README)."""
    if fmt is not None:
        return fmt
    return OutputFormat.table if sys.stdout.isatty() else OutputFormat.json


def fail(message: str, code: int) -> None:
    """Print one error line and exit with ``code``."""
    typer.echo(f"hpccache: error: {message}", err=True)
    raise typer.Exit(code)


def reports_errors(func: F) -> F:
    """Turn UserError (and OSError) raised by a command into one line plus its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            typer.echo("hpccache: interrupted", err=True)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # Output piped into `head`: stop quietly, like other Unix tools.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
