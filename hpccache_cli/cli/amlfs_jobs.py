"""``hpccache amlfs import|auto-export|auto-import``: the blob-integration jobs.

Options are ``az amlfs``'s (``--amlfs-name``/``--aml-filesystem-name``, ``-n``/``--name``,
``--import-prefixes``, ``--conflict-resolution-mode``, ``--maximum-errors``, ...). The create
commands refuse honestly when another job holds the file system's one job slot (naming it;
``--queue`` waits for it) or when the file system has no HSM settings. ``import create``
waits for the job's own end state by default (``--no-wait`` returns once it has started).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Optional

import typer

from hpccache_cli.cli.amlfs_options import EXIT_CODES, TIMEOUT_OPTION
from hpccache_cli.cli.azure_options import AzureArgs, azure_command, emit
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.options.resources import (
    AMLFS,
    AMLFS_JOB_IDS,
    AMLFS_RESOURCE_GROUP,
    amlfs_job,
)


def job_json(job: Any) -> dict[str, Any]:
    from hpccache_cli.cli.az_output import az_shape
    from hpccache_cli.control.resolve import resource_group_of

    return az_shape(job.as_dict(), resource_group_of(job.id))


def job_row(job: Any) -> list[Any]:
    from hpccache_cli.control.aml_wait import job_progress

    props = (job.as_dict().get("properties") or {})
    prefixes = (props.get("importPrefixes") or props.get("autoExportPrefixes")
                or props.get("autoImportPrefixes") or [])
    reading = job_progress(job, job.name)
    return [job.name, reading.state, props.get("adminStatus"), prefixes, reading.counts()]


HEADERS = ["Name", "State", "AdminStatus", "Prefixes", "Counts"]


def _prefixes(values: list[str] | None) -> list[str]:
    """``--import-prefixes /a /b`` or repeated; each must be absolute."""
    from hpccache_cli.errors import UsageError

    found = [p for v in (values or []) for p in v.replace(",", " ").split()] or ["/"]
    for p in found:
        if not p.startswith("/"):
            raise UsageError(f"prefix {p!r} must start with '/' (a path in the blob container "
                             "as the file system sees it, such as /data)")
    if len(found) > 100:
        raise UsageError(f"{len(found)} prefixes given; Azure accepts at most 100")
    return found


def on_wait(holder: Any, waited: float) -> None:
    typer.echo(f"waiting for {holder.describe()} to end (--queue, {waited:.0f} s)", err=True)


def _create(az: AzureArgs, word: str, fs_name: str | None, name: str | None,
            ids: list[str] | None, rg: str | None, props: dict[str, Any], location: str | None,
            queue: bool, wait: bool, timeout: float) -> None:
    from hpccache_cli.cli.amlfs_refs import job_refs
    from hpccache_cli.cli.amlfs_wait import WaitReport, end_or_fail, wait_and_report
    from hpccache_cli.control import aml_jobs
    from hpccache_cli.control.operations import check_timeout

    check_timeout(timeout)
    kind = aml_jobs.KINDS[word]
    for ref in job_refs(word, fs_name, name, ids, rg):
        check_job_name(ref.name, word)
        settings = az.settings(ref.fs.subscription_id)
        fs, group = ref.fs.name, ref.fs.resource_group
        job = aml_jobs.create_job(settings, group, fs, kind, ref.name, props, location=location,
                                  queue=queue, timeout=timeout, on_wait=on_wait)
        if not wait:
            emit(az, job_json(job), HEADERS, [job_row(job)])
            continue
        label = f"{kind.noun} {ref.name!r} on {fs}"
        with aml_jobs.job_client(settings, group, fs, kind, ref.name) as client:
            ops = getattr(client, kind.ops)
            end = wait_and_report(
                partial(job_read, ops, group, fs, ref.name, label), WaitReport(label),
                timeout=timeout, interval=settings.polling_interval,
                show=ref.command("show"), cancel=ref.command("cancel"))
            job = ops.get(group, fs, ref.name)
        emit(az, job_json(job), HEADERS, [job_row(job)])
        end_or_fail(end)


def check_job_name(name: str, word: str) -> None:
    """Azure's rule for job names, checked before any request (one line, exit 2)."""
    import re

    from hpccache_cli.errors import UsageError

    if not re.fullmatch(r"[0-9a-zA-Z][-0-9a-zA-Z_]{0,78}[0-9a-zA-Z]", name):
        raise UsageError(f"{word} job name {name!r} is not valid: 2-80 letters, digits, '-' "
                         "or '_', starting and ending with a letter or digit")


