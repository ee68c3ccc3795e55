"""Pieces every command module shares: error reporting, output-format choice, and option
groups declared once for several commands."""

from __future__ import annotations

import functools
import inspect
import os
import sys
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from hpccache_cli.cli.output.records import RecordFormat as OutputFormat  # old name
from hpccache_cli.cli.output.records import default_format as default_format
from hpccache_cli.errors import UserError, render_error

__all__ = ["OutputFormat", "default_format", "fail", "grouped_options", "reports_errors"]

F = TypeVar("F", bound=Callable[..., Any])


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
            from hpccache_cli.cli.flags import FLAGS

            fail(render_error(exc, FLAGS), exc.exit_code)  # library fields read as flags
        except KeyboardInterrupt:
            typer.echo("hpccache: interrupted", err=True)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # Output piped into `head`: stop quietly, like other Unix tools.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


#: One shared option: (parameter name, type, ``typer.Option(...)``).
OptionSpec = tuple[str, Any, Any]


def grouped_options(
    func: Callable[..., Any], param: str, options: list[OptionSpec],
    build: Callable[..., Any],
) -> Callable[..., Any]:
    """Wrap a command taking ``param`` (an object holding a group of options) so that Typer
    sees the group's options instead, after the command's own.

    The group is declared once (hatch's model) and each command gets one typed object rather
    than six or ten loose parameters; the wrapper builds it with ``build(**values)``.
    """
    names = [name for name, _, _ in options]
    sig = inspect.signature(func)
    hints = typing.get_type_hints(func)
    own = [p.replace(annotation=hints.get(p.name, p.annotation))
           for p in sig.parameters.values() if p.name != param]
    added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
             for n, a, d in options]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        group = build(**{n: kwargs.pop(n) for n in names if n in kwargs})
        return func(*args, **{param: group}, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__qualname__ = func.__qualname__
    wrapper.__doc__ = func.__doc__
    wrapper.__module__ = func.__module__
    wrapper.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=own + added, return_annotation=inspect.Signature.empty)
    wrapper.__annotations__ = {p.name: p.annotation for p in own + added}
    return wrapper
