"""Typed, range-checked fields of the emulator config: one declaration per field.

The config file is typed by people (and by tests): a port of 70000 used to end in an
OverflowError at bind time, ``per_file_seconds = "fast"`` in a failure of every flush later,
and ``failing_paths = "/NAS/x"`` was walked character by character. So every field of the
config dataclasses is declared with :func:`setting`, which carries a :class:`Check` (its type
and range); :func:`build` converts a TOML table with those checks and turns the first
problem into one :class:`ConfigError` line that names the section, the field and what is
allowed. Adding a checked field is one line::

    verify_every_s: float = setting(number(0, 3600, "seconds"), 0.0)

and a row in docs/emulator-config.md (``tests/test_emulator_config_fields.py`` checks both).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DOC = "docs/emulator-config.md"


class ConfigError(ValueError):
    """The config file is missing, unreadable or describes something impossible."""


@dataclass(frozen=True)
class Check:
    """What one field accepts: ``kind`` (integer, number, string, boolean, list of strings,
    path), an optional range ``lo``..``hi`` (in ``unit``), a set of ``choices``, whether
    ``None`` is allowed (from Python callers: TOML has no null), and ``item``, a function
    that checks (and may normalise) each string of a list, raising ValueError with why."""

    kind: str
    lo: float | None = None
    hi: float | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    optional: bool = False
    item: Callable[[str], str] | None = None
    item_doc: str = ""

    def allowed(self) -> str:
        """What is allowed, in words (the error message and the doc say the same)."""
        article = "an" if self.kind[0] in "aeiou" else "a"
        text = f"{article} {self.kind}"
        if self.choices:
            text = "one of " + ", ".join(self.choices)
        elif self.kind == "string":
            text = self.item_doc or "a non-empty string"
        elif self.lo is not None and self.hi is not None:
            text += f" from {_num(self.lo)} to {_num(self.hi)}"
        elif self.lo is not None:
            text += f" of at least {_num(self.lo)}"
        elif self.hi is not None:
            text += f" of at most {_num(self.hi)}"
        if self.unit:
            text += f" ({self.unit})"
        if self.item_doc and self.kind == "list of strings":
            text += f", each {self.item_doc}"
        return text

    def convert(self, value: Any, base: Path) -> Any:
        """``value`` checked (and normalised); ValueError with the reason if it is not."""
        if value is None and self.optional:
            return None
        if self.kind in ("integer", "number"):
            return self._number(value)
        if self.kind == "boolean":
            if not isinstance(value, bool):
                raise ValueError("")
            return value
        if self.kind == "list of strings":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError("")
            return [self.item(v) if self.item else v for v in value]
        if not isinstance(value, str) or not value:
            raise ValueError("")
        if self.choices and value not in self.choices:
            raise ValueError("")
        if self.kind == "path":
            return (base / value).resolve()
        return self.item(value) if self.item else value

    def _number(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("")
        if self.kind == "integer" and not isinstance(value, int):
            raise ValueError("")
        if not math.isfinite(value):
            raise ValueError("")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise ValueError("")
        return float(value) if self.kind == "number" else value


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def integer(lo: int | None = None, hi: int | None = None, unit: str = "") -> Check:
    return Check("integer", lo, hi, unit)


def number(lo: float | None = None, hi: float | None = None, unit: str = "") -> Check:
    return Check("number", lo, hi, unit)


def text(*choices: str, optional: bool = False, item: Callable[[str], str] | None = None,
         doc: str = "") -> Check:
    """A non-empty string: any, one of ``choices``, or what ``item`` accepts (``doc``)."""
    return Check("string", choices=choices, optional=optional, item=item, item_doc=doc)


def flag() -> Check:
    return Check("boolean")


def strings(item: Callable[[str], str] | None = None, item_doc: str = "") -> Check:
    return Check("list of strings", item=item, item_doc=item_doc)


def path() -> Check:
    return Check("path")


def setting(check: Check, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field checked by ``check`` (no ``default``: the key is required)."""
    meta = {"check": check}
    if isinstance(default, list):
        items = list(default)
        return field(default_factory=lambda: list(items), metadata=meta)
    return field(default=default, metadata=meta)


def checks(cls: type[Any]) -> dict[str, Check]:
    """Each field of config dataclass ``cls`` with its check (fields without one are not read
    from the file: they are filled in by the loader)."""
    return {f.name: f.metadata["check"] for f in dataclasses.fields(cls) if "check" in f.metadata}


def required(cls: type[Any]) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(cls)
        if "check" in f.metadata
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]


def check_keys(section: str, data: dict[str, Any], allowed: set[str] | dict[str, Any]) -> None:
    """Name unknown keys, with the nearest known one when it looks like a typo."""
    unknown = sorted(set(data) - set(allowed))
    if not unknown:
        return
    inside = [k for k in sorted(allowed) if k in unknown[0] or unknown[0] in k]
    near = inside[:1] or difflib.get_close_matches(unknown[0], list(allowed), n=1)
    hint = f" (did you mean {near[0]}?)" if near else ""
    raise ConfigError(
        f"unknown key(s) in [{section}]: {', '.join(unknown)}{hint}; allowed: "
        f"{', '.join(sorted(allowed))} (see {DOC})"
    )


def shown(value: Any) -> str:
    """A value as the file would spell it, cut short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value[:60])
    if isinstance(value, (list, dict)):
        return f"a {'list' if isinstance(value, list) else 'table'} ({len(value)} entries)"
    return str(value)[:60]


def build(cls: type[Any], section: str, data: Any, base: Path) -> Any:
    """An instance of ``cls`` from TOML table ``data``: every key known and checked."""
    if not isinstance(data, dict):
        raise ConfigError(f"[{section}] must be a table, not {shown(data)} (see {DOC})")
    fields = checks(cls)
    check_keys(section, data, fields)
    for key in required(cls):
        if key not in data:
            raise ConfigError(f"[{section}] needs '{key}': {fields[key].allowed()} (see {DOC})")
    values = {}
    for key, value in data.items():
        check = fields[key]
        try:
            values[key] = check.convert(value, base)
        except ValueError as exc:
            why = f": {exc}" if str(exc) else ""
            raise ConfigError(
                f"[{section}] {key} must be {check.allowed()}, not {shown(value)}{why} "
                f"(see {DOC})"
            ) from None
    return cls(**values)