def job_read(ops: Any, group: str, fs: str, name: str, label: str) -> Any:
    """One status GET of a job, as a reading."""
    from hpccache_cli.control.aml_wait import job_progress

    return job_progress(ops.get(group, fs, name), label)


def _generic(group: typer.Typer, word: str) -> None:
    """show, list and delete, the same for every job type."""

    @group.command("show", help=f"Show an {word} job: its state and counts.\n\nExample: "
                   f"hpccache amlfs {word} show -n job1 --amlfs-name myfs -g myrg")
    @reports_errors
    @azure_command(output=True)
    def show(name: str | None = amlfs_job(word), fs_name: str | None = AMLFS,
             resource_group: str | None = AMLFS_RESOURCE_GROUP,
             ids: Optional[list[str]] = AMLFS_JOB_IDS,  # noqa: UP045
             *, az: AzureArgs) -> None:
        from hpccache_cli.cli.amlfs_refs import job_refs
        from hpccache_cli.control import aml_jobs

        jobs = [aml_jobs.get_job(az.settings(r.fs.subscription_id), r.fs.resource_group,
                                 r.fs.name, aml_jobs.KINDS[word], r.name)
                for r in job_refs(word, fs_name, name, ids, resource_group)]
        data: Any = job_json(jobs[0]) if len(jobs) == 1 else [job_json(j) for j in jobs]
        emit(az, data, HEADERS, [job_row(j) for j in jobs])

    @group.command("list", help=f"List the {word} jobs of a file system.\n\nExample: "
                   f"hpccache amlfs {word} list --amlfs-name myfs -g myrg -o table")
    @reports_errors
    @azure_command(output=True)
    def list_(fs_name: str | None = AMLFS, resource_group: str | None = AMLFS_RESOURCE_GROUP,
              *, az: AzureArgs) -> None:
        from hpccache_cli.cli.amlfs_refs import one_fs
        from hpccache_cli.control import aml_jobs
        from hpccache_cli.errors import UsageError

        if not fs_name:
            raise UsageError("which file system? pass --amlfs-name")
        ref = one_fs(fs_name, resource_group)
        jobs = aml_jobs.list_jobs(az.settings(ref.subscription_id), ref.resource_group,
                                  ref.name, aml_jobs.KINDS[word])
        emit(az, [job_json(j) for j in jobs], HEADERS, [job_row(j) for j in jobs])

    @group.command("delete", help=f"Delete an {word} job (a running one is stopped first).\n\n"
                   f"Example: hpccache amlfs {word} delete -n job1 --amlfs-name myfs -g myrg")
    @reports_errors
    @azure_command()
    def delete(name: str | None = amlfs_job(word), fs_name: str | None = AMLFS,
               resource_group: str | None = AMLFS_RESOURCE_GROUP,
               ids: Optional[list[str]] = AMLFS_JOB_IDS,  # noqa: UP045
               wait: bool = typer.Option(True, "--wait/--no-wait",
                                         help="Wait until Azure has deleted it."),
               timeout: float = TIMEOUT_OPTION, *, az: AzureArgs) -> None:
        from hpccache_cli.cli.amlfs_refs import job_refs
        from hpccache_cli.control import aml_jobs

        for r in job_refs(word, fs_name, name, ids, resource_group):
            aml_jobs.delete_job(az.settings(r.fs.subscription_id), r.fs.resource_group,
                                r.fs.name, aml_jobs.KINDS[word], r.name, wait=wait,
                                timeout=timeout)
            typer.echo(f"{'deleted' if wait else 'deleting'} {word} job {r.name!r} of {r.fs.name}")


