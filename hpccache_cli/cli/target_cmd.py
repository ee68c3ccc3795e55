"""``hpccache target list|show|flush|suspend|resume|invalidate``: one cache's storage targets.

The Azure CLI cannot flush a storage target at all (only the portal, REST and SDKs can), which
is the main reason this group exists. Flush, suspend and invalidate disrupt clients, so they ask
first on a terminal and need ``--yes`` when nobody can answer.
"""

from __future__ import annotations

from collections.abc import Callable
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
from hpccache_cli.control.defaults import DEFAULT_OPERATION_TIMEOUT
from hpccache_cli.errors import EXIT_INTERRUPTED, UserError

target_app = typer.Typer(
    help="List, show, flush, suspend, resume and invalidate storage targets.\n\n"
    "Example: hpccache target flush --cache mycache -g myrg -n nas1 --yes",
    no_args_is_help=True,
)

# The selectors are declared once in cli/options/resources.py (the spelling rule); these are
# their old names here.
CACHE_ARG = resources.CACHE_POSITIONAL
RG_OPTION = resources.RESOURCE_GROUP
CACHE_NAME_OPTION = resources.CACHE
TARGET_OPTION = resources.TARGET
CACHE_IDS_OPTION = resources.ONE_CACHE_IDS
TARGET_IDS_OPTION = resources.TARGET_IDS
#: 1 hour: the one home is control/defaults.py (a leaf: no Azure code at start-up)
DEFAULT_TIMEOUT = DEFAULT_OPERATION_TIMEOUT
#: --timeout of every command that starts an operation and waits for it (cache flush too).
TIMEOUT_OPTION = typer.Option(
    DEFAULT_TIMEOUT,
    "--timeout",
    metavar="SECONDS",
    help="Give up after this long (one deadline for every request of the operation, the "
    "first included): the operation goes on in Azure, the command exits 3 saying how to check "
    "on it.",
)

# action -> (consequence shown before asking, or None when harmless; progress label)
ACTIONS: dict[str, tuple[str | None, str]] = {
    "flush": (
        "flushing storage target {t!r} makes clients see errors for files under its namespace "
        "paths until the flush completes",
        "Flushing",
    ),
    "suspend": (
        "suspending storage target {t!r} makes clients see errors for files under its namespace "
        "paths until it is resumed",
        "Suspending",
    ),
    "resume": (None, "Resuming"),
    "invalidate": (
        "invalidating storage target {t!r} discards the cache's copies of its files; they are "
        "read from the back end again on next use",
        "Invalidating",
    ),
}


def _v(x: Any) -> Any:
    return getattr(x, "value", x)


def target_json(t: Any) -> Any:
    """A storage target as ``az hpc-cache storage-target show`` prints it (JSON data)."""
    from hpccache_cli.cli.output.shape import to_az

    return to_az(t)


def _fetch(az: AzureArgs, ref: Any, target: str | None) -> Any:
    from hpccache_cli.control.arm_errors import arm_errors
    from hpccache_cli.control.client import make_client
    from hpccache_cli.control.operations import target_not_found_hint

    if target is None:
        with cache_client(az, ref) as (client, ref):
            return list(client.storage_targets.list_by_cache(ref.resource_group, ref.name))
    settings = az.settings(ref.subscription_id)
    with (
        make_client(settings) as client,
        arm_errors(
            settings,
            f"storage target {target!r} of cache {ref.name!r} in resource group "
            f"{ref.resource_group!r}",
            lambda: target_not_found_hint(client, ref.resource_group, ref.name),
        ),
    ):
        return client.storage_targets.get(ref.resource_group, ref.name, target)


@target_app.command("list")
@reports_errors
@azure_command(output=True)
def list_targets(
    cache: Optional[list[str]] = CACHE_ARG,  # noqa: UP045 - Typer needs Optional
    resource_group: str | None = RG_OPTION,
    cache_name: str | None = CACHE_NAME_OPTION,
    ids: Optional[list[str]] = CACHE_IDS_OPTION,  # noqa: UP045
    *,
    az: AzureArgs,
) -> None:
    """List the storage targets of a cache.

    Example: hpccache target list --cache mycache -g myrg -o table
    """
    from hpccache_cli.cli.az_refs import cache_refs

    targets = [
        t
        for ref in cache_refs(cache, cache_name, ids, resource_group, "--cache-name")
        for t in _fetch(az, ref, None)
    ]
    emit(az, targets)


