"""Output the way ``az`` prints it, so ``az hpc-cache`` users' ``--query`` lines keep working.

Three things matter to a script written for ``az hpc-cache show``:

- the shape: ``az`` prints a resource with its ``properties`` flattened into the top level
  (``mountAddresses``, ``cacheSizeGb``, ``health``, ``provisioningState``, ``junctions``...) and
  ``resourceGroup`` added; :func:`az_shape` builds that from the REST JSON;
- the formats ``json jsonc yaml yamlc table tsv none``, with ``tsv`` printing one row per object
  (the object's values sorted by key, a nested list as its length, a nested object as an empty
  field), one row per item of a list;
- a ``--query`` that matches nothing on one object prints nothing at all.

The default format follows ``-o``, then the Azure CLI's own setting (``AZURE_CORE_OUTPUT`` or
``[core] output``), then a table on a terminal and JSON when piped.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from enum import Enum
from typing import Any

from hpccache_cli.errors import UsageError


class AzOutput(str, Enum):
    table = "table"
    json = "json"
    jsonc = "jsonc"
    yaml = "yaml"
    yamlc = "yamlc"
    tsv = "tsv"
    none = "none"


#: REST property names that ``az`` prints differently (it camel-cases the SDK's Python names).
_AZ_KEYS = {"cacheSizeGB": "cacheSizeGb"}


def resolve_format(explicit: AzOutput | None, environ: Mapping[str, str] | None = None) -> AzOutput:
    """``-o``, else the Azure CLI's configured default, else table on a terminal / JSON piped."""
    if explicit is not None:
        return explicit
    from hpccache_cli.control.az_config import default_output

    configured = default_output(environ)
    if configured:
        try:
            return AzOutput(configured)
        except ValueError:
            raise UsageError(
                f"the Azure CLI's default output format {configured!r} (AZURE_CORE_OUTPUT or "
                "core.output in ~/.azure/config) is not one of "
                f"{', '.join(f.value for f in AzOutput)}; pass -o to choose one"
            ) from None
    return AzOutput.table if sys.stdout.isatty() else AzOutput.json


def az_shape(body: Mapping[str, Any], resource_group: str | None) -> dict[str, Any]:
    """A REST resource as ``az`` prints it: ``properties`` flattened, ``resourceGroup`` added."""
    out: dict[str, Any] = {}
    for key, val in body.items():
        if key == "properties":
            for pkey, pval in (val or {}).items():
                out[_AZ_KEYS.get(pkey, pkey)] = pval
        else:
            out[key] = val
        if key == "name":
            out["resourceGroup"] = resource_group
    out.setdefault("resourceGroup", resource_group)
    return out


def render(data: Any, fmt: AzOutput) -> str:
    """``data`` (the JSON form) in one of the non-table formats; "" prints nothing."""
    if fmt is AzOutput.none or data is None:
        return ""
    if fmt in (AzOutput.json, AzOutput.jsonc):
        text = json.dumps(data, indent=2, default=str) + "\n"
        return _color_json(text) if fmt is AzOutput.jsonc and sys.stdout.isatty() else text
    if fmt in (AzOutput.yaml, AzOutput.yamlc):
        return "\n".join(_yaml(data, 0)) + "\n"
    if fmt is AzOutput.tsv:
        items = data if isinstance(data, list) else [data]
        return "".join(_tsv_row(item) + "\n" for item in items)
    raise ValueError(fmt)


# ---- tsv ----------------------------------------------------------------------------------------


def _tsv_field(value: Any) -> str:
    """One field as ``az -o tsv`` writes it: a list is its length, an object an empty field."""
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, dict):
        return ""
    return value if isinstance(value, str) else str(value)


def _tsv_row(item: Any) -> str:
    """An object's values sorted by key (a ``--query`` multiselect keeps its own order, since
    JMESPath returns those keys in the order asked), a list's items, or one scalar."""
    if isinstance(item, dict):
        return "\t".join(_tsv_field(v) for v in item.values())
    if isinstance(item, list):
        return "\t".join(_tsv_field(v) for v in item)
    if isinstance(item, bool):
        return str(item).lower()
    return _tsv_field(item)


def sort_for_tsv(data: Any) -> Any:
    """Sort objects' keys (``az`` does, except for a ``--query`` multiselect's own keys)."""
    if isinstance(data, dict):
        return {k: data[k] for k in sorted(data)}
    if isinstance(data, list):
        return [sort_for_tsv(d) if isinstance(d, dict) else d for d in data]
    return data


# ---- yaml (a small emitter for JSON data: no PyYAML dependency for one output format) -------

_PLAIN = re.compile(r"^[A-Za-z0-9_/][A-Za-z0-9_./@+-]*( [A-Za-z0-9_./@+()-]+)*$")
#: Plain text a YAML reader would take for a number or a date: quoted instead.
_NOT_TEXT = re.compile(r"^([-+]?[0-9._]+([eE][-+]?[0-9]+)?|0[xo][0-9a-fA-F]+|\d{4}-\d\d?-\d\d?.*)$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not (
        _NOT_TEXT.match(text) and text.count(".") <= 1
    ):
        return text
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def _yaml(data: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(data, dict):
        if not data:
            return [pad + "{}"]
        lines: list[str] = []
        for key, val in data.items():
            head = f"{pad}{_yaml_scalar(key)}:"
            if isinstance(val, (dict, list)) and val:
                lines.append(head)
                lines += _yaml(val, indent + 2 if isinstance(val, dict) else indent)
            else:
                lines.append(f"{head} {_yaml_inline(val)}")
        return lines
    if isinstance(data, list):
        if not data:
            return [pad + "[]"]
        lines = []
        for item in data:
            if isinstance(item, (dict, list)) and item:
                inner = _yaml(item, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines += inner[1:]
            else:
                lines.append(f"{pad}- {_yaml_inline(item)}")
        return lines
    return [pad + _yaml_scalar(data)]


def _yaml_inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)


def _color_json(text: str) -> str:
    """JSON with colours for a terminal (``jsonc``); piped, ``jsonc`` is plain JSON, as in az."""
    from rich.console import Console
    from rich.json import JSON

    console = Console(force_terminal=True, width=1 << 16)
    with console.capture() as cap:
        console.print(JSON(text))
    return cap.get()
