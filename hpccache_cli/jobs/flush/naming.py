"""How input paths are named: the option checks and the ``--cache`` and client-path branches
of :func:`hpccache_cli.jobs.flush.naming.build_resolver`.

Three ways, one resolver each:

* ``--ip`` + ``--export``: paths relative to that junction (flush_file.py), or its namespace
  paths (``--path-kind``; without it each ``/JUNCTION/...`` path is read both ways and only
  one that exists alone is flushed) -> ExportResolver.
* ``--cache NAME -g RG`` / ``--cache-id ID``: namespace paths, client paths of that cache, or
  both mixed -> LayoutResolver. Only this branch talks to Azure, and the layout comes from the
  on-disk resolution cache while it is fresh, so a pipeline that runs a hundred flushes does
  not make two hundred ARM calls.
* nothing: client paths, placed by their mounts -> LocalPathResolver (no Azure, no layout).

Conflicting options fail here, before any network call, with one line saying what to change.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hpccache_cli.errors import UsageError
from hpccache_cli.flush.addresses import check_ip
from hpccache_cli.flush.errors import FlushOptionError
from hpccache_cli.flush.options import PathKind
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.jobs.flush.sites import ExportSites, LayoutSites, LocalSites
from hpccache_cli.jobs.flush.values import (
    ArmContext,
    AzureOptions,
    EnvironmentAzure,
    Fallback,
    FlushRequest,
    Naming,
)

if TYPE_CHECKING:  # imported by the branch that uses them: --ip runs load no mount table code
    from hpccache_cli.layout import CacheLayout
    from hpccache_cli.paths import MountTable

#: The choices' strings (old names; the members are :class:`PathKind` and :class:`Fallback`).
PATH_KINDS = tuple(k.value for k in PathKind)
FALLBACKS = tuple(f.value for f in Fallback)


def split_ips(values: Sequence[str]) -> list[str]:
    """``--ip a --ip b,c`` -> ``[a, b, c]`` (commas allowed for scripts), each checked to be
    an IP address before anything is sent (see :mod:`hpccache_cli.flush.addresses`)."""
    out = [check_ip(v.strip()) for value in values for v in value.split(",") if v.strip()]
    return list(dict.fromkeys(out))


def build_resolver(request: FlushRequest) -> Naming:
    """How input paths are named, from the request. One branch per way of naming a cache."""
    ips = split_ips(request.ips)
    check_naming(request, ips)
    if request.cache or request.cache_id:
        return cache_resolver(request)  # namespace and client paths, layout from Azure
    if ips or request.export:
        # Named as fields: flush-file says SERVER and EXPORT (cli/flags.py COMMAND_FLAGS)
        if not ips:
            raise FlushOptionError("{export} needs the cache's mount addresses: give {ips} "
                                   "(each mount address, or several separated by commas)",
                                   fields=("export", "ips"), hint="missing")
        if not request.export:
            raise FlushOptionError("{ips} needs the junction to flush under: give {export} "
                                   "(a namespace path of the cache, such as /NAS_12_exp5)",
                                   fields=("ips", "export"), hint="missing")
        resolver = ExportResolver(ips, request.export, request.path_kind,
                                  option_names=request.options.option_names)
        return Naming(resolver, ExportSites(resolver))
    return local_resolver(request)  # client paths: each file's mount says where


def check_naming(request: FlushRequest, ips: list[str]) -> None:
    """Refuse option combinations that name paths in two ways, or that do nothing."""
    cache = request.cache or request.cache_id
    # each choice checked once, here, and kept as its member from here on (the CLI passes
    # members; a Python caller may pass the string)
    kind = None if request.path_kind is None else PathKind.parse(request.path_kind, "path_kind")
    request.path_kind = kind
    if request.fallback is not None:
        request.fallback = Fallback.parse(request.fallback, "fallback")
    if request.cache and request.cache_id:
        raise UsageError("--cache and --cache-id both name the cache: give one of them")
    if cache and (ips or request.export):
        raise UsageError("--cache/--cache-id reads the mount addresses and junctions from "
                         "Azure: drop --ip/--export (or drop --cache to give them yourself)")
    if request.resource_group and not request.cache:
        raise UsageError("-g/--resource-group goes with --cache NAME")
    if kind == "export" and not (ips or request.export):  # one of them: build_resolver says
        raise UsageError("--path-kind export reads paths relative to the --export junction: "
                         "add --ip ADDRESS and --export /NAMESPACE_PATH")
    if kind == "local" and (ips or request.export):
        raise UsageError("--path-kind local does not go with --ip/--export (paths are then "
                         "relative to the --export junction); use --cache, or drop --ip/--export")
    if kind == "namespace" and not cache and not (ips and request.export):
        raise UsageError("namespace paths need the cache's junctions: add --cache NAME -g RG "
                         "(or --cache-id RESOURCE_ID), or --ip ADDRESS --export /JUNCTION")
    if request.force and not cache:
        raise UsageError("--force flushes files whose storage target does not cache writes, "
                         "which only --cache/--cache-id can tell: add one, or drop --force")
    if request.mountinfo and (ips or request.export):
        raise UsageError("--mountinfo is for client paths; with --ip/--export paths are "
                         "relative to the --export junction")
    if not request.fallback_timeout > 0:  # (NaN too)
        raise FlushOptionError("{fallback_timeout} must be a positive number of seconds",
                               fields=("fallback_timeout",), hint="too_small")
    if request.fallback is not None:
        opts = request.options
        if opts.status_only or not opts.wait:
            raise UsageError("--fallback target-flush writes back what per-file flushing could "
                             "not; it does not go with --status-only or --no-wait")


def cache_resolver(request: FlushRequest) -> Naming:
    """``--cache``/``--cache-id``: the layout from the resolution cache or ARM; the fallback
    flushes the storage target each failed path is on, in that cache."""
    from hpccache_cli.flush.resolve_layout import LayoutResolver
    from hpccache_cli.paths import ENV_MOUNTINFO

    context = load_cache(request)
    table = None
    if request.path_kind != "namespace":
        explicit = bool(request.mountinfo or os.environ.get(ENV_MOUNTINFO))
        table = mount_table(request.mountinfo, required=explicit)
    resolver = LayoutResolver(
        context.layout, request.force, request.path_kind, table=table,
        refresh=lambda: refreshed_layout(context),
        on_note=None if request.only_errors else _note,  # --only-show-errors: errors only
        option_names=request.options.option_names,
    )
    return Naming(resolver, LayoutSites(resolver), context)


def refreshed_layout(context: ArmContext) -> CacheLayout:
    """The cache's layout read from ARM now (not from the resolution cache)."""
    from hpccache_cli.control.resolve import get_layout

    return get_layout(context.settings, context.resource_group, context.name, refresh=True)


