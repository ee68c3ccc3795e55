"""Option groups declared once: a command takes one typed value, Typer sees the options.

A leaf of ``cli/``: it imports nothing of the project, so every option module can use it
without a cycle (``common -> flags -> nfs_options -> common`` was one, #18).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

#: One shared option: (parameter name, type, ``typer.Option(...)``).
OptionSpec = tuple[str, Any, Any]


def grouped_options(
    func: Callable[..., Any], param: str, options: list[OptionSpec],
    build: Callable[..., Any], *, after_arguments: bool = False,
) -> Callable[..., Any]:
    """Wrap a command taking ``param`` (an object holding a group of options) so that Typer
    sees the group's options instead, after the command's own (``after_arguments``: after
    its arguments, before its own options, where --help lists them).

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
    at = len(own)
    if after_arguments:
        from typer.models import ArgumentInfo

        at = next((i for i, p in enumerate(own) if not isinstance(p.default, ArgumentInfo)),
                  len(own))
    # Typer passes every value by keyword, so what follows the group can be keyword-only
    # (a signature allows no positional parameter after a keyword-only one).
    rest = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own[at:]]
    params = own[:at] + added + rest

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        group = build(**{n: kwargs.pop(n) for n in names if n in kwargs})
        return func(*args, **{param: group}, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__qualname__ = func.__qualname__
    wrapper.__doc__ = func.__doc__
    wrapper.__module__ = func.__module__
    wrapper.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=params, return_annotation=inspect.Signature.empty)
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper
