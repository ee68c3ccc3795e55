"""Cache name (or resource id, or mount address) -> :class:`CacheLayout`, cached on disk.

A pipeline may call ``hpccache flush`` a hundred times in a row; asking ARM for the cache and its
storage targets each time would cost two calls per run and count against ARM's throttling
limits. The layout (mount addresses, junctions, usage models: nothing secret, never a token) is
kept per cache under ``$XDG_CACHE_HOME/hpccache/layouts`` for a short TTL (300 s, or
``HPCCACHE_LAYOUT_TTL``; 0 turns the cache off). Files are written atomically so parallel runs
never read half a file. ``refresh=True`` (``--refresh``) always asks ARM and rewrites the file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpccache_cli.control import json_bounds
from hpccache_cli.errors import UsageError, fill_fields
from hpccache_cli.layout import CacheLayout, JunctionInfo, address_problem, canonical_address

if TYPE_CHECKING:  # ARM's client code is imported by the calls that ask ARM: reading the
    # resolution cache (``hpccache path`` without Azure options) needs none of it
    from hpccache_cli.control.client import ArmSettings

DEFAULT_TTL = 300.0
_FORMAT = 1

@dataclass(frozen=True)
class CacheRef:
    """Which cache: subscription (None = the resolved default), resource group, name."""

    resource_group: str
    name: str
    subscription_id: str | None = None


def cache_ref(name: str, resource_group: str | None, *, is_id: bool = False) -> CacheRef:
    """The one way from what a user typed to a cache: NAME with ``-g`` (or the Azure CLI's
    default group), or a resource id in place of NAME; ``is_id`` (``--ids``, ``--cache-id``):
    an id only. Every command (``flush``, ``path``, ``namespace``, ``target``, ``cache``) comes
    here, so each wrong reference reads the same (:mod:`hpccache_cli.control.refs`)."""
    from hpccache_cli.control.refs import CACHE, by_name_or_id, parse_id

    ref = parse_id(name, CACHE) if is_id else by_name_or_id(name, resource_group, CACHE)
    return CacheRef(ref.resource_group, ref.name, ref.subscription_id)


def parse_cache_id(resource_id: str) -> CacheRef:
    """``/subscriptions/S/resourceGroups/RG/providers/Microsoft.StorageCache/caches/NAME``
    (:func:`hpccache_cli.control.refs.parse_id`: one message for every command)."""
    return cache_ref(resource_id, None, is_id=True)


def resource_group_of(resource_id: str | None) -> str | None:
    """The resource group named in any ARM resource id (the SDK models do not carry it)."""
    from hpccache_cli.control.refs import resource_group_of as group_of

    return group_of(resource_id)


def value(x: Any) -> Any:
    """An SDK enum's string (``.value``), or the plain value the service sent."""
    return getattr(x, "value", x)


def layout_from_arm(cache: Any, targets: list[Any], subscription_id: str | None) -> CacheLayout:
    """Build a CacheLayout from SDK ``Cache`` and ``StorageTarget`` models."""
    props = cache.properties
    junctions: list[JunctionInfo] = []
    for t in targets:
        tp = t.properties
        if tp is None:
            continue
        ttype = str(value(tp.target_type) or "unknown")
        model = None
        for spec in (tp.nfs3, tp.blob_nfs):
            if spec is not None and spec.usage_model:
                model = spec.usage_model
        for j in tp.junctions or []:
            if not j.namespace_path:
                continue
            junctions.append(
                JunctionInfo(
                    namespace_path=j.namespace_path,
                    storage_target=t.name,
                    target_type=ttype,
                    usage_model=model,
                    nfs_export=j.nfs_export or None,
                    target_path=j.target_path or "/",
                    target_state=value(tp.state),
                )
            )
    addresses, refused = checked_addresses(_raw(props, "mountAddresses", "mount_addresses"))
    return CacheLayout(
        name=cache.name,
        resource_group=resource_group_of(cache.id) or "",
        mount_addresses=addresses,
        refused_addresses=refused,
        junctions=tuple(junctions),
        subscription_id=subscription_id,
        resource_id=cache.id,
        health_state=value(props.health.state) if props and props.health else None,
        health_description=props.health.status_description if props and props.health else None,
        provisioning_state=value(props.provisioning_state) if props else None,
    )


def _raw(model: Any, rest_name: str, attr: str) -> Any:
    """A field as the service sent it: the SDK's models are mappings of the JSON, and their
    attribute turns a string where a list belongs into ``"<generator object ...>"``."""
    if model is None:
        return None
    if isinstance(model, Mapping):
        return model.get(rest_name)
    return getattr(model, attr, None)