def _note(message: str) -> None:
    print(f"hpccache: {message}", file=sys.stderr)


def local_resolver(request: FlushRequest) -> Naming:
    """No ``--ip``/``--cache``: client paths, through the mount table (the fallback finds
    their caches in Azure by mount address after the run)."""
    from hpccache_cli.jobs.flush.local_hint import HintingResolver

    table = mount_table(request.mountinfo, required=True)
    assert table is not None
    resolver = HintingResolver(table)
    return Naming(resolver, LocalSites(resolver))


def mount_table(path: str | None, *, required: bool) -> MountTable | None:
    """The mount table; when not ``required`` (``--cache`` with namespace paths in mind), an
    unreadable default table (not Linux) just means no client paths: None."""
    from hpccache_cli.paths import MountTable, MountTableError

    try:
        return MountTable.load(path)
    except MountTableError:
        if required:
            raise
        return None


def load_cache(request: FlushRequest) -> ArmContext:
    """Which cache (name + group, or resource id) and its layout; Azure errors exit 3."""
    from hpccache_cli.control.resolve import cache_ref, get_layout

    azure: AzureOptions = request.azure or EnvironmentAzure()
    # the one way every command names a cache (-g, else az's default group; an id in place
    # of the name): one message per wrong reference
    ref = cache_ref(request.cache_id or request.cache or "", request.resource_group,
                    is_id=bool(request.cache_id))
    settings = azure.settings(ref.subscription_id)
    layout = get_layout(settings, ref.resource_group, ref.name, refresh=azure.refresh)
    _mention_store_problems(request.verbosity)
    if layout.refused_addresses and layout.mount_addresses and not request.only_errors:
        # (none left: the resolver says, as an error)
        print(f"hpccache: warning: Azure lists mount addresses of cache {layout.name} that are "
              f"not IP addresses, not used: {'; '.join(layout.refused_addresses)}; using "
              f"{', '.join(layout.mount_addresses)}", file=sys.stderr)
    return ArmContext(settings, ref.resource_group, ref.name, layout)


def _mention_store_problems(verbosity: int) -> None:
    """With -v, say once that the resolution cache could not be written (each run then asks
    Azure again); without -v this costs nothing but speed, so it stays quiet."""
    import sys

    from hpccache_cli.control.resolve import store_problems
    from hpccache_cli.jobs.flush.values import VERBOSE

    problems = store_problems()
    if verbosity < VERBOSE:
        return
    while problems:
        where, why = problems.popitem()
        print(f"hpccache: note: cannot write the resolution cache in {where} ({why}); every "
              "run asks Azure for the cache's layout (set XDG_CACHE_HOME to a writable "
              "directory, or HPCCACHE_LAYOUT_TTL=0 to stop trying)", file=sys.stderr)
