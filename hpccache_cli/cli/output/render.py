"""Result -> text: az's data shape, then ``--query``, then the format (see the package)."""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from hpccache_cli.errors import UsageError

if TYPE_CHECKING:
    from hpccache_cli.cli.output.choice import Format


class OutputArgs(Protocol):
    """What the renderer needs of a command's options (``AzureArgs`` has both)."""

    @property
    def output(self) -> Format | None: ...

    @property
    def query(self) -> str | None: ...


def check_query(query: str | None) -> Any:
    """Compile ``--query`` before any request: a bad expression is exit 2 with no ARM call."""
    if not query:
        return None
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(query)
    except JMESPathError as exc:
        why = str(exc).splitlines()[0].rstrip(": ")
        pos = getattr(exc, "lex_position", None)
        at = f" at character {pos + 1}" if isinstance(pos, int) else ""
        raise UsageError(
            f"--query {query!r} is not valid JMESPath ({why}{at}); see https://jmespath.org"
        ) from None


def render(
    result: Any,
    fmt: Format,
    *,
    query: str | None = None,
    table: Sequence[Mapping[str, Any]] | None = None,
    extras: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    terminal: bool = False,
) -> str:
    """The text az would print for ``result`` ("" prints nothing).

    ``table`` is the command's own table layout (rows of header -> value, used without
    ``--query``); ``extras`` are fields hpccache adds beyond az's shape (``cache show``'s
    ``storageTargets``): in JSON, YAML and for ``--query``, but not in the columns of a
    plain ``tsv`` or ``table``, which stay az's. For a list, ``extras`` is one mapping per item.
    """
    import hpccache_cli.cli.output.formats as formats
    from hpccache_cli.cli.output.choice import Format
    from hpccache_cli.cli.output.shape import to_az

    data = to_az(result)
    full = data
    if isinstance(extras, Mapping) and isinstance(data, dict):
        full = {**data, **to_az(dict(extras))}
    elif isinstance(extras, Sequence) and isinstance(data, list) and len(extras) == len(data):
        full = [
            {**item, **to_az(dict(more))} if isinstance(item, dict) else item
            for item, more in zip(data, extras, strict=True)
        ]
    compiled = check_query(query)
    if compiled is not None:
        import jmespath

        data = full = compiled.search(full, jmespath.Options(dict_cls=OrderedDict))
    if full is None or fmt is Format.none:
        return ""
    if fmt in (Format.json, Format.jsonc):
        text = formats.as_json(full)
        return formats.color_json(text) if fmt is Format.jsonc and terminal else text
    if fmt in (Format.yaml, Format.yamlc):
        text = formats.as_yaml(full)
        return formats.color_yaml(text) if fmt is Format.yamlc and terminal else text
    if fmt is Format.tsv:
        return formats.as_tsv(data)
    if table is not None and compiled is None:
        return formats.as_table(
            [OrderedDict(row) for row in table], query_active=False, transformed=True
        )
    return formats.as_table(data, query_active=compiled is not None, transformed=False)


def emit(
    args: OutputArgs,
    result: Any,
    headers: Sequence[str] | None = None,
    rows: Sequence[Sequence[Any]] | None = None,
    *,
    extras: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Print ``result`` per ``args.output`` and ``args.query`` on stdout.

    ``headers`` and ``rows`` are the command's own table (kept for callers written before
    this renderer); without them ``-o table`` is az's automatic table.
    """
    from hpccache_cli.cli.output.choice import resolve_format

    fmt = resolve_format(args.output)
    table = None
    if headers is not None and rows is not None:
        table = [OrderedDict(zip(headers, row, strict=False)) for row in rows]
    text = render(
        result, fmt, query=args.query, table=table, extras=extras, terminal=sys.stdout.isatty()
    )
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()
