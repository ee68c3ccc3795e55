"""The ``create`` command of each AMLFS job group (their options differ: az's names).

Kept apart from :mod:`hpccache_cli.cli.amlfs_jobs` (the commands every job type shares)
so each module stays small; the shared work is that module's ``_create``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

import typer

from hpccache_cli.cli.amlfs_options import (
    EXIT_CODES,
    LOCATION_OPTION,
    QUEUE_OPTION,
    TIMEOUT_OPTION,
    AdminStatus,
    ConflictMode,
)
from hpccache_cli.cli.azure_options import AzureArgs, azure_command
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.options.resources import (
    AMLFS,
    AMLFS_JOB_IDS,
    AMLFS_RESOURCE_GROUP,
    amlfs_job,
)


def add_creates(groups: dict[str, typer.Typer], create: Callable[..., None],
                prefixes: Callable[[list[str] | None], list[str]]) -> None:
    conflict = typer.Option(None, "--conflict-resolution-mode", "--conflict-mode",
                            case_sensitive=False, show_default=False,
                            help="What to do where a blob meets an existing path: Fail, Skip, "
                            "OverwriteIfDirty, OverwriteAlways (Azure's default: Fail).")
    admin = typer.Option(None, "--admin-status", case_sensitive=False, show_default=False,
                         help="Enable (default) or Disable.")
    max_errors = typer.Option(None, "--maximum-errors", show_default=False,
                              help="Errors (not conflicts) tolerated before the job fails; "
                              "-1 = unlimited (Azure's default: 0).")

    @groups["import"].command("create", help="Create an import job and wait until it has "
                              "ended (--no-wait: until it has started).\n\n"
                              "Refused, naming it, while another blob-integration job runs "
                              "(--queue waits for it).\n\n" + EXIT_CODES + "\n\nExample: "
                              "hpccache amlfs import create -n job1 --amlfs-name myfs -g myrg "
                              "--import-prefixes /data --conflict-resolution-mode Skip")
    @reports_errors
    @azure_command(output=True)
    def import_create(
        name: str | None = amlfs_job("import"), fs_name: str | None = AMLFS,
        resource_group: str | None = AMLFS_RESOURCE_GROUP,
        ids: Optional[list[str]] = AMLFS_JOB_IDS,  # noqa: UP045
        import_prefixes: Optional[list[str]] = typer.Option(  # noqa: UP045
            None, "--import-prefixes", show_default=False,
            help="Blob prefixes to import (space- or comma-separated, or repeated; "
            "default /)."),
        conflict_resolution_mode: Optional[ConflictMode] = conflict,  # noqa: UP045
        maximum_errors: Optional[int] = max_errors,  # noqa: UP045
        location: str | None = LOCATION_OPTION, queue: bool = QUEUE_OPTION,
        wait: bool = typer.Option(True, "--wait/--no-wait",
                                  help="Wait for the job to end (default)."),
        timeout: float = TIMEOUT_OPTION, *, az: AzureArgs,
    ) -> None:
        props: dict[str, Any] = {"importPrefixes": prefixes(import_prefixes)}
        _error_rules(props, conflict_resolution_mode, maximum_errors)
        create(az, "import", fs_name, name, ids, resource_group, props, location, queue, wait,
               timeout)

    @groups["auto-export"].command("create", help="Create an auto-export job: new and "
                                   "changed files go to Blob continuously while it is enabled."
                                   "\n\nReturns once the job has started. Example: hpccache "
                                   "amlfs auto-export create -n ae1 --amlfs-name myfs -g myrg")
    @reports_errors
    @azure_command(output=True)
    def auto_export_create(
        name: str | None = amlfs_job("auto-export"), fs_name: str | None = AMLFS,
        resource_group: str | None = AMLFS_RESOURCE_GROUP,
        ids: Optional[list[str]] = AMLFS_JOB_IDS,  # noqa: UP045
        auto_export_prefixes: Optional[list[str]] = typer.Option(  # noqa: UP045
            None, "--auto-export-prefixes", show_default=False,
            help="File system prefix to export (Azure accepts one today; default /)."),
        admin_status: Optional[AdminStatus] = admin,  # noqa: UP045
        location: str | None = LOCATION_OPTION, queue: bool = QUEUE_OPTION,
        timeout: float = TIMEOUT_OPTION, *, az: AzureArgs,
    ) -> None:
        props: dict[str, Any] = {"autoExportPrefixes": prefixes(auto_export_prefixes)}
        if admin_status is not None:
            props["adminStatus"] = admin_status.value
        create(az, "auto-export", fs_name, name, ids, resource_group, props, location, queue,
               False, timeout)

    @groups["auto-import"].command("create", help="Create an auto-import job: new blobs "
                                   "appear in the file system continuously while it is "
                                   "enabled. While enabled it blocks manual jobs.\n\nReturns "
                                   "once the job has started. Example: hpccache amlfs "
                                   "auto-import create -n ai1 --amlfs-name myfs -g myrg")
    @reports_errors
    @azure_command(output=True)
    def auto_import_create(
        name: str | None = amlfs_job("auto-import"), fs_name: str | None = AMLFS,
        resource_group: str | None = AMLFS_RESOURCE_GROUP,
        ids: Optional[list[str]] = AMLFS_JOB_IDS,  # noqa: UP045
        auto_import_prefixes: Optional[list[str]] = typer.Option(  # noqa: UP045
            None, "--auto-import-prefixes", show_default=False,
            help="Blob prefixes to import (at most 100; default /)."),
        conflict_resolution_mode: Optional[ConflictMode] = conflict,  # noqa: UP045
        enable_deletions: bool = typer.Option(False, "--enable-deletions",
                                              help="Delete files whose blobs were deleted."),
        maximum_errors: Optional[int] = max_errors,  # noqa: UP045
        admin_status: Optional[AdminStatus] = admin,  # noqa: UP045
        location: str | None = LOCATION_OPTION, queue: bool = QUEUE_OPTION,
        timeout: float = TIMEOUT_OPTION, *, az: AzureArgs,
    ) -> None:
        props: dict[str, Any] = {"autoImportPrefixes": prefixes(auto_import_prefixes),
                                 "enableDeletions": enable_deletions}
        _error_rules(props, conflict_resolution_mode, maximum_errors)
        if admin_status is not None:
            props["adminStatus"] = admin_status.value
        create(az, "auto-import", fs_name, name, ids, resource_group, props, location, queue,
               False, timeout)


def _error_rules(props: dict[str, Any], conflict: ConflictMode | None,
                 maximum_errors: int | None) -> None:
    """What an import and an auto-import job share: the conflict mode and the error limit,
    set only when given (Azure's defaults otherwise)."""
    if conflict is not None:
        props["conflictResolutionMode"] = conflict.value
    if maximum_errors is not None:
        _check_errors(maximum_errors)
        props["maximumErrors"] = maximum_errors


def _check_errors(value: int) -> None:
    from hpccache_cli.errors import UsageError

    if value < -1:
        raise UsageError(f"--maximum-errors must be -1 (unlimited) or a number >= 0, not {value}")
