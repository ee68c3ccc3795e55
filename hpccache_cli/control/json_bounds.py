"""Bounds on JSON that comes from outside (ARM replies, files written from them).

Python's JSON decoder, and the SDK's deserializer after it, recurse once per nesting level: a
reply nested a few thousand levels deep ends in a ``RecursionError`` (a 110-line traceback,
exit 1) instead of an error the user can read. Nothing ARM legitimately sends is deeper than a
dozen levels or larger than a few megabytes, so a reply beyond :data:`MAX_DEPTH` or
:data:`MAX_BYTES` is refused *before* anything parses it, with a reason that says which bound
it broke. The scan is linear and iterative (no recursion of its own): strings are skipped by
one regular expression, then only the brackets are counted.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Deepest nesting of objects/arrays accepted (ARM's deepest payloads are about 10 levels;
#: far below the interpreter's recursion limit of 1000, with room for the SDK's own frames).
MAX_DEPTH = 64
#: Largest body accepted, in bytes (a page of ARM resources is tens of kilobytes).
MAX_BYTES = 16 * 1024 * 1024

#: A JSON string, or an unterminated one up to the end: written so that it always matches once
#: started (no backtracking, linear even on hostile text).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


_OPENING = frozenset(b"[{")


class JsonBoundsError(ValueError):
    """A JSON text too deep or too large to be parsed safely; ``str()`` says which bound.

    A ``ValueError``, so code that already treats unparsable JSON as absent or damaged
    (``except ValueError``) treats this the same way.
    """


def nesting_depth(data: bytes, stop_above: int | None = None) -> int:
    """The deepest object/array nesting in ``data`` (JSON text), counted without recursion;
    the count stops as soon as it passes ``stop_above``.

    Brackets inside strings do not count; unbalanced text gives the deepest level reached
    (the decoder will reject it on its own terms)."""
    depth = deepest = 0
    for char in _NOT_BRACKET.sub(b"", _STRING.sub(b"", data)):
        if char in _OPENING:
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        elif depth:
            depth -= 1
    return deepest


def check(data: bytes | str, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> None:
    """Raise :class:`JsonBoundsError` if ``data`` is larger or deeper than the bounds."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise JsonBoundsError(
            f"it is {len(raw):,} bytes, more than the {max_bytes:,} accepted"
        )
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return  # cannot be deeper than the number of opening brackets: skip the scan
    if nesting_depth(raw, stop_above=max_depth) > max_depth:
        raise JsonBoundsError(f"it nests more than {max_depth} levels deep")


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_BYTES) -> Any:
    """``json.loads`` after :func:`check`: never a ``RecursionError``, never an unbounded
    parse; too deep or too large raises :class:`JsonBoundsError` (a ``ValueError``)."""
    check(data, max_depth=max_depth, max_bytes=max_bytes)
    return json.loads(data)
