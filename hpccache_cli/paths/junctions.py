"""Namespace path -> junction -> storage target -> back-end path, and what kind a path is.

These need a :class:`~hpccache_cli.layout.CacheLayout` (from Azure, the resolution cache or
a saved ``--layout`` file); nothing here makes a network call except resolving a mount's host
*name* to match it against a cache's mount addresses (cached, see ``addresses``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from hpccache_cli.errors import UsageError
from hpccache_cli.layout import CacheLayout, JunctionInfo
from hpccache_cli.paths.addresses import matches_any
from hpccache_cli.paths.mountinfo import MountTable, normpath
from hpccache_cli.paths.translate import Translation, Translator, _Resolver
from hpccache_cli.usage_models import UsageModel


class PathError(UsageError):
    """An input path that cannot be placed in the cache (exit 2 when it aborts a command)."""


class PathKind(str, Enum):
    local = "local"  # a path on this client, under an NFS mount of the cache
    namespace = "namespace"  # a cache namespace path, e.g. /NAS_12_exp5/result/output3.txt
    export = "export"  # a path on the back-end NAS, e.g. /export5/result/output3.txt


@dataclass(slots=True)  # not frozen, for speed (see Translation); treat as read-only
class Enrichment:
    """What the cache layout says about one namespace path; ``error`` when it says no."""

    cache: str | None = None
    junction: str | None = None
    storage_target: str | None = None
    target_type: str | None = None
    usage_model: str | None = None
    caches_writes: bool | None = None
    backend_path: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "cache": self.cache,
            "junction": self.junction,
            "storage_target": self.storage_target,
            "target_type": self.target_type,
            "usage_model": self.usage_model,
            "backend_path": self.backend_path,
        }


class _JunctionIndex:
    """``layout.junction_for`` as dict lookups: one per distinct junction path length.

    Same answer as :meth:`CacheLayout.junction_for` (longest junction on component bounds;
    equal keys resolve as it does, to the first listed), without testing every junction for
    every path: with a million paths that loop was most of the time spent enriching them.
    """

    def __init__(self, layout: CacheLayout) -> None:
        self.by_path: dict[str, JunctionInfo] = {}
        for j in layout.junctions:
            key = j.namespace_path.rstrip("/") or "/"
            best = self.by_path.get(key)
            if best is None or len(j.namespace_path) > len(best.namespace_path):
                self.by_path[key] = j
        # Only prefixes as long as some junction can match: usually one or two lengths.
        self.lengths = sorted({len(k) for k in self.by_path if k != "/"}, reverse=True)
        self.root = self.by_path.get("/")
        # Per junction: (key length, back-end prefix, usage model), so a path costs a slice.
        self.facts: dict[int, tuple[int, str, UsageModel]] = {}
        for key, j in self.by_path.items():
            parts = [p.strip("/") for p in (j.nfs_export or "", j.target_path)]
            prefix = "/" + "/".join(p for p in parts if p) if any(parts) else ""
            self.facts[id(j)] = (len(key) if key != "/" else 0, prefix, j.model)

    def junction_for(self, ns: str) -> JunctionInfo | None:
        if not ns.startswith("/"):
            return None
        ns = ns.rstrip("/") or "/"
        size = len(ns)
        by_path = self.by_path
        for n in self.lengths:
            if n <= size and (n == size or ns[n] == "/"):
                hit = by_path.get(ns[:n])
                if hit is not None:
                    return hit
        return self.root


_INDEXES: dict[int, tuple[CacheLayout, _JunctionIndex]] = {}


def _index(layout: CacheLayout) -> _JunctionIndex:
    """The index of ``layout``, built once per layout object (layouts are immutable)."""
    hit = _INDEXES.get(id(layout))
    if hit is not None and hit[0] is layout:
        return hit[1]
    if len(_INDEXES) >= 64:
        _INDEXES.clear()
    index = _JunctionIndex(layout)
    _INDEXES[id(layout)] = (layout, index)
    return index


def _junction_error(ns: str, layout: CacheLayout) -> str:
    known = ", ".join(sorted(j.namespace_path for j in layout.junctions)) or "none"
    return f"namespace path {ns} is under no junction of cache {layout.name} (junctions: {known})"


def enrich(translation: Translation, layout: CacheLayout, check_address: bool = True) -> Enrichment:
    """Junction, storage target, usage model and back-end path of a translated path.

    With ``check_address`` a client path must come from a mount of *this* cache (its source
    address is one of ``layout.mount_addresses``): the same namespace path on another cache
    is another file, and flushing or reporting it against this cache would be wrong.
    """
    ns = translation.namespace_path
    if ns is None:
        return Enrichment(cache=layout.name, error=translation.error or "no namespace path")
    mount = translation.mount
    if check_address and mount is not None and not matches_any(mount, layout.mount_addresses):
        addrs = ", ".join(layout.mount_addresses) or "none"
        return Enrichment(
            cache=layout.name,
            error=(
                f"mounted from {translation.cache_address}, which is not a mount address of "
                f"cache {layout.name} ({addrs})"
            ),
        )
    ns = normpath(ns)
    index = _index(layout)
    junction = index.junction_for(ns)
    if junction is None:
        return Enrichment(cache=layout.name, error=_junction_error(ns, layout))
    # = junction.backend_path(ns) (export + target path + rest), precomputed per junction
    skip, prefix, model = index.facts[id(junction)]
    rest = ns[skip:] if ns != "/" else ""
    return Enrichment(
        cache=layout.name,
        junction=junction.namespace_path,
        storage_target=junction.storage_target,
        target_type=junction.target_type,
        usage_model=model.name,
        caches_writes=model.caches_writes,
        backend_path=prefix + rest if prefix else rest or "/",
    )


def pick_layout(translation: Translation, layouts: Sequence[CacheLayout]) -> CacheLayout | None:
    """The layout of the cache ``translation`` was mounted from (by address).

    A non-local input (no mount) can only be placed when there is exactly one layout.
    """
    if translation.mount is None:
        return layouts[0] if len(layouts) == 1 else None
    for layout in layouts:
        if matches_any(translation.mount, layout.mount_addresses):
            return layout
    return None


def _export_prefix(j: JunctionInfo) -> str | None:
    if not j.nfs_export:
        return None
    return normpath("/" + j.nfs_export.strip("/") + "/" + j.target_path.strip("/"))


def namespace_from_export(path: str, layout: CacheLayout) -> str:
    """The namespace path of a back-end path (NFS export + target path + rest).

    The longest export prefix wins, on component boundaries. Raises :class:`PathError`
    when no junction's export holds the path, or when junctions of *different* storage
    targets do (two NAS can both export ``/export``): a guess there would flush the wrong file.
    """
    p = normpath(path)
    best: list[tuple[JunctionInfo, str]] = []
    best_len = -1
    for j in layout.junctions:
        prefix = _export_prefix(j)
        if prefix is None:
            continue
        if not (p == prefix or prefix == "/" or p.startswith(prefix + "/")):
            continue
        if len(prefix) > best_len:
            best, best_len = [(j, prefix)], len(prefix)
        elif len(prefix) == best_len:
            best.append((j, prefix))
    if not best:
        raise PathError(f"{path} is under no NFS export of cache {layout.name}")
    targets = sorted({j.storage_target for j, _ in best})
    if len(targets) > 1:
        raise PathError(
            f"{path} is under the exports of several storage targets ({', '.join(targets)}); "
            "give its namespace path instead"
        )
    j, prefix = min(best, key=lambda item: len(item[0].namespace_path))
    rest = p[len(prefix) :] if prefix != "/" else p
    return normpath(j.namespace_path.rstrip("/") + "/" + rest.lstrip("/"))


def classify_path(
    path: str,
    table: MountTable,
    layout: CacheLayout | None = None,
) -> PathKind:
    """Say whether ``path`` is a client path, a namespace path or a back-end export path.

    The rule, in order (first match wins):

    1. relative, or under an NFS mount in ``table`` (after resolving symlinks when it exists
       locally, so ``/data -> /mnt/cache`` counts) of *this* cache when there is a layout
       (the mount's address is one of its mount addresses, so an NFS root file system or an
       NFS home directory does not swallow namespace paths): ``local``. A client that
       mounted the cache at ``/NAS_12_exp5`` gets the same namespace path either way, so
       local first is safe;
    2. under one of ``layout``'s junctions (longest prefix, on component boundaries), or any
       absolute path when there is no layout: ``namespace``;
    3. under a junction's NFS export + target path: ``export``.

    Anything else raises :class:`PathError`; ``--path-kind`` overrides this guess.
    """
    if not path.startswith("/"):
        return PathKind.local

    def on_cache(where: str) -> bool:
        mount = table.find(where)
        return (
            mount is not None
            and mount.is_cache_candidate
            and (layout is None or matches_any(mount, layout.mount_addresses))
        )

    p = normpath(path)
    if on_cache(p) or (os.path.lexists(path) and on_cache(_Resolver().resolve(path, p)[0])):
        return PathKind.local
    if layout is None or _index(layout).junction_for(p) is not None:
        return PathKind.namespace
    if any(
        (pre := _export_prefix(j)) and (p == pre or pre == "/" or p.startswith(pre + "/"))
        for j in layout.junctions
    ):
        return PathKind.export
    raise PathError(
        f"{path} is not under an NFS mount of cache {layout.name} on this machine, nor under "
        "one of its junctions or NFS exports; pass --path-kind to say what it is"
    )


def _kind_of(
    path: str, table: MountTable, layout: CacheLayout | None, kind: PathKind | str | None
) -> PathKind:
    if kind is None:
        return classify_path(path, table, layout)
    try:
        return PathKind(kind)
    except ValueError:
        raise PathError(f"unknown path kind {kind!r} (local, namespace or export)") from None


def _non_local(path: str, kind: PathKind, layout: CacheLayout | None) -> Translation:
    if not path.startswith("/"):
        raise PathError(f"a {kind.value} path must be absolute: {path}")
    if kind is PathKind.namespace:
        return Translation(path, namespace_path=normpath(path), kind=kind.value)
    if layout is None:
        raise PathError(f"{path}: an export path needs the cache layout (--cache)")
    return Translation(path, namespace_path=namespace_from_export(path, layout), kind=kind.value)


class InputResolver:
    """Any input path -> :class:`Translation`, one at a time: the flush's per-path resolver.

    ``kind`` forces how every path is read (``--path-kind``); None classifies each with
    :func:`classify_path`, so client and namespace paths can be mixed. Local paths share one
    :class:`Translator` (its symlink cache), so a stream of a million paths needs no list.
    Failures come back as ``Translation.error``, never raised: one bad path stops nothing.
    """

    def __init__(
        self,
        table: MountTable,
        layout: CacheLayout | None = None,
        kind: PathKind | str | None = None,
        cwd: str | None = None,
        resolve: bool = True,
    ) -> None:
        self.table, self.layout, self.kind = table, layout, kind
        self._local = Translator(table, cwd, resolve)

    def resolve(self, path: str) -> Translation:
        try:
            k = _kind_of(path, self.table, self.layout, self.kind)
            if k is PathKind.local:
                return self._local.translate(path)
            return _non_local(path, k, self.layout)
        except PathError as exc:
            kind = self.kind
            label = "unknown" if kind is None else str(getattr(kind, "value", kind))
            return Translation(path, error=str(exc), kind=label)


def resolve_inputs(
    paths: Iterable[str],
    table: MountTable,
    layout: CacheLayout | None = None,
    kind: PathKind | str | None = None,
    cwd: str | None = None,
    resolve: bool = True,
) -> list[Translation]:
    """:class:`InputResolver` over a list of paths, in input order."""
    one = InputResolver(table, layout, kind, cwd, resolve).resolve
    return [one(p) for p in paths]


def resolve_input(
    path: str,
    table: MountTable,
    layout: CacheLayout | None = None,
    kind: PathKind | str | None = None,
    cwd: str | None = None,
    resolve: bool = True,
) -> Translation:
    """:class:`InputResolver` for one path."""
    return InputResolver(table, layout, kind, cwd, resolve).resolve(path)
