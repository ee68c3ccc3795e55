"""``hpccache cache list|show|flush``: the caches of a subscription, from Azure Resource Manager.

Every format is what ``az hpc-cache`` prints for the same SDK model
(:mod:`hpccache_cli.cli.output`), plus, for ``show``, ``storageTargets`` in the shape of
``az hpc-cache storage-target list`` (in JSON, YAML and ``--query``; not in the columns of
``tsv`` and ``table``, which stay az's).
"""

from __future__ import annotations

from typing import Any, Optional

import typer

from hpccache_cli.cli.azure_options import (
    AzureArgs,
    azure_command,
    cache_client,
    confirm,
    emit,
    print_outcome,
    progress,
)
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.options import resources
from hpccache_cli.cli.target_cmd import TIMEOUT_OPTION
from hpccache_cli.errors import EXIT_INTERRUPTED, UserError

cache_app = typer.Typer(
    help="List, show and flush HPC caches (Azure Resource Manager).\n\n"
    "Example: hpccache cache show mycache -g myrg",
    no_args_is_help=True,
)

# The selectors are declared once in cli/options/resources.py (the spelling rule); these are
# their old names here.
CACHES_ARG = resources.CACHE_POSITIONAL
NAME_OPTION = resources.CACHE_SUBJECT
IDS_OPTION = resources.CACHE_IDS
RG_OPTION = resources.RESOURCE_GROUP


def cache_json(cache: Any) -> Any:
    """The cache as ``az hpc-cache show`` prints it (JSON data: az's keys, nulls kept)."""
    from hpccache_cli.cli.output.shape import to_az

    return to_az(cache)


@cache_app.command("list")
@reports_errors
@azure_command(output=True)
def list_caches(
    resource_group: str | None = RG_OPTION,
    *,
    az: AzureArgs,
) -> None:
    """List the HPC caches of the subscription (or of one resource group).

    Example: hpccache cache list -g myrg -o table
    """
    from hpccache_cli.cli.az_refs import group_or_default
    from hpccache_cli.control.arm_errors import arm_errors
    from hpccache_cli.control.client import make_client

    resource_group = group_or_default(resource_group)
    settings = az.settings()
    scope = f"resource group {resource_group!r}" if resource_group else "the subscription"
    with make_client(settings) as client, arm_errors(settings, f"the caches of {scope}"):
        if resource_group:
            caches = list(client.caches.list_by_resource_group(resource_group))
        else:
            caches = list(client.caches.list())
    emit(az, caches)


@cache_app.command("show")
@reports_errors
@azure_command(output=True)
def show_cache(
    caches: Optional[list[str]] = CACHES_ARG,  # noqa: UP045 - Typer needs Optional
    resource_group: str | None = RG_OPTION,
    name: str | None = NAME_OPTION,
    ids: Optional[list[str]] = IDS_OPTION,  # noqa: UP045
    *,
    az: AzureArgs,
) -> None:
    """Show a cache: mount addresses, health, state, size, SKU and storage targets.

    Example: hpccache cache show -n mycache -g myrg --query "mountAddresses[0]" -o tsv
    """
    from hpccache_cli.cli.az_refs import cache_refs

    refs = cache_refs(caches, name, ids, resource_group)
    shown = [_show_one(az, ref) for ref in refs]
    if len(shown) == 1:
        emit(az, shown[0][0], extras={"storageTargets": shown[0][1]})
        return
    emit(az, [c for c, _ in shown], extras=[{"storageTargets": t} for _, t in shown])


def _show_one(az: AzureArgs, ref: Any) -> tuple[Any, list[Any]]:
    """One cache (SDK model) and its storage targets."""
    with cache_client(az, ref) as (client, ref):
        cache = client.caches.get(ref.resource_group, ref.name)
        targets = list(client.storage_targets.list_by_cache(ref.resource_group, ref.name))
    return cache, targets


@cache_app.command("flush")
@reports_errors
@azure_command(output="operation")
def flush_cache(
    caches: Optional[list[str]] = CACHES_ARG,  # noqa: UP045
    resource_group: str | None = RG_OPTION,
    name: str | None = NAME_OPTION,
    ids: Optional[list[str]] = IDS_OPTION,  # noqa: UP045
    no_wait: bool = typer.Option(False, "--no-wait", help="Start the flush and return."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    timeout: float = TIMEOUT_OPTION,
    *,
    az: AzureArgs,
) -> None:
    """Write every dirty file of every storage target back (whole-cache flush).

    Clients see errors for the whole cache until the flush completes, so this asks first.

    Example: hpccache cache flush mycache -g myrg --yes
    """
    from hpccache_cli.cli.az_refs import cache_refs
    from hpccache_cli.control.operations import check_timeout

    check_timeout(timeout)
    for ref in cache_refs(caches, name, ids, resource_group):
        _flush_one(az, ref, no_wait, yes, timeout)


def _flush_one(az: AzureArgs, ref: Any, no_wait: bool, yes: bool, timeout: float) -> None:
    from hpccache_cli.control import operations

    settings = az.settings(ref.subscription_id)
    confirm(
        f"Flush cache {ref.name!r} now?",
        f"flushing cache {ref.name!r} makes clients see errors for the whole cache until the "
        "flush completes",
        yes,
    )
    from hpccache_cli.jobs.flush.interrupts import signals_as_ctrl_c

    try:
        with signals_as_ctrl_c(), progress(f"Flushing cache {ref.name}") as report:
            result = operations.flush_cache(
                settings, ref.resource_group, ref.name, wait=not no_wait, on_progress=report,
                timeout=timeout,
            )
    except KeyboardInterrupt:
        raise UserError(
            "interrupted; the flush may still be running in Azure (check with: hpccache cache "
            f"show {ref.name} -g {ref.resource_group})",
            EXIT_INTERRUPTED,
        ) from None
    print_outcome(az, result)


def register(app: typer.Typer) -> None:
    app.add_typer(cache_app, name="cache")
