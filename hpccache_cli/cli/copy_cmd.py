"""``hpccache copy``: parallel ingest through the cache, ending with the data on the target.

Options are parsed here; the run is ``hpccache_cli.cli.copy_run`` (which reuses the flush
command's naming, output files, pipeline hooks and summary printing) and the engine
``hpccache_cli.flush.copy``.
"""

from __future__ import annotations

from typing import Optional

import typer

from hpccache_cli.cli.azure_options import AzureArgs, azure_command
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.flush_cmd import OutputChoice, PathKindChoice, verbosity
from hpccache_cli.cli.nfs_options import PANEL as CONN
from hpccache_cli.cli.nfs_options import ConnectionArgs, connection_command
from hpccache_cli.flush import DEFAULT_CONNECTIONS, DEFAULT_TIMEOUT

WHERE, HOW, OUT, PIPE = "Where", "How", "Output", "Pipelines and scripts"

HELP = (
    "Copy files into the cache in parallel, through every mount address, and write them back "
    "to the storage target.\n\n"
    "A copy from one client through one kernel mount is slow; copy writes through the bundled "
    "NFS client instead, without a mount: many files at once (-j), each large file in parallel "
    "chunks of the server's write size (--chunks), every call on the least-loaded mount "
    "address. With --flush (the default) each file is written back to its storage target "
    "before it is reported, so the command ends with the data on the target.\n\n"
    "SRC are local files and directories: a file goes to DEST/NAME, a directory to "
    "DEST/NAME/... with everything below it, SRC/ (a trailing slash) puts a directory's "
    "contents straight into DEST. DEST and the directories on the way are created. DEST is "
    "named as the paths of hpccache flush: a namespace path with --cache NAME -g RG (or "
    "--cache-id), a path under --export with --ip, or a client path (through the mount "
    "table).\n\n"
    "A rerun skips files already identical on the cache (same size and mtime, rsync's quick "
    "check), so an interrupted copy resumes where it stopped. Files keep their mode and times; "
    "directories their mode (plus rwx for the owner). "
    "Symbolic links inside directories, FIFOs, sockets and devices are skipped with the "
    "reason (a link named as SRC is followed); sparse files keep their holes.\n\n"
    "Every path ends as copied, skipped (with the reason), failed (with the reason) or "
    "unfinished (interrupted: a rerun resumes). --report, --failed-to, --junit, --shard K/N "
    "or auto (Slurm, PBS Pro, LSF, Grid Engine arrays, Azure Pipelines: each job copies its "
    "share of the files) and Azure Pipelines logging as for flush.\n\n"
    "Exit codes: 0 every path copied or skipped; 1 some failed or were not finished; 2 bad "
    "usage or results unwritable; 3 Azure error; 4 cache unreachable; 130 interrupted.\n\n"
    "Example: hpccache copy --cache mycache -g myrg ./run42 /NAS_12_exp5/incoming"
)