def checked_addresses(listed: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """ARM's ``mountAddresses`` split into (the IP addresses, canonical and without repeats;
    each other entry with why it is not one). Nothing Azure sends is trusted: a host name,
    ``127.0.0.1:80`` or a number would otherwise go to the resolver or the socket layer, and a
    bare string (not a list) would be read character by character."""
    if listed is None:
        return (), ()
    if not isinstance(listed, (list, tuple)):
        return (), (f"{_shown(listed)} (is not a list of addresses)",)
    good: list[str] = []
    refused: list[str] = []
    for entry in listed[:64]:  # a cache has a handful; a thousand would be a broken answer
        problem = address_problem(entry)
        if problem is None:
            good.append(canonical_address(entry) or entry)
        else:
            why = fill_fields(problem.why, problem.fields, None,
                              {"nfs_port": "--nfs-port", "mount_port": "--mount-port"})
            refused.append(f"{_shown(entry)} ({why.split(':', 1)[0]})")
    if len(listed) > 64:
        refused.append(f"{len(listed) - 64} more entries (more than 64 listed)")
    return tuple(dict.fromkeys(good)), tuple(refused)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# ---- the on-disk resolution cache -------------------------------------------------------------


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hpccache" / "layouts"


def layout_ttl(ttl: float | None = None, env: Mapping[str, str] | None = None) -> float:
    env = os.environ if env is None else env
    if ttl is not None:
        return ttl
    raw = env.get("HPCCACHE_LAYOUT_TTL", "").strip()
    try:
        return float(raw) if raw else DEFAULT_TTL
    except ValueError:
        raise UsageError(f"HPCCACHE_LAYOUT_TTL={raw!r} is not a number of seconds") from None


def _cache_file(settings: ArmSettings, resource_group: str, name: str) -> Path:
    # ARM names are case-insensitive; the endpoint is in the key so the emulator and Azure
    # never share an entry.
    import hashlib

    key = "\n".join((settings.endpoint, settings.subscription_id, resource_group, name)).lower()
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:60]
    return cache_dir() / f"{safe}-{digest}.json"


#: A resolution-cache file larger than this is not one of ours (a layout is a few KB).
_MAX_FILE = 1 << 20


def _load(path: Path, ttl: float) -> CacheLayout | None:
    """The entry in ``path`` when it is fresh and whole; None (ask ARM again) when it is
    missing, stale, dated in the future (a clock set back, or a hand-edited file: it would
    otherwise never expire) or damaged in any way: every field is checked for its type, and
    every mount address to be an IP address, since the file is not trusted either."""
    try:
        with path.open("rb") as f:
            raw = f.read(_MAX_FILE + 1)
        if len(raw) > _MAX_FILE:
            return None
        data = json_bounds.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return None
        fetched = data.get("fetched_at")
        if isinstance(fetched, bool) or not isinstance(fetched, (int, float)):
            return None
        age = time.time() - float(fetched)
        if not 0 <= age <= ttl:  # (NaN fails too)
            return None
        layout = CacheLayout.from_dict(data["layout"])  # (checks every field)
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None
    return dataclasses.replace(layout, source="resolution cache")


def _store(path: Path, settings: ArmSettings, layout: CacheLayout) -> None:
    """Write atomically (temp file + rename); a failure to cache never fails the command."""
    data = {
        "format": _FORMAT,
        "fetched_at": time.time(),
        "endpoint": settings.endpoint,
        "layout": layout.to_dict(),
    }
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".layout-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        # Never fatal (the next run asks ARM again), but a -v run says so once: see
        # store_problems().
        _STORE_PROBLEMS.setdefault(str(path.parent), exc.strerror or str(exc))


_STORE_PROBLEMS: dict[str, str] = {}


def store_problems() -> dict[str, str]:
    """Resolution-cache directories this process could not write, with the reason; each is
    reported once (the caller pops what it has reported)."""
    return _STORE_PROBLEMS


def cached_layout_for_address(address: str, ttl: float | None = None) -> CacheLayout | None:
    """A fresh layout from the resolution cache whose cache serves ``address``; never ARM.

    ``hpccache path`` uses this without any Azure option, so a client that flushed by cache
    name recently sees storage targets and back-end paths with no network call at all. When
    several cached caches claim the address (an old cache whose IPs were reused), the most
    recently fetched wins.
    """
    seconds = layout_ttl(ttl)
    if seconds <= 0 or not address:
        return None
    best: tuple[float, CacheLayout] | None = None
    for path in cache_dir().glob("*.json"):
        layout = _load(path, seconds)
        if layout is None or address not in layout.mount_addresses:
            continue
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if best is None or mtime > best[0]:
            best = (mtime, layout)
    return best[1] if best else None


# ---- ARM lookups ------------------------------------------------------------------------------


#: The name-suggesting list after a 404 is a courtesy, never the cost of the answer: one
#: attempt, its first page, this many seconds at most; anything else and there is no hint.
HINT_BUDGET_S = 3.0