def _admin(group: typer.Typer, word: str, verb: str, status: str, doc: str) -> None:
    @group.command(verb, help=doc)
    @reports_errors
    @azure_command(output=True)
    def command(name: str | None = amlfs_job(word), fs_name: str | None = AMLFS,
                resource_group: str | None = AMLFS_RESOURCE_GROUP,
                ids: Optional[list[str]] = AMLFS_JOB_IDS,  # noqa: UP045
                *, az: AzureArgs) -> None:
        from hpccache_cli.cli.amlfs_refs import job_refs
        from hpccache_cli.control import aml_jobs

        for r in job_refs(word, fs_name, name, ids, resource_group):
            job = aml_jobs.set_admin_status(az.settings(r.fs.subscription_id),
                                            r.fs.resource_group, r.fs.name,
                                            aml_jobs.KINDS[word], r.name, status)
            emit(az, job_json(job), HEADERS, [job_row(job)])


def add_job_groups(app: typer.Typer) -> None:
    from hpccache_cli.cli.amlfs_jobs_create import add_creates

    groups: dict[str, typer.Typer] = {}
    for word, text in (("import", "Import blobs into the file system as released files "
                        "(import jobs)."),
                       ("auto-export", "Export new and changed files to Blob continuously "
                        "(auto-export jobs)."),
                       ("auto-import", "Import new blobs into the file system continuously "
                        "(auto-import jobs).")):
        example = f"hpccache amlfs {word} list --amlfs-name myfs -g myrg"
        groups[word] = typer.Typer(help=f"{text}\n\nExample: {example}", no_args_is_help=True)
        _generic(groups[word], word)
        app.add_typer(groups[word], name=word)
    add_creates(groups, _create, _prefixes)
    _admin(groups["import"], "import", "cancel", "Cancel", "Cancel a running import job "
           "(files already imported stay).\n\nExample: hpccache amlfs import cancel -n job1 "
           "--amlfs-name myfs -g myrg")
    for word in ("auto-export", "auto-import"):
        _admin(groups[word], word, "enable", "Enable",
               f"Enable an {word} job (it takes the file system's one job slot).\n\n"
               f"Example: hpccache amlfs {word} enable -n job1 --amlfs-name myfs -g myrg")
        _admin(groups[word], word, "disable", "Disable", f"Disable an {word} job.\n\n"
               f"Example: hpccache amlfs {word} disable -n job1 --amlfs-name myfs -g myrg")
    _wait_command(groups["import"])


def _wait_command(group: typer.Typer) -> None:
    @group.command("wait", help="Wait until an import job has ended, following its state; "
                   "exit with its outcome.\n\n" + EXIT_CODES + "\n\nExample: hpccache amlfs "
                   "import wait -n job1 --amlfs-name myfs -g myrg --timeout 7200")
    @reports_errors
    @azure_command(output=True)
    def wait(name: str | None = amlfs_job("import"), fs_name: str | None = AMLFS,
             resource_group: str | None = AMLFS_RESOURCE_GROUP,
             ids: Optional[list[str]] = AMLFS_JOB_IDS,  # noqa: UP045
             timeout: float = TIMEOUT_OPTION, *, az: AzureArgs) -> None:
        from hpccache_cli.cli.amlfs_refs import job_refs
        from hpccache_cli.cli.amlfs_wait import WaitReport, end_or_fail, wait_and_report
        from hpccache_cli.control.aml_jobs import IMPORT, job_client
        from hpccache_cli.control.operations import check_timeout

        check_timeout(timeout)
        for r in job_refs("import", fs_name, name, ids, resource_group):
            settings = az.settings(r.fs.subscription_id)
            group_, fs = r.fs.resource_group, r.fs.name
            label = f"import job {r.name!r} on {fs}"
            with job_client(settings, group_, fs, IMPORT, r.name) as client:
                read = partial(job_read, client.import_jobs, group_, fs, r.name, label)
                end = wait_and_report(read, WaitReport(label), timeout=timeout,
                                      interval=settings.polling_interval,
                                      show=r.command("show"), cancel=r.command("cancel"))
                job = client.import_jobs.get(group_, fs, r.name)
            emit(az, job_json(job), HEADERS, [job_row(job)])
            end_or_fail(end)
