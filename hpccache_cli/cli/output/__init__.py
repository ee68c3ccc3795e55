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

import sys
from collections.abc import Mapping
from enum import Enum

from hpccache_cli.errors import UsageError


class Format(str, Enum):
    """``-o``: az's formats."""

    table = "table"
    json = "json"
    jsonc = "jsonc"
    yaml = "yaml"
    yamlc = "yamlc"
    tsv = "tsv"
    none = "none"


def resolve_format(explicit: Format | None, environ: Mapping[str, str] | None = None) -> Format:
    """``-o``, else the Azure CLI's configured default, else table on a terminal / JSON piped."""
    if explicit is not None:
        return explicit
    from hpccache_cli.control.az_config import default_output

    configured = default_output(environ)
    if configured:
        try:
            return Format(configured.lower())
        except ValueError:
            raise UsageError(
                f"the Azure CLI's default output format {configured!r} (AZURE_CORE_OUTPUT or "
                "core.output in ~/.azure/config) is not one of "
                f"{', '.join(f.value for f in Format)}; pass -o to choose one"
            ) from None
    return Format.table if sys.stdout.isatty() else Format.json


from hpccache_cli.cli.output.render import (  # noqa: E402 - after Format, which it imports
    OutputArgs,
    check_query,
    emit,
    render,
)

__all__ = ["Format", "OutputArgs", "check_query", "emit", "render", "resolve_format"]
