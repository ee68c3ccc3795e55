"""Whether output may carry colour and live progress (cursor moves, ``\\r`` redraws).

Pipeline logs, CI logs and files keep every byte: an ANSI colour code or a progress bar redrawn
with ``\\r`` turns into noise there, and a redraw leaves a partial line that would hide the next
``##vso[`` logging command (the agent only sees commands at the start of a line). So colour and
progress bars are for interactive terminals only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from hpccache_cli.pipelines.vso import detect


def is_interactive(stream: IO[Any]) -> bool:
    """True when ``stream`` is a terminal (a person is watching it redraw).

    False for pipes, files, closed or detached streams, and objects without ``isatty``.
    """
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def use_color(stream: IO[Any], environ: Mapping[str, str]) -> bool:
    """True when colour codes may be written to ``stream``.

    False when ``NO_COLOR`` is set to anything non-empty (https://no-color.org), when
    ``TERM=dumb``, inside Azure Pipelines (``TF_BUILD=True``: its log is not a terminal even
    when an agent allocates one), or when ``stream`` is not a terminal.
    """
    if environ.get("NO_COLOR", ""):
        return False
    if environ.get("TERM", "") == "dumb":
        return False
    if detect(environ):
        return False
    return is_interactive(stream)


__all__ = ["is_interactive", "use_color"]
