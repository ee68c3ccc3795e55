"""Keep file names and messages from forging Azure DevOps logging commands.

The Azure Pipelines agent looks for ``##vso[`` *anywhere* in every line a step writes to stdout
or stderr (``message.IndexOf("##vso[")``: case-sensitive, not only at the start of a line) and
runs what follows as a command; a line split at a bare carriage return counts as two lines. The
log viewer also gives lines starting ``##[`` (``##[error]``, ``##[group]``, ...) a meaning. A file
named ``odd/##vso[task.complete result=Failed;]x.txt`` printed inside an ordinary line
(``failed /odd/##vso[...]x.txt: ...``) would therefore fail the pipeline run, set variables or
upload files.

So under ``TF_BUILD`` the CLI wraps stdout and stderr in a :class:`CommandGuard` that writes the
``[`` of every ``##vso[`` and ``##[`` as ``\\u005b``: the text stays readable, a JSON document
stays valid JSON that decodes to the same string, and in names rendered by
:func:`~hpccache_cli.pipelines.text.display_name` (where a real backslash is ``\\\\``) it cannot
be confused with a name that holds ``\\u005b`` itself. Only :class:`~hpccache_cli.pipelines.vso.
PipelineLog`, which writes our own commands, writes past the guard (:func:`command_stream`), and
it neutralises the data inside its commands with :func:`neutralise` too.

Invisible format characters (zero-width space, joiners, soft hyphen, BOM) inside the prefix are
matched as well: a culture-aware ``IndexOf`` may ignore them.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

# Characters a culture-aware string search may skip over (Unicode "ignorable" format chars).
_IGNORABLE = "[\u00ad\u034f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]*"
_I = _IGNORABLE
#: ``##vso[`` and ``##[``, possibly with ignorable characters between their letters.
PREFIX = re.compile(f"#{_I}#{_I}(?:v{_I}s{_I}o{_I})?\\[")
_SAFE_BRACKET = "\\u005b"
# Longest plausible prefix split over two writes: enough of the last write is kept to see it.
_TAIL = 64


def neutralise(text: str) -> str:
    """``text`` with the ``[`` of every logging-command prefix written as ``\\u005b``."""
    if "#" not in text:
        return text
    return PREFIX.sub(lambda m: m.group()[:-1] + _SAFE_BRACKET, text)


class CommandGuard:
    """A text stream that passes everything to ``inner`` except a logging-command prefix.

    Writes are passed on at once (nothing is held back, so the order with other writers and
    flushes is unchanged); the end of the text written so far is kept so that a prefix split
    over two writes (``"##vs"`` then ``"o[..."``) is caught as well. Every other attribute
    (``encoding``, ``isatty``, ``fileno``, ``buffer``...) is the inner stream's.
    """

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self._tail = ""

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # Click probes with b"" for binary streams
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        tail = self._tail
        # A match always ends in ``text``: the tail, already written, holds no whole prefix.
        out = neutralise(tail + text)[len(tail):] if "#" in tail or "#" in text else text
        self.inner.write(out)
        self._tail = (tail + out)[-_TAIL:]
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.inner.flush()

    @property
    def buffer(self) -> BytesGuard:
        """The binary stream under this one, guarded too: commands that write file names byte
        for byte (``hpccache path``) go through it."""
        guard = self.__dict__.get("_buffer")
        if guard is None:
            guard = self.__dict__["_buffer"] = BytesGuard(self.inner.buffer)
        return guard

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class BytesGuard:
    """:class:`CommandGuard` for a binary stream: bytes are read as UTF-8 with
    ``surrogateescape`` (any byte string round-trips unchanged), neutralised, and written
    back; only the ``[`` of a prefix changes."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._tail = ""

    def write(self, data: Any) -> int:
        raw = bytes(data)
        if not raw:
            return 0
        text = raw.decode("utf-8", "surrogateescape")
        tail = self._tail
        out = neutralise(tail + text)[len(tail):] if "#" in tail or "#" in text else text
        self.inner.write(out.encode("utf-8", "surrogateescape"))
        self._tail = (tail + out)[-_TAIL:]
        return len(raw)

    def flush(self) -> None:
        self.inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def command_stream(stream: TextIO) -> TextIO:
    """Where our own logging commands go: past the guard, if ``stream`` has one."""
    return stream.inner if isinstance(stream, CommandGuard) else stream


def install(sys_module: Any) -> None:
    """Guard ``sys.stdout`` and ``sys.stderr`` (call only under ``TF_BUILD``); idempotent."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys_module, name)
        if stream is not None and not isinstance(stream, CommandGuard):
            setattr(sys_module, name, CommandGuard(stream))


__all__ = ["PREFIX", "BytesGuard", "CommandGuard", "command_stream", "install", "neutralise"]
