"""Printable renderings of paths and messages for pipeline logs and JUnit reports.

File names are bytes on Linux. A name that is not valid UTF-8 reaches us as a ``str`` holding
surrogate escapes (``os.fsdecode``), which cannot be written to a UTF-8 log or an XML file at all;
a name holding control characters can break a log line, forge a ``##vso[`` command, or make
XML that no parser accepts. So paths are rendered the way ``ls -b`` does it, with backslash
escapes, and the rendering is *injective*: two different paths never render the same, which
keeps one JUnit test case per input path and lets a user match a report line to a file.

Rendering of a path (:func:`display_name`):

- ``\\`` becomes ``\\\\`` (so the escapes below cannot be confused with a real backslash);
- a byte that is not UTF-8 (surrogate escape U+DC80..U+DCFF) becomes ``\\xNN`` (NN = 80..ff);
- C0 controls and DEL become ``\\xNN`` (NN = 00..1f, 7f), i.e. ``\\xNN`` is always the byte NN;
- C1 controls (U+0080..U+009F), other lone surrogates, U+2028/U+2029 (line breaks to some
  log viewers) and the non-characters U+FFFE/U+FFFF become ``\\uNNNN``.

Free text such as a failure reason goes through :func:`safe_text`: the same, except that
backslashes stay single and newlines/tabs are kept (logging-command and XML escaping carry those).
"""

from __future__ import annotations

import re

# Everything display_name may have to rewrite. Checked first so that the common case (a plain
# path) costs one regex scan and no per-character Python loop.
_NEEDS_ESCAPE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\ufffe\uffff]")
_NEEDS_ESCAPE_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\ufffe\uffff]"
)


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if ch == "\\":
        return "\\\\"
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's surrogate escape for a non-UTF-8 byte
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def display_name(path: str) -> str:
    """Render ``path`` printable, encodable as UTF-8, valid in XML, and still unique."""
    if not _NEEDS_ESCAPE.search(path):
        return path
    return _NEEDS_ESCAPE.sub(lambda m: _escape_char(m.group()), path)


def safe_text(text: str) -> str:
    """Render free text (a reason, a message) encodable and XML-valid, keeping line breaks."""
    if not _NEEDS_ESCAPE_TEXT.search(text):
        return text
    return _NEEDS_ESCAPE_TEXT.sub(lambda m: _escape_char(m.group()), text)


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``"1 path"``, ``"2 paths"``, ``"1,000 paths"``: the count with its noun in the right
    form (``nouns`` when adding "s" is wrong)."""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"
