"""``hpccache path``: where a client path is in the cache, and back.

The local -> namespace part reads only the mount table, so it works with no Azure access and
makes no network call; junction, storage target and back-end path need a cache layout
(``--layout FILE``, or ``--cache``/``--discover``, which read the resolution cache first).
Paths travel as bytes-faithful ``str`` (surrogateescape) and are written back as the same bytes.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, BinaryIO

import typer

from hpccache_cli.cli.azure_options import AzureArgs, azure_command
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.help.path import HELP
from hpccache_cli.cli.options import resources
from hpccache_cli.cli.output.records import RecordFormat as OutputFormat
from hpccache_cli.cli.output.records import default_format, record_field
from hpccache_cli.errors import EXIT_OK, EXIT_SOME_FAILED, UsageError

if TYPE_CHECKING:  # imported when the command runs: other commands start without them
    from hpccache_cli.control.resolve import CacheRef
    from hpccache_cli.layout import CacheLayout
    from hpccache_cli.paths.mountinfo import MountTable
    from hpccache_cli.paths.translate import Translation


# fmt: off
PATH_KEYS = (
    "input", "kind", "client_path", "exists_locally", "mount_point", "mount_source",
    "cache_address", "namespace_path", "cache", "junction", "storage_target", "target_type",
    "usage_model", "backend_path", "note", "error",
)
TSV_PATH = (
    "input", "client_path", "mount_point", "cache_address", "namespace_path", "junction",
    "storage_target", "usage_model", "backend_path", "error",
)
TSV_LOCAL = (
    "input", "namespace_path", "client_path", "mount_point", "cache_address", "error",
)
# fmt: on


# --- Azure ---------------------------------------------------------------------------------------
# Imported inside the functions, so `hpccache path` without Azure options never loads the control
# package (nor, through it, the Azure SDK).


def get_layout(az: AzureArgs, ref: CacheRef) -> CacheLayout:
    """The layout of ``ref`` (the resolution cache, else ARM)."""
    from hpccache_cli.control.resolve import get_layout as fetch

    return fetch(az.settings(ref.subscription_id), ref.resource_group, ref.name, refresh=az.refresh)


def discoverer(az: AzureArgs) -> Callable[[Translation], CacheLayout | None]:
    """``--discover``: the subscription's cache that has the mount's address, once per address."""
    from hpccache_cli.control.resolve import discover_by_address
    from hpccache_cli.paths import mount_addresses

    settings = az.settings()
    found: dict[str, CacheLayout | None] = {}

    def lookup(t: Translation) -> CacheLayout | None:
        key = t.cache_address or ""
        if key not in found:
            # A host name is resolved here (and only here): --discover is a network call anyway.
            addresses = mount_addresses(t.mount) if t.mount is not None else ()
            found[key] = next(
                filter(
                    None, (discover_by_address(settings, a, refresh=az.refresh) for a in addresses)
                ),
                None,
            )
        return found[key]

    return lookup


def cached_lookup() -> Callable[[Translation], CacheLayout | None]:
    """Without Azure options: layouts already in the resolution cache, by literal mount address.

    No network call: host names are not resolved here, and nothing is asked of ARM.
    """
    from hpccache_cli.control.resolve import cached_layout_for_address

    found: dict[str, CacheLayout | None] = {}

    def lookup(t: Translation) -> CacheLayout | None:
        key = t.cache_address or ""
        if key not in found:
            found[key] = cached_layout_for_address(key)
        return found[key]

    return lookup


def load_layouts(path: str) -> list[CacheLayout]:
    """A ``--layout`` file: one ``CacheLayout.to_dict()`` object, or a list of them."""
    from hpccache_cli.control import json_bounds
    from hpccache_cli.layout import CacheLayout

    try:
        with open(path, "rb") as fh:
            data = json_bounds.loads(fh.read())  # bounded: no RecursionError on a deep file
        items = data if isinstance(data, list) else [data]
        return [CacheLayout.from_dict(item) for item in items]
    except OSError as exc:
        raise UsageError(f"cannot read layout {path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{path} is not a cache layout (JSON of CacheLayout.to_dict()): {exc}"
        ) from None


# --- input -----------------------------------------------------------------------------------


def read_inputs(paths: list[str] | None, from_file: str | None, null: bool) -> list[str]:
    """PATH arguments, then --from-file (``-`` = stdin), else piped stdin; bytes kept."""
    out = list(paths or [])
    stream: BinaryIO | None = None
    if from_file == "-" or (from_file is None and not out and not sys.stdin.isatty()):
        stream = sys.stdin.buffer
    if from_file not in (None, "-"):
        try:
            with open(from_file, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {from_file}: {exc.strerror or exc}") from None
    else:
        data = stream.read() if stream is not None else b""
    out.extend(os.fsdecode(p) for p in data.split(b"\0" if null else b"\n") if p)
    if not out:
        raise UsageError("no paths: give PATH arguments, --from-file FILE, or pipe them on stdin")
    return out


# --- output ----------------------------------------------------------------------------------


def _display(value: Any) -> str:
    """Printable text for a terminal: undecodable bytes shown as \\xNN, not as a crash."""
    return os.fsencode("" if value is None else str(value)).decode("utf-8", "backslashreplace")


def _human(rec: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines of one record for people: only what is known, paths unwrapped."""
    if "local_paths" in rec:  # --to-local
        lines = [
            ("client path", f"{m['client_path']}  ({m['mount_source']} at {m['mount_point']})")
            for m in rec["matches"]
        ]
    else:
        both = [
            ("client path", rec["client_path"] if rec["client_path"] != rec["input"] else None),
            ("mount point", rec["mount_point"]),
            ("mount source", rec["mount_source"]),
            ("cache address", rec["cache_address"]),
            ("namespace path", rec["namespace_path"]),
            ("cache", rec["cache"]),
            ("junction", rec["junction"]),
            ("storage target", rec["storage_target"]),
            ("usage model", rec["usage_model"]),
            ("back-end path", rec["backend_path"]),
            ("note", rec["note"]),
        ]
        lines = [(k, v) for k, v in both if v is not None]
    if rec["error"]:
        lines.append(("error", rec["error"]))
    return [(k, _display(v)) for k, v in lines]


