"""``hpccache amlfs export``: make files current in Blob, and with ``--wait`` follow each one
until its blob proves it (:mod:`hpccache_cli.lustre.export`).

The records are flush's: each file's end is a :class:`~hpccache_cli.flush.results.FileResult`
(exported -> ``flushed``, already current -> ``clean``, queued -> ``started``), so
``--report``, ``--failed-to``, ``--junit``, the pipeline's logging commands, ``--shard`` and
``--allow-partial`` are flush's own sinks and rules, and so are the exit codes.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import typer

from hpccache_cli.cli.amlfs_state import _O
from hpccache_cli.cli.azure_options import AzureArgs, azure_command
from hpccache_cli.cli.common import reports_errors

EXPORT_HELP = (
    "Make files current in Blob: queue lfs hsm_archive for the files that need it (batched), "
    "and with --wait follow each file until it is archived and not dirty AND its blob "
    "matches (size and modtime).\n\n"
    "Files already current are left alone. Changes an archive does not carry (renamed since "
    "the archive, metadata only) are reported as not-exportable, never as exported; lost "
    "files, refused or failed requests and timeouts as failures with their reason.\n\n"
    "--via archive-job, for a machine with no Lustre client (a pipeline agent; paths in the "
    "file system with -n FS -g RG): an Azure archive of the covering directory, then each "
    "file's blob is checked (present; the Lustre side is not visible there).\n\n"
    "Records as flush: --report (JSON lines; exported files read 'flushed', already current "
    "'clean', queued 'started'), --failed-to, --junit, Azure Pipelines logging commands "
    "under TF_BUILD, --shard, --allow-partial; -o json prints flush's JSON summary. A file "
    "named twice is exported once.\n\n"
    "Exit codes: 0 every file exported or already current (or queued, without --wait); 1 some "
    "file failed or was not exportable; 2 bad usage or outputs unwritable; 3 an Azure error; "
    "130 interrupted (Ctrl-C, SIGTERM or SIGHUP: every file still gets its record, unfinished "
    "ones say where they stand; with --via archive-job the job goes on in Azure).\n\n"
    "Example: hpccache amlfs export -r /lustre/results --wait --failed-to failed.txt"
)
PIPE = "Pipelines"


def register_export(app: typer.Typer) -> None:
    @app.command("export", help=EXPORT_HELP,
                 short_help="Archive the files that need it; --wait until each blob matches.")
    @reports_errors
    @azure_command(output=True)
    def export(
        paths: Optional[list[str]] = typer.Argument(  # noqa: UP045 - Typer needs Optional
            None, metavar="PATH...", show_default=False,
            help="Files (default: read them from stdin)."),
        name: Optional[str] = _O["name"],  # noqa: UP045
        resource_group: Optional[str] = _O["resource_group"],  # noqa: UP045
        from_file: Optional[str] = _O["from_file"],  # noqa: UP045
        null: bool = _O["null"],
        recursive: bool = _O["recursive"],
        mountinfo: Optional[str] = _O["mountinfo"],  # noqa: UP045
        connection_string: Optional[str] = _O["connection_string"],  # noqa: UP045
        lfs: Optional[str] = _O["lfs"],  # noqa: UP045
        wait: bool = typer.Option(False, "--wait/--no-wait",
                                  help="Wait per file until archived and its blob matches "
                                  "(default: queue the archives and return)."),
        timeout: float = typer.Option(600.0, "--timeout", metavar="SECONDS",
                                      help="Per file: give up waiting this long after its "
                                      "request (with --via archive-job: for the whole job)."),
        retries: int = typer.Option(1, "--retries", metavar="N",
                                    help="Queue a file again this many times when the "
                                    "copytool ended its request without archiving it."),
        via: str = typer.Option("lfs", "--via", metavar="lfs|archive-job",
                                help="lfs (a Lustre client: per file) or archive-job (no "
                                "client: an Azure archive of the covering directory)."),
        report: Optional[str] = typer.Option(  # noqa: UP045
            None, "--report", metavar="FILE", help="Write one JSON line per file to FILE."),
        failed_to: Optional[str] = typer.Option(  # noqa: UP045
            None, "--failed-to", metavar="FILE",
            help="Write the paths that failed (input format) to FILE, to retry them."),
        junit: Optional[str] = typer.Option(  # noqa: UP045
            None, "--junit", metavar="FILE", rich_help_panel=PIPE,
            help="Write a JUnit XML report (one test case per file)."),
        shard: Optional[str] = typer.Option(  # noqa: UP045
            None, "--shard", metavar="K/N|auto", rich_help_panel=PIPE,
            help="Export only this job's share of the files (as flush)."),
        allow_partial: bool = typer.Option(False, "--allow-partial", rich_help_panel=PIPE,
                                           help="Failed files: exit 0 (SucceededWithIssues "
                                           "in a pipeline)."),
        pipeline_log: bool = typer.Option(True, "--pipeline-log/--no-pipeline-log",
                                          rich_help_panel=PIPE,
                                          help="Azure Pipelines logging commands under "
                                          "TF_BUILD."),
        *,
        az: AzureArgs,
    ) -> None:
        from hpccache_cli.cli.amlfs_export_run import ExportCall, run_export

        def prepare() -> tuple[ExportCall, Any]:
            """Everything before the records open (a signal here: one line)."""
            from hpccache_cli.cli.amlfs_state import hsm_side
            from hpccache_cli.cli.amlfs_where import expand, read_paths, resolve, unique
            from hpccache_cli.cli.flush.pipeline_run import PipelineRun
            from hpccache_cli.errors import UsageError
            from hpccache_cli.pipelines.shard import in_shard

            if via not in ("lfs", "archive-job"):
                raise UsageError(f"--via {via!r}: choose lfs or archive-job")
            if timeout <= 0 or retries < 0:
                raise UsageError("--timeout must be above 0 and --retries at least 0")
            pipeline = PipelineRun.from_options(junit=junit, shard=shard, pipeline_log=pipeline_log,
                                                allow_partial=allow_partial,
                                                json_output=az.output is not None and
                                                az.output.value == "json", environ=os.environ)
            where = resolve(read_paths(paths, from_file, null), name=name,
                            resource_group=resource_group, mountinfo=mountinfo,
                            settings_of=az.settings, connection_string=connection_string)
            targets = unique(expand(where, recursive))
            if pipeline.shard is not None:
                k, n = pipeline.shard
                targets = [t for t in targets if in_shard(t.fs_path, k, n)]
            if targets:  # the container answers at all, before anything is queued
                from hpccache_cli.cli.amlfs_state import blob_down
                from hpccache_cli.lustre.state import judge_files

                blob_down(judge_files(targets[:1], None, where.fs.container))
            if via == "lfs" and any(t.client_path is None for t in targets):
                raise UsageError("these paths are not on a Lustre mount here: lfs cannot archive "
                                 "them; use --via archive-job (an Azure archive) on a machine "
                                 "without a Lustre client")
            hsm = hsm_side(where, lfs) if via == "lfs" else None  # (found before any output)
            return ExportCall(targets, where, via, wait, timeout, retries, hsm, report,
                              failed_to, null), pipeline

        code = run_export(prepare, az, az.output is not None and az.output.value == "json")
        if code:
            raise typer.Exit(code)
