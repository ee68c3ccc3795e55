"""``hpccache refresh``: make the cache compare its copies with the storage target now.

Options are parsed here; the run is ``hpccache_cli.cli.refresh_run`` (which reuses the flush
command's naming, input and output code) and the engine ``hpccache_cli.flush.refresh``.
"""

from __future__ import annotations

from typing import Optional

import typer

from hpccache_cli.cli.azure_options import AzureArgs, azure_command
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.nfs_options import PANEL as CONN
from hpccache_cli.cli.nfs_options import ConnectionArgs, connection_command
from hpccache_cli.cli.options.paths import (
    HOW,
    OUT,
    OutputArgs,
    WhereArgs,
    input_options,
    output_command,
    output_options,
    shard_option,
    where_command,
    where_options,
)
from hpccache_cli.flush import DEFAULT_CONNECTIONS, DEFAULT_TIMEOUT

HELP = (
    "Make the cache compare its copies with the storage target now (back-end verification "
    "on demand).\n\n"
    "The cache serves its own copy of a file until its storage target's verification timer "
    "runs out (by usage model: never, 30 s, 60 s, 3 h or 8 h) or until it serves a READDIRPLUS "
    "of the file's directory. After files were changed directly on the storage (another "
    "site, a pre-processing step on the NAS), refresh lists each directory named with "
    "READDIRPLUS, every page, so the cache compares its copies with the back end at once and "
    "serves the new versions. Copies the cache has not written back yet (dirty) are kept: "
    "they win over the back end.\n\n"
    "Paths are directories, or files meaning their directory; from arguments, --from-file "
    "FILE or stdin (-0 for NUL-separated). They are named as for hpccache flush: client paths "
    "(through the mount table), namespace paths with --cache NAME -g RG (or --cache-id), or "
    "paths under --export with --ip. Directories are listed several at once over every mount "
    "address; -r also lists every directory below (each reported on its own).\n\n"
    "With --cache the usage model of each storage target is shown, and paths of targets that "
    "verify every 30 s (or more often) are skipped: they need no refresh (--force refreshes "
    "them anyway). Named any other way, the usage model is unknown and every path is "
    "refreshed.\n\n"
    "Every path ends as refreshed (its directory was listed to the end), skipped, failed (with "
    "the reason) or unfinished (interrupted). --report and --failed-to as for flush; --shard "
    "K/N or auto (Slurm, PBS Pro, LSF, Grid Engine arrays, Azure Pipelines) splits one list "
    "over several jobs.\n\n"
    "Exit codes: 0 every path refreshed or skipped; 1 some failed or were not finished; 2 bad "
    "usage, unreadable input or results unwritable; 3 Azure error; 4 cache unreachable; 130 "
    "interrupted (Ctrl-C, SIGTERM or SIGHUP; report and failed list still written).\n\n"
    "Example: hpccache refresh --cache mycache -g myrg -r /NAS_12_exp5/incoming"
)


#: Which paths and where: the shared group, with what each option means for refresh.
WHERE_OPTIONS = input_options(
    recursive="Also refresh every directory below each one named.",
) + where_options(
    ip="A mount address of the cache (an IP address); repeat it to spread the "
    "listings over several.",
    export="The junction the paths are under, e.g. /NAS_12_exp5.",
    cache="The cache's name (with -g): mount addresses, junctions and usage models "
    "from Azure.",
    cache_id="The cache's full resource id, instead of --cache and -g.",
    path_kind="Read every path as local (client path), namespace (with --cache or "
    "--export) or export (relative to --export), instead of recognising each.",
    mountinfo="Mount table for client paths (default: $HPCCACHE_MOUNTINFO, else "
    "/proc/self/mountinfo).",
)

#: Where results go: the shared group (refresh has no other pipeline option than --shard,
#: listed under Output).
OUTPUT_OPTIONS = output_options(
    output="Summary format on stdout: text, or the summary object for scripts (the "
    "flush's keys, with refreshed and targets) as json, jsonc, yaml, yamlc, tsv or table; "
    "none prints nothing (the exit code tells).",
    report="Write one JSON line per path: path, outcome, reason, seconds.",
    failed_to="Write failed and unfinished paths, in the input's format, to feed back.",
    verbose="Show every path's outcome, each target's usage model as it is met, and "
    "what --shard auto found.",
) + [shard_option(
    "Refresh only this job's share (the K-th of N) of the input list; auto: from "
    "a Slurm, PBS Pro, LSF or Grid Engine job array, or Azure Pipelines (1/1 "
    "outside them).", panel=OUT)]


def register(app: typer.Typer) -> None:
    @app.command("refresh", help=HELP, no_args_is_help=False)
    @reports_errors
    @azure_command(refresh=True)
    @connection_command
    @output_command(OUTPUT_OPTIONS)
    @where_command(WHERE_OPTIONS)
    def refresh(
        paths: Optional[list[str]] = typer.Argument(  # noqa: UP045 - typer needs Optional
            None, help="Directories (or files: their directory) to refresh (default: read "
            "them from stdin).", show_default=False),
        force: bool = typer.Option(
            False, "--force", rich_help_panel=HOW,
            help="Also refresh paths of storage targets that verify every 30 s or more "
                 "often by themselves."),
        concurrency: int = typer.Option(
            16, "--concurrency", "-j", min=1, rich_help_panel=HOW,
            help="Directories listed at once (at most 4096)."),
        timeout: float = typer.Option(
            DEFAULT_TIMEOUT, "--timeout", min=0, rich_help_panel=HOW,
            help="Seconds allowed per directory (0 = no limit)."),
        connections: int = typer.Option(
            DEFAULT_CONNECTIONS, "--connections", min=1, rich_help_panel=CONN,
            help="TCP connections per mount address."),
        *,
        where: WhereArgs,
        out: OutputArgs,
        az: AzureArgs,
        conn: ConnectionArgs,
    ) -> None:
        import os

        from hpccache_cli.cli.refresh_run import execute_refresh
        from hpccache_cli.flush.options import FlushOptions
        from hpccache_cli.jobs.flush.values import FlushRequest
        from hpccache_cli.pipelines.schedulers import read_pbs_range_with_qstat
        from hpccache_cli.pipelines.shard import find_shard

        out.check_query()
        shard = out.shard
        found = find_shard(shard, os.environ, read_pbs_range_with_qstat) if shard else None
        options = FlushOptions(concurrency=concurrency, timeout=timeout,
                               recursive=where.recursive, connections=connections,
                               client=conn.client_options())
        request = FlushRequest(
            paths=paths or [], from_file=where.from_file, null=where.null, **where.naming(),
            options=options, output=out.output.value, query=out.query, report=out.report,
            failed_to=out.failed_to, verbosity=out.verbosity(), azure=az,
        )
        out.show_logs()  # the shard note comes with the summary (execute_refresh)
        code = execute_refresh(
            request, force=force, shard=(found.k, found.n) if found else None,
            shard_note=found.describe() if found and shard and shard.strip().lower() == "auto"
            else None)
        raise typer.Exit(code)