def register(app: typer.Typer) -> None:
    @app.command("copy", help=HELP, no_args_is_help=True)
    @reports_errors
    @azure_command(refresh=True)
    @connection_command
    def copy(
        sources: list[str] = typer.Argument(
            ..., metavar="SRC", show_default=False,
            help="Local files and directories to copy."),
        dest: str = typer.Argument(
            ..., metavar="DEST", show_default=False,
            help="The destination directory on the cache (created if missing)."),
        ip: list[str] = typer.Option(
            [], "--ip", metavar="IP", rich_help_panel=WHERE,
            help="A mount address of the cache (an IP address); repeat it to spread the "
                 "copy over several."),
        export: Optional[str] = typer.Option(  # noqa: UP045
            None, "--export", metavar="NAMESPACE_PATH", rich_help_panel=WHERE,
            help="The junction DEST is under, e.g. /NAS_12_exp5."),
        cache: Optional[str] = typer.Option(  # noqa: UP045
            None, "--cache", "--cache-name", "--name", "-n", metavar="NAME", rich_help_panel=WHERE,
            help="The cache's name (with -g): mount addresses and junctions from Azure."),
        resource_group: Optional[str] = typer.Option(  # noqa: UP045
            None, "--resource-group", "-g", rich_help_panel=WHERE,
            help="Resource group of --cache."),
        cache_id: Optional[str] = typer.Option(  # noqa: UP045
            None, "--cache-id", "--ids", metavar="RESOURCE_ID", rich_help_panel=WHERE,
            help="The cache's full resource id, instead of --cache and -g."),
        path_kind: Optional[PathKindChoice] = typer.Option(  # noqa: UP045
            None, "--path-kind", rich_help_panel=WHERE, show_default=False,
            help="Read DEST as local (client path), namespace (with --cache or --export) or "
                 "export (relative to --export), instead of recognising it."),
        mountinfo: Optional[str] = typer.Option(  # noqa: UP045
            None, "--mountinfo", metavar="FILE", rich_help_panel=WHERE,
            help="Mount table for a client path DEST (default: $HPCCACHE_MOUNTINFO, else "
                 "/proc/self/mountinfo)."),
        flush: bool = typer.Option(
            True, "--flush/--no-flush", rich_help_panel=HOW,
            help="Write each file back to its storage target and wait (--no-flush: leave "
                 "that to the cache's schedule)."),
        concurrency: int = typer.Option(
            128, "--concurrency", "-j", min=1, rich_help_panel=HOW,
            help="Files copied at once (at most 4096)."),
        chunks: int = typer.Option(
            4, "--chunks", min=1, max=64, rich_help_panel=HOW,
            help="WRITE calls in flight per large file."),
        timeout: float = typer.Option(
            DEFAULT_TIMEOUT, "--timeout", min=0, rich_help_panel=HOW,
            help="Seconds allowed per file, write-back included (0 = no limit)."),
        connections: int = typer.Option(
            DEFAULT_CONNECTIONS, "--connections", min=1, rich_help_panel=CONN,
            help="TCP connections per mount address."),
        output: OutputChoice = typer.Option(
            OutputChoice.text, "--output", "-o", rich_help_panel=OUT,
            help="Summary format on stdout: text, or json for scripts (the flush's keys, "
                 "with copied, bytes_copied and mb_per_second)."),
        report: Optional[str] = typer.Option(  # noqa: UP045
            None, "--report", metavar="FILE", rich_help_panel=OUT,
            help="Write one JSON line per path: path, outcome, reason, seconds."),
        failed_to: Optional[str] = typer.Option(  # noqa: UP045
            None, "--failed-to", metavar="FILE", rich_help_panel=OUT,
            help="Write the failed and unfinished source paths, one a line (a rerun of the "
                 "same command resumes: identical files are skipped)."),
        verbose: bool = typer.Option(
            False, "--verbose", "-v", rich_help_panel=OUT, help="Show every path's outcome."),
        quiet: bool = typer.Option(
            False, "--quiet", "-q", rich_help_panel=OUT, help="Show only failures."),
        junit: Optional[str] = typer.Option(  # noqa: UP045
            None, "--junit", metavar="FILE", rich_help_panel=PIPE,
            help="Write a JUnit XML report, one test case per path (PublishTestResults@2)."),
        shard: Optional[str] = typer.Option(  # noqa: UP045
            None, "--shard", metavar="K/N|auto", rich_help_panel=PIPE, show_default=False,
            help="Copy only this job's share (the K-th of N) of the files; auto: from a "
                 "Slurm, PBS Pro, LSF or Grid Engine job array, or Azure Pipelines (1/1 "
                 "outside them)."),
        allow_partial: bool = typer.Option(
            False, "--allow-partial", rich_help_panel=PIPE,
            help="Exit 0 when some files failed (in Azure Pipelines: succeeded with issues)."),
        no_pipeline_log: bool = typer.Option(
            False, "--no-pipeline-log", rich_help_panel=PIPE,
            help="No ##vso[...] logging commands, even with TF_BUILD=True."),
        *,
        az: AzureArgs,
        conn: ConnectionArgs,
    ) -> None:
        import os

        from hpccache_cli.cli.copy_run import execute_copy
        from hpccache_cli.cli.flush.pipeline_run import PipelineRun
        from hpccache_cli.cli.flush.values import FlushRequest
        from hpccache_cli.flush.options import FlushOptions

        pipeline = PipelineRun.from_options(
            junit=junit, shard=shard, pipeline_log=not no_pipeline_log,
            allow_partial=allow_partial, json_output=output.value == "json", environ=os.environ,
        )
        options = FlushOptions(concurrency=concurrency, timeout=timeout,
                               connections=connections, client=conn.client_options())
        request = FlushRequest(
            paths=[dest], ips=ip, export=export, options=options, output=output.value,
            report=report, failed_to=failed_to, verbosity=verbosity(verbose, quiet),
            cache=cache, resource_group=resource_group, cache_id=cache_id,
            path_kind=path_kind.value if path_kind else None, mountinfo=mountinfo,
            force=bool(cache or cache_id), azure=az, pipeline=pipeline,
        )
        if verbose:
            import logging
            import sys

            if pipeline.shard_note:
                print(f"hpccache: {pipeline.shard_note}", file=sys.stderr)
            from hpccache_cli.cli.runtime import show_library_logs

            show_library_logs(logging.WARNING)
        code = execute_copy(request, sources, dest, flush=flush, chunks=chunks,
                            shard=pipeline.shard)
        raise typer.Exit(code)