def hint_bounds() -> dict[str, float | int]:
    """azure-core per-request keywords for a courtesy call (see :data:`HINT_BUDGET_S`)."""
    return {
        "retry_total": 0,
        "timeout": HINT_BUDGET_S,
        "read_timeout": HINT_BUDGET_S,
        "connection_timeout": HINT_BUDGET_S,
    }


def first_page_names(pager: Any) -> list[str] | None:
    """The names on the first page of an SDK list (None when it did not come, cheaply)."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError

    try:
        page: Any = next(iter(pager.by_page()), [])
        return sorted(str(item.name) for item in page)
    except ResourceNotFoundError:
        raise
    except AzureError:
        return None


def cache_not_found_hint(client: Any, resource_group: str) -> str | None:
    """ "caches in RG: a, b" or "resource group RG does not exist", from one bounded list call
    (:data:`HINT_BUDGET_S`); None when that list is not cheap."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        names = first_page_names(
            client.caches.list_by_resource_group(resource_group, **hint_bounds())
        )
    except ResourceNotFoundError:
        return f"resource group {resource_group!r} does not exist in this subscription"
    if names is None:
        return None
    if not names:
        return f"resource group {resource_group!r} has no HPC caches"
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    return f"caches in {resource_group}: {shown}"


def cache_errors(
    client: Any, settings: ArmSettings, resource_group: str, name: str
) -> AbstractContextManager[None]:
    """ARM failures of calls about one cache as one line naming it (a 404 adds the group's
    cache names, from one bounded list): the one wording for every command."""
    from hpccache_cli.control.arm_errors import arm_errors

    what = f"cache {name!r} in resource group {resource_group!r}"
    return arm_errors(settings, what, lambda: cache_not_found_hint(client, resource_group))


def fetch_layout(client: Any, settings: ArmSettings, resource_group: str, name: str) -> CacheLayout:
    """Ask ARM (caches.get + storage_targets.list_by_cache) and build the layout."""
    with cache_errors(client, settings, resource_group, name):
        cache = client.caches.get(resource_group, name)
        targets = list(client.storage_targets.list_by_cache(resource_group, name))
    return layout_from_arm(cache, targets, settings.subscription_id)


def get_layout(
    settings: ArmSettings,
    resource_group: str,
    cache_name: str,
    *,
    refresh: bool = False,
    ttl: float | None = None,
    client: Any = None,
) -> CacheLayout:
    """The layout of one cache, from the resolution cache when fresh, else from ARM.

    A hit makes no ARM call and builds no credential. ``client`` may be passed to reuse one.
    """
    path = _cache_file(settings, resource_group, cache_name)
    seconds = layout_ttl(ttl)
    if not refresh and seconds > 0:
        cached = _load(path, seconds)
        if cached is not None:
            return cached
    from hpccache_cli.control.client import make_client

    own = client is None
    client = client or make_client(settings)
    try:
        layout = fetch_layout(client, settings, resource_group, cache_name)
    finally:
        if own:
            client.close()
    if seconds > 0:
        _store(path, settings, layout)
    return layout


def get_layout_by_id(
    settings: ArmSettings, resource_id: str, *, refresh: bool = False, ttl: float | None = None
) -> CacheLayout:
    """``--cache-id``: the id names its own subscription."""
    ref = parse_cache_id(resource_id)
    if ref.subscription_id and ref.subscription_id.lower() != settings.subscription_id.lower():
        settings = settings.for_subscription(ref.subscription_id)
    return get_layout(settings, ref.resource_group, ref.name, refresh=refresh, ttl=ttl)


def discover_by_address(
    settings: ArmSettings,
    address: str,
    *,
    refresh: bool = False,
    ttl: float | None = None,
    client: Any = None,
) -> CacheLayout | None:
    """The cache that serves mount ``address``: fresh cached layouts first, then caches.list()."""
    seconds = layout_ttl(ttl)
    if not refresh and seconds > 0:
        for path in sorted(cache_dir().glob("*.json")):
            layout = _load(path, seconds)
            if (
                layout is not None
                and address in layout.mount_addresses
                and (layout.subscription_id or "").lower() == settings.subscription_id.lower()
                and _cache_file(settings, layout.resource_group, layout.name) == path
            ):
                return layout
    from hpccache_cli.control.arm_errors import arm_errors
    from hpccache_cli.control.client import make_client

    own = client is None
    client = client or make_client(settings)
    try:
        with arm_errors(settings, f"the caches of subscription {settings.subscription_id}"):
            match = next(
                (
                    c
                    for c in client.caches.list()
                    if address in checked_addresses(
                        _raw(c.properties, "mountAddresses", "mount_addresses"))[0]
                ),
                None,
            )
        if match is None:
            return None
        rg = resource_group_of(match.id) or ""
        return get_layout(settings, rg, match.name, refresh=True, ttl=ttl, client=client)
    finally:
        if own:
            client.close()