def write_records(
    records: list[dict[str, Any]], fmt: OutputFormat, columns: Iterable[str]
) -> None:
    """JSON and TSV as bytes (paths are written back byte for byte); table for people."""
    out = sys.stdout.buffer
    cols = tuple(columns)
    if fmt is OutputFormat.json:
        out.write(b"[")
        for i, rec in enumerate(records):
            out.write((",\n  " if i else "\n  ").encode() + json.dumps(rec).encode())
        out.write(b"\n]\n" if records else b"]\n")
    elif fmt is OutputFormat.tsv:
        out.write(("\t".join(cols) + "\n").encode())
        for rec in records:
            out.write(os.fsencode("\t".join(record_field(rec.get(c)) for c in cols) + "\n"))
    elif sys.stdout.isatty():
        _rich_blocks(records)
    else:
        for rec in records:
            lines = [_display(rec["input"])] + [f"  {k:<15} {v}" for k, v in _human(rec)]
            out.write(("\n".join(lines) + "\n").encode())
    out.flush()


def _rich_blocks(records: list[dict[str, Any]]) -> None:
    """One block per path, on a terminal: a table with a column per key would not fit."""
    from rich.console import Console
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    console = Console()
    for rec in records:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for key, value in _human(rec):
            grid.add_row(key, Text(value, style="red" if key == "error" else ""))
        console.print(Text(_display(rec["input"]), style="bold red" if rec["error"] else "bold"))
        console.print(Padding(grid, (0, 0, 0, 2)))


# --- the command -----------------------------------------------------------------------------


