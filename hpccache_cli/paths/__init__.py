"""Client path -> cache namespace path -> junction -> storage target -> back-end path.

The public API (what ``hpccache path`` and ``hpccache flush`` use)::

    table = MountTable.load()                 # /proc/self/mountinfo, $HPCCACHE_MOUNTINFO, FILE
    t = translate("/mnt/cache/NAS_12_exp5/result/output3.txt", table)
    t.cache_address, t.namespace_path         # "10.0.0.3", "/NAS_12_exp5/result/output3.txt"
    enrich(t, layout).backend_path            # "/export5/result/output3.txt"
    to_local("/NAS_12_exp5/result/output3.txt", table)   # ["/mnt/cache/NAS_12_exp5/..."]
    InputResolver(table, layout).resolve(p)   # any kind of input path (flush, --path-kind)

Paths are ``str`` decoded with :func:`os.fsdecode` (surrogateescape) throughout, so any byte
name round-trips through :func:`os.fsencode`. The junction and layout names (``enrich``,
``InputResolver``, ...) are imported on first use: ``hpccache path`` without a layout, and
flush runs without ``--cache``, never need them (start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hpccache_cli.paths.addresses import cache_address, matches_any, mount_addresses, resolve_host
from hpccache_cli.paths.mountinfo import (
    ENV_MOUNTINFO,
    Mount,
    MountTable,
    MountTableError,
    normpath,
)
from hpccache_cli.paths.translate import (
    Translation,
    Translator,
    group_by_address,
    local_matches,
    to_local,
    translate,
    translate_many,
)

__all__ = [
    "ENV_MOUNTINFO",
    "Enrichment",
    "InputResolver",
    "Mount",
    "MountTable",
    "MountTableError",
    "PathError",
    "PathKind",
    "Translation",
    "Translator",
    "cache_address",
    "classify_path",
    "enrich",
    "group_by_address",
    "local_matches",
    "matches_any",
    "mount_addresses",
    "namespace_from_export",
    "normpath",
    "pick_layout",
    "resolve_host",
    "resolve_input",
    "resolve_inputs",
    "to_local",
    "translate",
    "translate_many",
]

_JUNCTIONS = frozenset({
    "Enrichment",
    "InputResolver",
    "PathError",
    "PathKind",
    "classify_path",
    "enrich",
    "namespace_from_export",
    "pick_layout",
    "resolve_input",
    "resolve_inputs",
})

if TYPE_CHECKING:  # what the lazy __getattr__ below returns, for type checkers and IDEs
    from hpccache_cli.paths.junctions import Enrichment as Enrichment
    from hpccache_cli.paths.junctions import InputResolver as InputResolver
    from hpccache_cli.paths.junctions import PathError as PathError
    from hpccache_cli.paths.junctions import PathKind as PathKind
    from hpccache_cli.paths.junctions import classify_path as classify_path
    from hpccache_cli.paths.junctions import enrich as enrich
    from hpccache_cli.paths.junctions import namespace_from_export as namespace_from_export
    from hpccache_cli.paths.junctions import pick_layout as pick_layout
    from hpccache_cli.paths.junctions import resolve_input as resolve_input
    from hpccache_cli.paths.junctions import resolve_inputs as resolve_inputs


def __getattr__(name: str) -> Any:
    if name not in _JUNCTIONS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from hpccache_cli.paths import junctions

    return getattr(junctions, name)
