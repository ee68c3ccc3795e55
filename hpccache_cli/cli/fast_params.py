"""Plain option values without pydantic: the start-up cost of a one-file command.

Typer (0.2x) converts every command-line value through a pydantic ``TypeAdapter``, built the
first time a parameter sees a value. The first one imports pydantic, its plugin loader and
``importlib.metadata``: ~65 ms, a fifth of ``hpccache flush-file`` with one file. Our
parameters are plain strings, integers, floats, paths, lists of strings and enum choices, whose
valid values need no schema. :class:`PlainValuesGroup` (the root group's class) gives each
such parameter a converter that returns a *valid* value the way the adapter would and hands
anything else (an out-of-range number, a typo in a choice, an unusual type) to Typer's own
adapter, so every error message stays Typer's, word for word.

This leans on two Typer internals: ``_TyperParameter._runtime_param`` (the lazily built
converter) and ``typer._coercion.RuntimeParam``. If a Typer release renames them, nothing
breaks: parameters keep Typer's adapters (slower start-up, same behaviour), and
tests/test_cli_startup.py, which checks that pydantic stays unimported, says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath
from typing import Any, get_args, get_origin

from typer.core import TyperGroup

try:  # Typer internals (see the module docstring); absent: plain Typer behaviour
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path
except ImportError:  # pragma: no cover - depends on the installed Typer
    RuntimeParam = None  # type: ignore[assignment,misc]

Convert = Callable[[Any, Any], Any]  # (value, click context) -> value; raises when unsure


class _Unsure(Exception):
    """The fast path does not vouch for this value: let Typer's adapter decide."""


def _plain_str(value: Any, ctx: Any) -> str:
    if type(value) is str:
        return value
    raise _Unsure


def _plain_bool(value: Any, ctx: Any) -> bool:
    if type(value) is bool:
        return value
    raise _Unsure


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _int_converter(lo: float | None, hi: float | None) -> Convert:
    def convert(value: Any, ctx: Any) -> int:
        if type(value) is int:
            number = value
        elif type(value) is str and _digits(value):
            number = int(value)
        else:
            raise _Unsure
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise _Unsure  # the adapter words the range error
        return number

    return convert


def _float_converter(lo: float | None, hi: float | None) -> Convert:
    def convert(value: Any, ctx: Any) -> float:
        plain_text = type(value) is str and _digits(value.replace(".", "", 1))
        if not (plain_text or type(value) in (int, float)):
            raise _Unsure
        number = float(value)
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise _Unsure
        return number

    return convert


def _choice_converter(choices: list[Any], case_sensitive: bool) -> Convert:
    def convert(value: Any, ctx: Any) -> Any:
        try:
            return coerce_cli_choice(value, choices=choices, case_sensitive=case_sensitive,
                                     ctx=ctx)
        except ValueError:
            raise _Unsure from None

    return convert


def _path_converter(path_type: type[Any], info: Any) -> Convert:
    def convert(value: Any, ctx: Any) -> Any:
        if type(value) is str:
            value = path_type(value)
        elif not isinstance(value, path_type):
            raise _Unsure
        try:  # Typer's own checks (exists, file_okay, ...); it needs no pydantic for these
            return coerce_cli_path(value, info, path_type=path_type, ctx=ctx)
        except Exception:
            raise _Unsure from None

    return convert


def _list_converter(item: Convert) -> Convert:
    def convert(value: Any, ctx: Any) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            value = [value]
        return [item(v, ctx) for v in value]

    return convert


def converter_for(annotation: Any, info: Any) -> Convert | None:
    """The fast converter for a parameter's annotation, or None: Typer's adapter only."""
    if get_origin(annotation) is list:
        (inner,) = get_args(annotation) or (Any,)
        item = converter_for(inner, info)
        return _list_converter(item) if item is not None else None
    if getattr(info, "parser", None) is not None or getattr(info, "clamp", False):
        return None
    if annotation is str:
        return _plain_str
    if annotation is bool:
        return _plain_bool
    if annotation is int:
        return _int_converter(info.min, info.max)
    if annotation is float:
        return _float_converter(info.min, info.max)
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        path_type = getattr(info, "path_type", None) or annotation
        if isinstance(path_type, type) and issubclass(path_type, PurePath):
            return _path_converter(path_type, info)
        return None
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice_converter(list(annotation), info.case_sensitive)
    return None


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class PlainRuntimeParam(RuntimeParam):
        """Converts with ``convert``; anything it is unsure of goes to Typer's adapter."""

        convert: Convert
        descriptor: Any

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                return self.convert(value, ctx)
            except _Unsure:
                pass
            slow = build_runtime_param(self.descriptor)
            param._runtime_param = slow  # later values go straight to the adapter
            return slow._coerce_value(value, param=param, ctx=ctx)


def _commands(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


def _seed(params: Iterable[Any]) -> int:
    count = 0
    for param in params:
        desc = getattr(param, "type_descriptor", None)
        if desc is None or desc.file_annotation is not None:
            continue
        if getattr(param, "_runtime_param", False) is not None:
            continue  # already built, or not a Typer parameter
        convert = converter_for(desc.annotation, desc.parameter_info)
        if convert is not None:
            param._runtime_param = PlainRuntimeParam(
                parameter_info=desc.parameter_info, annotation=desc.annotation,
                convert=convert, descriptor=desc)
            count += 1
    return count


def use_plain_values(command: Any) -> int:
    """Give every plain parameter of ``command`` and its subcommands a fast converter;
    returns how many got one (0 when the installed Typer lacks the internals)."""
    if RuntimeParam is None:
        return 0
    return sum(_seed(cmd.params) for cmd in _commands(command))


class PlainValuesGroup(TyperGroup):
    """The root group: once Typer has built every command, their parameters get plain
    converters (see the module docstring). Click makes each command's ``--help`` option
    when a command line is parsed (a Typer parameter like the others, whose converter is
    built even when it is not given), so those get theirs on the way, too."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        use_plain_values(self)

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        if RuntimeParam is not None:
            _seed(params)
        return params

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and RuntimeParam is not None:
            _seed(cmd.get_params(ctx))
        return name, cmd, rest


__all__ = ["PlainValuesGroup", "converter_for", "use_plain_values"]
