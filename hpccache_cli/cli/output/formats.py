"""The text of each ``-o`` format, laid out as the Azure CLI (knack 0.14) lays it out.

Facts from az's output code, checked byte for byte against ``tests/fixtures/az/``:

- ``json``: keys sorted, two-space indent, ``", "``/``": "`` separators, non-ASCII kept, a
  final newline. ``jsonc`` is the same with colours, and plain JSON when stdout is no terminal.
- ``yaml``: PyYAML's ``safe_dump`` (keys sorted, block style, unicode kept); ``yamlc`` as
  ``jsonc``.
- ``tsv``: one row per item of a list (else one row); a row is an object's values in key order
  (a ``--query`` multiselect keeps the order it asked for), a list's items, or one value; in a
  field a list is its length, an object is empty, ``None`` is ``None``, a bool ``True``/
  ``False`` (a bare bool row is ``true``/``false``).
- ``table``: without a table layout of the command's own, each object's scalar fields (not
  ``id``, ``type``, ``etag``, nor ``None``, lists or objects), keys sorted and capitalised
  (``resourceGroup`` -> ``ResourceGroup``); with ``--query`` in the order given; a list is
  ``Column1..N``, a scalar ``Result``. Columns: tabulate's "simple" style, as wide as the
  longest cell or the header plus two, two spaces apart, cells left-aligned, lines
  right-trimmed.
- ``none``: nothing.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

SKIP_TABLE_KEYS = ("id", "type", "etag")


class _Bytes(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, (bytes, bytearray)):
            return o.decode()
        return json.JSONEncoder.default(self, o)


def as_json(data: Any) -> str:
    source = dict(data) if isinstance(data, OrderedDict) else data
    return (
        json.dumps(
            source, ensure_ascii=False, indent=2, sort_keys=True, cls=_Bytes,
            separators=(",", ": "),
        )
        + "\n"
    )


def as_yaml(data: Any) -> str:
    import yaml

    # safe_dump refuses OrderedDict (a --query multiselect): az goes through JSON, and so do we.
    plain = json.loads(json.dumps(data, cls=_Bytes))
    return str(yaml.safe_dump(plain, default_flow_style=False, allow_unicode=True))


# ---- tsv ----------------------------------------------------------------------------------


def tsv_field(value: Any) -> str:
    """One TSV field: a list is its length, an object an empty field, else ``str(value)``."""
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, dict):
        return ""
    return value if isinstance(value, str) else str(value)


def _tsv_row(item: Any) -> str:
    if isinstance(item, OrderedDict):
        values: Iterable[Any] = item.values()
    elif isinstance(item, dict):
        values = [v for _, v in sorted(item.items())]
    elif isinstance(item, list):
        values = item
    elif isinstance(item, bool):
        return str(item).lower()
    else:
        return tsv_field(item)
    return "\t".join(tsv_field(v) for v in values)


def as_tsv(data: Any) -> str:
    items = data if isinstance(data, list) else [data]
    return "".join(_tsv_row(item) + "\n" for item in items)


# ---- table --------------------------------------------------------------------------------


def _capitalised(key: str) -> str:
    return key[:1].upper() + key[1:]


def _table_item(item: Any, sort_keys: bool) -> OrderedDict[str, Any]:
    entry: OrderedDict[str, Any] = OrderedDict()
    if isinstance(item, dict):
        keys = sorted(item) if sort_keys else list(item)
        for key in keys:
            value = item[key]
            if key in SKIP_TABLE_KEYS or value is None or isinstance(value, (list, dict, set)):
                continue
            entry[_capitalised(str(key))] = value
    elif isinstance(item, list):
        for col, value in enumerate(item):
            entry[f"Column{col + 1}"] = value
    else:
        entry["Result"] = item
    return entry


def layout(rows: list[OrderedDict[str, Any]]) -> str:
    """Rows of ``{header: value}`` as tabulate's "simple" table (what az prints)."""
    if not rows:
        return "\n"
    headers: list[str] = []
    for row in rows:
        headers += [h for h in row if h not in headers]
    if not headers:
        return "\n"
    cells = [[_cell(row.get(h)) for h in headers] for row in rows]
    widths = [
        max([len(h) + 2] + [len(r[i]) for r in cells])
        for i, h in enumerate(headers)
    ]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for row_cells in cells:
        out.append("  ".join(c.ljust(w) for c, w in zip(row_cells, widths, strict=True)).rstrip())
    return "\n".join(out) + "\n"


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def as_table(data: Any, *, query_active: bool, transformed: bool) -> str:
    """``data`` as az's table: its own layout (``transformed``: rows already chosen and
    ordered) or az's automatic one."""
    items = data if isinstance(data, list) else [data]
    rows = [_table_item(item, sort_keys=not (query_active or transformed)) for item in items]
    return layout(rows)


def color_json(text: str) -> str:
    """JSON with colours for a terminal (``jsonc``)."""
    from rich.console import Console
    from rich.json import JSON

    console = Console(force_terminal=True, width=1 << 16)
    with console.capture() as cap:
        console.print(JSON(text))
    return cap.get()


def color_yaml(text: str) -> str:
    """YAML with colours for a terminal (``yamlc``)."""
    from rich.console import Console
    from rich.syntax import Syntax

    console = Console(force_terminal=True, width=1 << 16)
    with console.capture() as cap:
        console.print(Syntax(text.rstrip("\n"), "yaml", background_color="default"))
    return cap.get()
