"""How input paths are named: the option checks and the ``--cache`` and client-path branches
of :func:`hpccache_cli.cli.flush.runner.build_resolver`.

Three ways, one resolver each:

* ``--ip`` + ``--export``: paths relative to that junction (flush_file.py) -> ExportResolver.
* ``--cache NAME -g RG`` / ``--cache-id ID``: namespace paths, client paths of that cache, or
  both mixed -> LayoutResolver. Only this branch talks to Azure, and the layout comes from the
  on-disk resolution cache while it is fresh, so a pipeline that runs a hundred flushes does
  not make two hundred ARM calls.
* nothing: client paths, placed by their mounts -> LocalPathResolver (no Azure, no layout).

Conflicting options fail here, before any network call, with one line saying what to change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from hpccache_cli.errors import UsageError
from hpccache_cli.layout import CacheLayout
from hpccache_cli.paths import ENV_MOUNTINFO, MountTable, MountTableError

if TYPE_CHECKING:
    from hpccache_cli.cli.flush.runner import FlushRequest
    from hpccache_cli.flush.resolve_layout import LayoutResolver
    from hpccache_cli.flush.resolve_local import LocalPathResolver

PATH_KINDS = ("local", "namespace", "export")
FALLBACKS = ("target-flush",)


class AzureOptions(Protocol):
    """What the flush needs of the shared Azure options (``cli.azure_options.AzureArgs``)."""

    refresh: bool

    def settings(self, subscription: str | None = None) -> Any: ...


@dataclass
class EnvironmentAzure:
    """Azure settings from the environment alone, for callers without the CLI's options."""

    refresh: bool = False

    def settings(self, subscription: str | None = None) -> Any:
        from hpccache_cli.control.client import ArmSettings

        return ArmSettings.resolve(subscription=subscription)


@dataclass(frozen=True)
class ArmContext:
    """One cache as ARM names it: where a storage-target flush (``--fallback``) goes."""

    settings: Any  # control.client.ArmSettings (not imported: keeps --help fast)
    resource_group: str
    name: str
    layout: CacheLayout


def check_naming(request: FlushRequest, ips: list[str]) -> None:
    """Refuse option combinations that name paths in two ways, or that do nothing."""
    cache = request.cache or request.cache_id
    kind = request.path_kind
    if request.cache and request.cache_id:
        raise UsageError("--cache and --cache-id both name the cache: give one of them")
    if cache and (ips or request.export):
        raise UsageError("--cache/--cache-id reads the mount addresses and junctions from "
                         "Azure: drop --ip/--export (or drop --cache to give them yourself)")
    if request.resource_group and not request.cache:
        raise UsageError("-g/--resource-group goes with --cache NAME")
    if kind is not None and kind not in PATH_KINDS:
        raise UsageError(f"--path-kind must be one of {', '.join(PATH_KINDS)}, not {kind!r}")
    if kind == "export" and not (ips and request.export):
        raise UsageError("--path-kind export reads paths relative to the --export junction: "
                         "add --ip ADDRESS and --export /NAMESPACE_PATH")
    if kind in ("local", "namespace") and (ips or request.export):
        raise UsageError(f"--path-kind {kind} does not go with --ip/--export (paths are then "
                         "relative to the --export junction); use --cache, or drop --ip/--export")
    if kind == "namespace" and not cache:
        raise UsageError("namespace paths need the cache's junctions: add --cache NAME -g RG "
                         "(or --cache-id RESOURCE_ID)")
    if request.force and not cache:
        raise UsageError("--force flushes files whose storage target does not cache writes, "
                         "which only --cache/--cache-id can tell: add one, or drop --force")
    if request.mountinfo and (ips or request.export):
        raise UsageError("--mountinfo is for client paths; with --ip/--export paths are "
                         "relative to the --export junction")
    if request.fallback is not None:
        if request.fallback not in FALLBACKS:
            raise UsageError(f"--fallback must be {' or '.join(FALLBACKS)}, "
                             f"not {request.fallback!r}")
        opts = request.options
        if opts.status_only or not opts.wait:
            raise UsageError("--fallback target-flush writes back what per-file flushing could "
                             "not; it does not go with --status-only or --no-wait")


def cache_resolver(request: FlushRequest) -> LayoutResolver:
    """``--cache``/``--cache-id``: the layout from the resolution cache or ARM."""
    from hpccache_cli.flush.resolve_layout import LayoutResolver

    context = load_cache(request)
    table = None
    if request.path_kind != "namespace":
        explicit = bool(request.mountinfo or os.environ.get(ENV_MOUNTINFO))
        table = mount_table(request.mountinfo, required=explicit)
    resolver = LayoutResolver(context.layout, request.force, request.path_kind, table=table)
    resolver.arm = context
    return resolver


def local_resolver(request: FlushRequest) -> LocalPathResolver:
    """No ``--ip``/``--cache``: client paths, through the mount table."""
    from hpccache_cli.flush.resolve_local import LocalPathResolver

    table = mount_table(request.mountinfo, required=True)
    assert table is not None
    return LocalPathResolver(table)


def mount_table(path: str | None, *, required: bool) -> MountTable | None:
    """The mount table; when not ``required`` (``--cache`` with namespace paths in mind), an
    unreadable default table (not Linux) just means no client paths: None."""
    try:
        return MountTable.load(path)
    except MountTableError:
        if required:
            raise
        return None


def load_cache(request: FlushRequest) -> ArmContext:
    """Which cache (name + group, or resource id) and its layout; Azure errors exit 3."""
    from hpccache_cli.control.resolve import CacheRef, get_layout, parse_cache_id

    azure: AzureOptions = request.azure or EnvironmentAzure()
    name = request.cache_id or request.cache or ""
    if name.startswith("/") or request.cache_id:
        ref = parse_cache_id(name)
    elif not request.resource_group:
        raise UsageError(f"which resource group is cache {name!r} in? add -g/--resource-group "
                         "(or give the cache's resource id with --cache-id)")
    else:
        ref = CacheRef(request.resource_group, name)
    settings = azure.settings(ref.subscription_id)
    layout = get_layout(settings, ref.resource_group, ref.name, refresh=azure.refresh)
    return ArmContext(settings, ref.resource_group, ref.name, layout)
