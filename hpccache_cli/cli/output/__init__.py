"""One output renderer for every command that prints data: ``-o json|jsonc|yaml|yamlc|tsv|
table|none`` and ``--query`` (JMESPath), the way the Azure CLI prints them.

A command hands :func:`emit` its result (SDK models, dicts, lists) and, when it has one, a
table layout of its own (az's "table transformer"); the renderer does the rest, in az's
order: the result becomes az's JSON data (:mod:`.shape`), ``--query`` runs over that, and the
chosen format lays it out (:mod:`.formats`). So ``--query`` lines written for ``az hpc-cache``
work unchanged and print the same bytes.

This module is light (no Typer, no JMESPath, no SDK): option declarations import it at start-up.
"""

from __future__ import annotations

from hpccache_cli.cli.output.choice import Format, resolve_format
from hpccache_cli.cli.output.render import OutputArgs, check_query, emit, render

__all__ = ["Format", "OutputArgs", "check_query", "emit", "render", "resolve_format"]
