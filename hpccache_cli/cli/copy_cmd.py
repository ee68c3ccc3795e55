"""``hpccache copy``: parallel ingest through the cache, ending with the data on the target.

Options are parsed here; the run is ``hpccache_cli.cli.copy_run`` (which reuses the flush
command's naming, output files, pipeline hooks and summary printing) and the engine
``hpccache_cli.flush.copy``.
"""

from __future__ import annotations

import typer

from hpccache_cli.cli.azure_options import AzureArgs, azure_command
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.nfs_options import PANEL as CONN
from hpccache_cli.cli.nfs_options import ConnectionArgs, connection_command
from hpccache_cli.cli.options.paths import (
    HOW,
    OutputArgs,
    WhereArgs,
    output_command,
    output_options,
    pipeline_options,
    where_command,
    where_options,
)
from hpccache_cli.flush import DEFAULT_CONNECTIONS, DEFAULT_TIMEOUT

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
    "usage or results unwritable; 3 Azure error; 4 cache unreachable; 130 interrupted "
    "(Ctrl-C, SIGTERM or SIGHUP; report and failed list still written).\n\n"
    "Example: hpccache copy --cache mycache -g myrg ./run42 /NAS_12_exp5/incoming"
)


#: Where DEST is: the shared group (no input options: the sources are arguments).
WHERE_OPTIONS = where_options(
    ip="A mount address of the cache (an IP address); repeat it to spread the "
    "copy over several.",
    export="The junction DEST is under, e.g. /NAS_12_exp5.",
    cache="The cache's name (with -g): mount addresses and junctions from Azure.",
    cache_id="The cache's full resource id, instead of --cache and -g.",
    path_kind="Read DEST as local (client path), namespace (with --cache or --export) or "
    "export (relative to --export), instead of recognising it.",
    mountinfo="Mount table for a client path DEST (default: $HPCCACHE_MOUNTINFO, else "
    "/proc/self/mountinfo).",
)

#: Where results go: the shared group, with what each option means for copy.
OUTPUT_OPTIONS = output_options(
    output="Summary format on stdout: text, or the summary object for scripts (the "
    "flush's keys, with copied, bytes_copied and mb_per_second) as json, jsonc, yaml, "
    "yamlc, tsv or table; none prints nothing (the exit code tells).",
    report="Write one JSON line per path: path, outcome, reason, seconds.",
    failed_to="Write the failed and unfinished source paths, one a line (a rerun of the "
    "same command resumes: identical files are skipped).",
    verbose="Show every path's outcome.",
) + pipeline_options(
    shard="Copy only this job's share (the K-th of N) of the files; auto: from a "
    "Slurm, PBS Pro, LSF or Grid Engine job array, or Azure Pipelines (1/1 "
    "outside them).",
)


def register(app: typer.Typer) -> None:
    @app.command("copy", help=HELP, no_args_is_help=True)
    @reports_errors
    @azure_command(refresh=True)
    @connection_command
    @output_command(OUTPUT_OPTIONS)
    @where_command(WHERE_OPTIONS)
    def copy(
        sources: list[str] = typer.Argument(
            ..., metavar="SRC", show_default=False,
            help="Local files and directories to copy."),
        dest: str = typer.Argument(
            ..., metavar="DEST", show_default=False,
            help="The destination directory on the cache (created if missing)."),
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
        *,
        where: WhereArgs,
        out: OutputArgs,
        az: AzureArgs,
        conn: ConnectionArgs,
    ) -> None:
        from hpccache_cli.cli.copy_run import execute_copy
        from hpccache_cli.flush.options import FlushOptions
        from hpccache_cli.jobs.flush.values import FlushRequest

        pipeline = out.pipeline_run()
        options = FlushOptions(concurrency=concurrency, timeout=timeout,
                               connections=connections, client=conn.client_options())
        request = FlushRequest(
            paths=[dest], **where.naming(), options=options, output=out.output.value,
            query=out.query, report=out.report, failed_to=out.failed_to, verbosity=out.verbosity(),
            force=bool(where.cache or where.cache_id), azure=az, pipeline=pipeline,
        )
        out.show_logs(pipeline.shard_note)
        code = execute_copy(request, sources, dest, flush=flush, chunks=chunks,
                            shard=pipeline.shard)
        raise typer.Exit(code)
