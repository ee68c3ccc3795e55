"""Old names of the output renderer, kept as thin aliases (the renderer is
:mod:`hpccache_cli.cli.output`): code written against them keeps working.

``az_shape`` is the one piece with a body of its own: it flattens a REST body (REST casing);
new code hands the SDK model to :func:`hpccache_cli.cli.output.emit` instead, which prints it
with az's casing (``caCertificateUri``, ``cacheSizeGb``) and every null kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpccache_cli.cli.output import Format as AzOutput
from hpccache_cli.cli.output import render, resolve_format

__all__ = ["AzOutput", "az_shape", "render", "resolve_format", "sort_for_tsv"]


def az_shape(body: Mapping[str, Any], resource_group: str | None) -> dict[str, Any]:
    """A REST resource with ``properties`` flattened and ``resourceGroup`` added (REST casing;
    see the module docstring)."""
    out: dict[str, Any] = {}
    for key, val in body.items():
        if key == "properties":
            out.update(val or {})
        else:
            out[key] = val
    out.setdefault("resourceGroup", resource_group)
    return out


def sort_for_tsv(data: Any) -> Any:
    """No longer needed (the renderer sorts as az does); returns ``data`` unchanged."""
    return data
