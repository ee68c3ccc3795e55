"""Which cache or storage target a command means, the ways ``az hpc-cache`` users name them.

Beside today's positional ``CACHE`` (a name with ``-g``, or a resource id), a command accepts
``-n/--name`` or ``--cache`` (cache commands: one option) or ``--cache``/``--cache-name``
(target commands, whose ``-n/--name`` is the storage target, as in ``az hpc-cache
storage-target show``; see ``cli/options/resources.py``), and ``--ids`` with one or more
resource ids. ``az`` takes ``--ids ID1 ID2`` (space-separated, typically from
``$(az ... --query [].id -o tsv)``); Click options take one value each, so ids after the first
arrive as positional arguments and are accepted there when ``--ids`` is given. ``-g`` falls back
to the Azure CLI's default group (``AZURE_DEFAULTS_GROUP`` or ``[defaults] group``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hpccache_cli.errors import UsageError

if TYPE_CHECKING:
    from hpccache_cli.control.resolve import CacheRef

@dataclass(frozen=True)
class TargetRef:
    """One storage target: its cache and its name."""

    cache: CacheRef
    name: str


def _split_ids(ids: list[str] | None, extra: list[str]) -> list[str]:
    """``--ids`` values (one may hold several, newline- or space-separated, from ``$(...)``)."""
    found = [part for value in (ids or []) for part in value.split()]
    if not found:
        return []
    for value in extra:
        if not value.startswith("/"):
            raise UsageError(
                f"{value!r} is neither a resource id nor an option: with --ids, name every "
                "resource by its id (drop the name, or drop --ids)"
            )
        found += value.split()
    return found


def group_or_default(resource_group: str | None) -> str | None:
    """``-g``, else the Azure CLI's default group (:mod:`hpccache_cli.control.refs`)."""
    from hpccache_cli.control.refs import group_or_default as or_default

    return or_default(resource_group)


def one_cache(name: str, resource_group: str | None) -> CacheRef:
    """NAME with -g (or the Azure CLI's default group), or a full resource id in place of NAME."""
    from hpccache_cli.control.resolve import cache_ref

    return cache_ref(name, resource_group)


def cache_refs(
    positional: list[str] | None,
    name: str | None,
    ids: list[str] | None,
    resource_group: str | None,
    name_option: str = "-n/--name",
) -> list[CacheRef]:
    """The caches a command names: ``--ids`` (one or more), or one NAME/``-n``."""
    from hpccache_cli.control.resolve import parse_cache_id

    given = list(positional or [])
    all_ids = _split_ids(ids, given)
    if all_ids:
        if name:
            raise UsageError(f"--ids names the caches already; drop {name_option}")
        return [parse_cache_id(i) for i in all_ids]
    if name and given and given != [name]:
        raise UsageError(
            f"two caches named: {given[0]!r} and {name_option} {name!r}; give the name once"
        )
    names = [name] if name else given
    if not names:
        raise UsageError(
            f"which cache? give its name with {name_option} (and -g), or --ids RESOURCE_ID"
        )
    if len(names) > 1:
        raise UsageError(
            f"one cache name expected, got {len(names)}: {' '.join(names)}; to name several "
            "caches pass their resource ids with --ids"
        )
    return [one_cache(names[0], resource_group)]


def target_refs(
    positional: list[str] | None,
    cache_name: str | None,
    target: str | None,
    ids: list[str] | None,
    resource_group: str | None,
) -> list[TargetRef]:
    """The storage targets a command names: ``--ids`` (target resource ids), or cache + ``-n``."""
    from hpccache_cli.control.resolve import CacheRef

    given = list(positional or [])
    all_ids = _split_ids(ids, given)
    if all_ids:
        if target or cache_name:
            raise UsageError("--ids names the storage targets already; drop -n and --cache")
        from hpccache_cli.control.refs import STORAGE_TARGET, parse_id

        refs = []
        for rid in all_ids:
            ref = parse_id(rid, STORAGE_TARGET)
            cache_name_, name = ref.names
            refs.append(TargetRef(CacheRef(ref.resource_group, cache_name_, ref.subscription_id),
                                  name))
        return refs
    cache = cache_refs(given, cache_name, None, resource_group, "--cache")[0]
    if not target:
        raise UsageError(
            "which storage target? pass -n/--name (or -t/--target), or --ids with its resource id"
        )
    return [TargetRef(cache, target)]
