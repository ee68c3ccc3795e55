"""A path command's summary object (``flush``, ``refresh``, ``copy``) in a machine format.

The summary goes through the one renderer (:func:`hpccache_cli.cli.output.render.render`)
for ``--query`` and every format but one: a plain ``-o json`` keeps the bytes it has printed
since 0.1 (the keys in the summary's own order, ``json.dumps(indent=2)``, ASCII escapes),
because README documents that object and scripts compare it; the renderer's JSON sorts keys
as az does. ``-o text`` never comes here (the commands print their sentences), so the text
path imports nothing of this package's renderer (start-up, #18).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def summary_output(data: dict[str, Any], output: str, query: str | None) -> str:
    """The text to print for ``data`` ("" prints nothing: ``-o none`` or a null result).

    ``output`` is the command's ``-o`` value; ``text`` with ``--query`` prints the query's
    result as JSON (a sentence cannot hold a selection), as az prints by default.
    """
    if output == "json" and not query:
        return json.dumps(data, indent=2) + "\n"
    from hpccache_cli.cli.output.choice import Format
    from hpccache_cli.cli.output.render import render

    fmt = Format.json if output == "text" else Format(output)
    try:
        terminal = sys.stdout.isatty()
    except (OSError, ValueError, AttributeError):
        terminal = False
    return render(data, fmt, query=query, terminal=terminal)

