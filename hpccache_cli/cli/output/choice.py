"""``-o``: the format names and how the default is chosen (a leaf of the output package)."""

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
