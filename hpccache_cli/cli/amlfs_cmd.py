"""``hpccache amlfs``: Azure Managed Lustre file systems and their blob integration.

``list``, ``show``, ``archive`` (waits for the archive by default), ``cancel-archive`` here;
the job groups ``import``, ``auto-export`` and ``auto-import`` in
:mod:`hpccache_cli.cli.amlfs_jobs`. JSON output has ``az amlfs``'s shape (properties
flattened, ``resourceGroup`` added); option names are az's where ``az amlfs`` has them.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Optional

import typer

from hpccache_cli.cli.amlfs_options import EXIT_CODES, QUEUE_OPTION, TIMEOUT_OPTION
from hpccache_cli.cli.azure_options import AzureArgs, azure_command, emit
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.options.resources import (
    AMLFS_IDS,
    AMLFS_POSITIONAL,
    AMLFS_RESOURCE_GROUP,
    AMLFS_SUBJECT,
)

amlfs_app = typer.Typer(
    help="List and show Azure Managed Lustre file systems; archive to Blob and run import and "
    "auto-export/auto-import jobs, with waits that follow the job's own state.\n\n"
    "Example: hpccache amlfs archive -n myfs -g myrg",
    no_args_is_help=True,
)

def fs_json(fs: Any) -> dict[str, Any]:
    from hpccache_cli.cli.az_output import az_shape
    from hpccache_cli.control.resolve import resource_group_of

    return az_shape(fs.as_dict(), resource_group_of(fs.id))


def fs_row(fs: Any) -> list[Any]:
    from hpccache_cli.control.amlfs import archive_progress, hsm_container, value
    from hpccache_cli.control.resolve import resource_group_of

    p = fs.properties
    archive = archive_progress(fs)
    return [fs.name, resource_group_of(fs.id), fs.location,
            value(p.health.state) if p and p.health else None,
            value(p.provisioning_state) if p else None,
            "yes" if hsm_container(fs) else "no",
            archive.state if archive else None]


@amlfs_app.command("list")
@reports_errors
@azure_command(output=True)
def list_fs(resource_group: str | None = AMLFS_RESOURCE_GROUP, *, az: AzureArgs) -> None:
    """List the Azure Managed Lustre file systems of the subscription (or of one group).

    Example: hpccache amlfs list -g myrg -o table
    """
    from hpccache_cli.cli.az_refs import group_or_default
    from hpccache_cli.control.amlfs import list_filesystems

    systems = list_filesystems(az.settings(), group_or_default(resource_group))
    headers = ["Name", "ResourceGroup", "Location", "Health", "State", "HSM", "Archive"]
    emit(az, [fs_json(f) for f in systems], headers, [fs_row(f) for f in systems])


@amlfs_app.command("show")
@reports_errors
@azure_command(output=True)
def show_fs(
    filesystems: Optional[list[str]] = AMLFS_POSITIONAL,  # noqa: UP045 - Typer needs Optional
    resource_group: str | None = AMLFS_RESOURCE_GROUP,
    name: str | None = AMLFS_SUBJECT,
    ids: Optional[list[str]] = AMLFS_IDS,  # noqa: UP045
    *,
    az: AzureArgs,
) -> None:
    """Show a file system: health, mount command, HSM container and archive status.

    Example: hpccache amlfs show -n myfs -g myrg --query clientInfo.mountCommand -o tsv
    """
    from hpccache_cli.cli.amlfs_refs import fs_refs
    from hpccache_cli.control.amlfs import archive_progress, get_filesystem, hsm_container

    shown = []
    for ref in fs_refs(filesystems, name, ids, resource_group):
        fs = get_filesystem(az.settings(ref.subscription_id), ref.resource_group, ref.name)
        archive = archive_progress(fs)
        client = fs.properties.client_info if fs.properties else None
        rows = [["Name", fs.name], ["Resource group", ref.resource_group],
                ["Location", fs.location],
                ["Mount command", client.mount_command if client else None],
                ["HSM container", hsm_container(fs) or "none (no HSM settings)"],
                ["Archive", archive.state if archive else None],
                ["Archive %", archive.percent if archive else None],
                ["Resource id", fs.id]]
        shown.append((fs_json(fs), rows))
    if len(shown) == 1:
        emit(az, shown[0][0], ["Field", "Value"], shown[0][1])
    else:
        emit(az, [d for d, _ in shown], ["Field", "Value"], [r for _, t in shown for r in t])


@amlfs_app.command("archive", help="Archive data from the file system to its blob container "
                   "(HSM), and wait until the archive has ended.\n\n"
                   "Only new and changed files are copied. The wait follows the file system's "
                   "archive status (state, percent, ETA), one status request per poll interval "
                   "(HPCCACHE_POLL_INTERVAL, default 2 s).\n\n" + EXIT_CODES + "\n\n"
                   "Example: hpccache amlfs archive -n myfs -g myrg --path /results")
@reports_errors
@azure_command()
def archive(
    filesystems: Optional[list[str]] = AMLFS_POSITIONAL,  # noqa: UP045
    resource_group: str | None = AMLFS_RESOURCE_GROUP,
    name: str | None = AMLFS_SUBJECT,
    ids: Optional[list[str]] = AMLFS_IDS,  # noqa: UP045
    path: str = typer.Option("/", "--path", "--filesystem-path", metavar="PREFIX",
                             help="File system path to archive (az's --filesystem-path); "
                             "'/' archives all modified data."),
    wait: bool = typer.Option(True, "--wait/--no-wait",
                              help="Wait for the archive to end (default), or return once "
                              "Azure accepted it."),
    queue: bool = QUEUE_OPTION,
    timeout: float = TIMEOUT_OPTION,
    *,
    az: AzureArgs,
) -> None:
    from hpccache_cli.cli.amlfs_jobs import on_wait
    from hpccache_cli.cli.amlfs_refs import fs_refs
    from hpccache_cli.cli.amlfs_wait import WaitReport, end_or_fail, wait_and_report
    from hpccache_cli.control import amlfs
    from hpccache_cli.control.aml_wait import read_archive
    from hpccache_cli.control.operations import check_timeout

    check_timeout(timeout)
    if not path.startswith("/"):
        from hpccache_cli.errors import UsageError

        raise UsageError(f"--path {path!r} must be absolute in the file system, such as "
                         "/results (or / for everything)")
    for ref in fs_refs(filesystems, name, ids, resource_group):
        settings = az.settings(ref.subscription_id)
        before = amlfs.archive_progress(amlfs.start_archive(
            settings, ref.resource_group, ref.name, path, queue=queue, timeout=timeout,
            on_wait=on_wait))
        label = f"archive of {path!r} on {ref.name}"
        if not wait:
            typer.echo(f"started {label}; it continues in Azure (hpccache amlfs show "
                       f"{ref.name} -g {ref.resource_group})")
            continue
        with amlfs.fs_client(settings, ref.resource_group, ref.name) as client:
            end = wait_and_report(
                partial(read_archive, client, ref.resource_group, ref.name, label, before),
                WaitReport(label), timeout=timeout, interval=settings.polling_interval,
                show=f"hpccache amlfs show {ref.name} -g {ref.resource_group}",
                cancel=f"hpccache amlfs cancel-archive {ref.name} -g {ref.resource_group}")
        end_or_fail(end)


@amlfs_app.command("cancel-archive")
@reports_errors
@azure_command()
def cancel_archive(
    filesystems: Optional[list[str]] = AMLFS_POSITIONAL,  # noqa: UP045
    resource_group: str | None = AMLFS_RESOURCE_GROUP,
    name: str | None = AMLFS_SUBJECT,
    ids: Optional[list[str]] = AMLFS_IDS,  # noqa: UP045
    *,
    az: AzureArgs,
) -> None:
    """Cancel the file system's running archive (files already copied stay in Blob).

    Example: hpccache amlfs cancel-archive -n myfs -g myrg
    """
    from hpccache_cli.cli.amlfs_refs import fs_refs
    from hpccache_cli.control import amlfs

    for ref in fs_refs(filesystems, name, ids, resource_group):
        before = amlfs.cancel_archive(az.settings(ref.subscription_id), ref.resource_group,
                                      ref.name)
        if before is None or not before.running:
            state = before.state if before else "no archive"
            typer.echo(f"no archive was running on {ref.name} ({state}); nothing to cancel")
        else:
            typer.echo(f"asked Azure to cancel the archive of {before.path!r} on {ref.name}")


def register(app: typer.Typer) -> None:
    from hpccache_cli.cli.amlfs_jobs import add_job_groups

    add_job_groups(amlfs_app)
    from hpccache_cli.cli.amlfs_files import add_file_commands

    add_file_commands(amlfs_app)
    app.add_typer(amlfs_app, name="amlfs")