@target_app.command("show")
@reports_errors
@azure_command(output=True)
def show_target(
    cache: Optional[list[str]] = CACHE_ARG,  # noqa: UP045
    resource_group: str | None = RG_OPTION,
    target: str | None = TARGET_OPTION,
    cache_name: str | None = CACHE_NAME_OPTION,
    ids: Optional[list[str]] = TARGET_IDS_OPTION,  # noqa: UP045
    *,
    az: AzureArgs,
) -> None:
    """Show one storage target: type, state, back end, usage model and junctions.

    Example: hpccache target show --cache mycache -g myrg -n nas1 --query junctions
    """
    from hpccache_cli.cli.az_refs import target_refs

    found = [
        _fetch(az, ref.cache, ref.name)
        for ref in target_refs(cache, cache_name, target, ids, resource_group)
    ]
    emit(az, found[0] if len(found) == 1 else found)


def run_action(
    action: str, ref: Any, target: str, no_wait: bool, yes: bool, az: AzureArgs, timeout: float
) -> None:
    """One storage-target operation (``ACTIONS``) on ``target`` of cache ``ref``: asked first
    when it disrupts clients, shown while it runs, then its outcome."""
    from hpccache_cli.control.operations import run_target_operation

    consequence, label = ACTIONS[action]
    settings = az.settings(ref.subscription_id)
    if consequence:
        confirm(
            f"{action.capitalize()} storage target {target!r} of cache {ref.name!r} now?",
            consequence.format(t=target),
            yes,
        )
    from hpccache_cli.jobs.flush.interrupts import signals_as_ctrl_c

    try:
        with signals_as_ctrl_c(), \
                progress(f"{label} storage target {target} of {ref.name}") as report:
            result = run_target_operation(
                settings,
                ref.resource_group,
                ref.name,
                target,
                action,
                wait=not no_wait,
                on_progress=report,
                timeout=timeout,
            )
    except KeyboardInterrupt:
        raise UserError(
            f"interrupted; the {action} may still be running in Azure (check with: hpccache "
            f"target show --cache {ref.name} -g {ref.resource_group} -n {target})",
            EXIT_INTERRUPTED,
        ) from None
    print_outcome(az, result)


def _make_action(action: str) -> Callable[..., None]:
    """The command of one action (its options declared once for the four of them); each is
    a module-level name below (``flush_target``, ...), importable and testable."""
    consequence, _ = ACTIONS[action]

    @reports_errors
    @azure_command(output="operation")
    def command(
        cache: Optional[list[str]] = CACHE_ARG,  # noqa: UP045
        resource_group: str | None = RG_OPTION,
        target: str | None = TARGET_OPTION,
        cache_name: str | None = CACHE_NAME_OPTION,
        ids: Optional[list[str]] = TARGET_IDS_OPTION,  # noqa: UP045
        no_wait: bool = typer.Option(False, "--no-wait", help="Start the operation and return."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
        timeout: float = TIMEOUT_OPTION,
        *,
        az: AzureArgs,
    ) -> None:
        from hpccache_cli.cli.az_refs import target_refs
        from hpccache_cli.control.operations import check_timeout

        check_timeout(timeout)
        for tref in target_refs(cache, cache_name, target, ids, resource_group):
            run_action(action, tref.cache, tref.name, no_wait, yes, az, timeout)

    command.__doc__ = {
        "flush": "Write every dirty file of one storage target back to it.",
        "suspend": "Suspend client access to one storage target.",
        "resume": "Resume client access to a suspended storage target.",
        "invalidate": "Discard the cache's copies of one storage target's files.",
    }[action] + (
        f"\n\nExample: hpccache target {action} --cache mycache -g myrg -n nas1"
        + (" --yes" if consequence else "")
    )
    command.__name__ = command.__qualname__ = f"{action}_target"  # its module-level name
    target_app.command(action)(command)
    return command


flush_target = _make_action("flush")
suspend_target = _make_action("suspend")
resume_target = _make_action("resume")
invalidate_target = _make_action("invalidate")


def register(app: typer.Typer) -> None:
    """Add ``hpccache target`` (its commands are the module-level functions above)."""
    app.add_typer(target_app, name="target")