def _path_records(
    translations: list[Translation],
    layouts: list[CacheLayout],
    lookup: Callable[[Translation], CacheLayout | None] | None,
    must_find: bool,
) -> list[dict[str, Any]]:
    """One JSON-ready record per translation, enriched from ``layouts`` or ``lookup``."""
    from hpccache_cli import paths  # (its junction code loads when a layout is used)

    records = []
    for t in translations:
        rec = dict.fromkeys(PATH_KEYS)
        rec.update(t.to_dict())
        layout = None
        if t.ok and t.mount is not None:
            if layouts:
                layout = layouts[0] if len(layouts) == 1 else paths.pick_layout(t, layouts)
                if layout is None:
                    known = ", ".join(x.name for x in layouts)
                    rec["error"] = f"mounted from {t.cache_address}, not a mount address of {known}"
            elif lookup is not None:
                layout = lookup(t)
                if layout is None and must_find:
                    rec["error"] = (
                        f"no cache in the subscription has mount address {t.cache_address}"
                    )
        if layout is not None:
            e = paths.enrich(t, layout)
            rec.update(e.to_dict())
            rec["error"] = e.error
        records.append(rec)
    return records


def _local_records(
    names: list[str], table: MountTable, layouts: list[CacheLayout], lexical: bool = False
) -> list[dict[str, Any]]:
    """One record per namespace path: the client paths where it is visible.

    A client path is listed only when it exists (unless ``lexical``): through a mount of the
    namespace root every path *would* translate, ``/nowhere/x`` to ``/mnt/cache/nowhere/x``,
    though the root shows only the cache's junctions; without a layout, the file itself is
    the only witness that the path is there.
    """
    from hpccache_cli.paths import cache_address, local_matches, normpath

    names_of = ", ".join(x.name for x in layouts)
    records = []
    for name in names:
        ns = normpath(name if name.startswith("/") else "/" + name)
        if not layouts:
            found = local_matches(ns, table)
            error = f"no NFS mount on this machine shows {ns}"
        else:  # only mounts of a cache that has a junction holding the path
            found = []
            owners = [x for x in layouts if x.junction_for(ns) is not None]
            for layout in owners:
                for p, m in local_matches(ns, table, layout.mount_addresses):
                    if all(p != q for q, _ in found):
                        found.append((p, m))
            error = (
                f"no NFS mount of cache {', '.join(x.name for x in owners)} on this machine "
                f"shows {ns}"
                if owners
                else f"{ns} is under no junction of cache {names_of}"
            )
        if found and not lexical:
            missing = [p for p, _ in found if not os.path.lexists(p)]
            found = [(p, m) for p, m in found if p not in missing]
            if not found:
                error = (
                    f"{ns} is not on this machine: {', '.join(missing)} "
                    f"{'does' if len(missing) == 1 else 'do'} not exist (--lexical lists "
                    "client paths without looking)"
                )
        matches = [
            {
                "client_path": p,
                "mount_point": m.mount_point,
                "mount_source": m.source,
                "cache_address": cache_address(m),
            }
            for p, m in found
        ]
        records.append(
            {
                "input": name,
                "namespace_path": ns,
                "local_paths": [p for p, _ in found],
                "matches": matches,
                "error": None if found else error,
            }
        )
    return records


