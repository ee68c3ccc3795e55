"""Client path -> cache namespace path -> junction -> storage target -> back-end path.

The public API (what ``hpccache path`` and ``hpccache flush`` use)::

    table = MountTable.load()                 # /proc/self/mountinfo, $HPCCACHE_MOUNTINFO, FILE
    t = translate("/mnt/cache/NAS_12_exp5/result/output3.txt", table)
    t.cache_address, t.namespace_path         # "10.0.0.3", "/NAS_12_exp5/result/output3.txt"
    enrich(t, layout).backend_path            # "/export5/result/output3.txt"
    to_local("/NAS_12_exp5/result/output3.txt", table)   # ["/mnt/cache/NAS_12_exp5/..."]
    InputResolver(table, layout).resolve(p)   # any kind of input path (flush, --path-kind)

Paths are ``str`` decoded with :func:`os.fsdecode` (surrogateescape) throughout, so any byte
name round-trips through :func:`os.fsencode`.
"""

from hpccache_cli.paths.addresses import cache_address, matches_any, mount_addresses, resolve_host
from hpccache_cli.paths.junctions import (
    Enrichment,
    InputResolver,
    PathError,
    PathKind,
    classify_path,
    enrich,
    namespace_from_export,
    pick_layout,
    resolve_input,
    resolve_inputs,
)
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