@reports_errors
@azure_command(refresh=True)
def path_command(
    paths: list[str] | None = typer.Argument(None, metavar="PATH", show_default=False),
    from_file: str | None = typer.Option(
        None, "--from-file", metavar="FILE", help="Read paths from FILE, one a line ('-': stdin)."
    ),
    null: bool = typer.Option(False, "-0", "--null", help="Paths in FILE/stdin end with NUL."),
    to_local: bool = typer.Option(
        False, "--to-local", help="Arguments are namespace paths: print the client paths."
    ),
    mountinfo: str | None = typer.Option(
        None,
        "--mountinfo",
        metavar="FILE",
        help="Mount table to use (mountinfo format). Default: $HPCCACHE_MOUNTINFO, else "
        "/proc/self/mountinfo.",
    ),
    layout_file: str | None = typer.Option(
        None, "--layout", metavar="FILE", help="Cache layout JSON (one or a list), no Azure."
    ),
    cache: str | None = typer.Option(
        None, *resources.CACHE_SUBJECT_NAMES,
        help="Cache name (with -g) or resource id (also --ids): ask Azure for its layout."
    ),
    ids: str | None = resources.ONE_CACHE_IDS,
    resource_group: str | None = typer.Option(
        None, "-g", "--resource-group", help="Resource group of --cache."
    ),
    discover: bool = typer.Option(
        False, "--discover", help="Find the cache owning each mount address in the subscription."
    ),
    lexical: bool = typer.Option(
        False, "--lexical", help="Do not look at local files: no symlink resolution (fastest); "
        "with --to-local, client paths are listed without checking that they exist."
    ),
    output: OutputFormat | None = typer.Option(
        None,
        "-o",
        "--output",
        help="table (default on a terminal), json (default when piped), tsv.",
        show_default=False,
    ),
    query: str | None = typer.Option(
        None, "--query", metavar="JMESPATH",
        help="JMESPath query over the JSON records (a list, one object per input), as in the "
        "Azure CLI; the result is printed in the -o format (JSON by default), e.g. "
        "--query \"[?error].input\" -o tsv.",
    ),
    *,
    az: AzureArgs,
) -> None:
    from hpccache_cli.control.resolve import cache_ref
    from hpccache_cli.paths import translate_many

    sources = [
        n
        for n, on in (("--layout", layout_file), ("--cache", cache or ids),
                      ("--discover", discover))
        if on
    ]
    if len(sources) > 1:
        raise UsageError(f"{' and '.join(sources)} cannot be combined: pick one")
    if cache and ids:
        raise UsageError("--ids names the cache already; drop --cache")
    if resource_group and not (cache or ids):
        raise UsageError("-g/--resource-group goes with --cache NAME")
    if discover and to_local:
        raise UsageError("--discover works on client paths; with --to-local use --cache/--layout")
    if query:
        from hpccache_cli.cli.output.render import check_query

        check_query(query)  # a bad expression: exit 2 before any input is read
    fmt = default_format(output)
    names = read_inputs(paths, from_file, null)
    from hpccache_cli.paths.mountinfo import MountTable

    table = MountTable.load(mountinfo)
    if table.skipped and not az.only_show_errors:
        typer.echo(
            f"hpccache: warning: skipped {table.skipped} malformed line(s) in {table.source}",
            err=True,
        )
    layouts: list[CacheLayout] = []
    if layout_file:
        layouts = load_layouts(layout_file)
    elif cache or ids:
        layouts = [get_layout(az, cache_ref(ids or cache or "", resource_group, is_id=bool(ids)))]
    if to_local:
        from hpccache_cli.cli.path_lustre import add_local_matches  # Lustre mounts (AMLFS)

        records = _local_records(names, table, layouts, lexical)
        add_local_matches(records, table)
        if query:
            _write_query(records, output, query)
        elif fmt is OutputFormat.tsv:  # one row per client path: no list inside a TSV field
            rows = [dict(r, **m) for r in records for m in r["matches"] or [{}]]
            write_records(rows, fmt, TSV_LOCAL)
        else:
            write_records(records, fmt, ("input", "namespace_path", "local_paths", "error"))
    else:
        done = list(translate_many(names, table, resolve=not lexical))
        lookup = discoverer(az) if discover else cached_lookup() if not layouts else None
        records = _path_records(done, layouts, lookup, must_find=discover)
        from hpccache_cli.cli.path_lustre import FsFinder, path_records  # Lustre mounts

        finder = FsFinder(az, None, None) if discover else None
        records = path_records(done, records, table, finder)
        if query:
            _write_query(records, output, query)
        else:
            write_records(records, fmt, TSV_PATH if fmt is OutputFormat.tsv else PATH_KEYS)
    failed = sum(1 for r in records if r["error"])
    if failed:
        typer.echo(f"hpccache: {failed} of {len(records)} path(s) not translated", err=True)
    raise typer.Exit(EXIT_SOME_FAILED if failed else EXIT_OK)


def _write_query(records: list[dict[str, Any]], output: OutputFormat | None, query: str) -> None:
    """``--query``: the records' JSON data through the one renderer (az's rules), in the ``-o``
    format given, else JSON (as az prints a query's result by default)."""
    from hpccache_cli.cli.output.choice import Format
    from hpccache_cli.cli.output.render import render

    fmt = Format.json if output is None else Format(output.value)
    text = render(records, fmt, query=query)
    if text:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def register(app: typer.Typer) -> None:
    """Add ``hpccache path`` to the root app."""
    app.command("path", help=HELP, no_args_is_help=False)(path_command)
