"""``hpccache refresh``: make the cache compare its copies with the storage target now.

Options are parsed here; the run is ``hpccache_cli.cli.refresh_run`` (which reuses the flush
command's naming, input and output code) and the engine ``hpccache_cli.flush.refresh``.
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

INPUT, WHERE, HOW, OUT = "Input", "Where", "How", "Output"

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
    "interrupted.\n\n"
    "Example: hpccache refresh --cache mycache -g myrg -r /NAS_12_exp5/incoming"
)


def register(app: typer.Typer) -> None:
    @app.command("refresh", help=HELP, no_args_is_help=False)
    @reports_errors
    @azure_command(refresh=True)
    @connection_command
    def refresh(
        paths: Optional[list[str]] = typer.Argument(  # noqa: UP045 - typer needs Optional
            None, help="Directories (or files: their directory) to refresh (default: read "
            "them from stdin).", show_default=False),
        from_file: Optional[str] = typer.Option(  # noqa: UP045
            None, "--from-file", "-f", metavar="FILE", rich_help_panel=INPUT,
            help="Read paths from FILE ('-' = stdin)."),
        null: bool = typer.Option(
            False, "--null", "-0", rich_help_panel=INPUT,
            help="Input paths are NUL-separated (find -print0), not newline-separated."),
        recursive: bool = typer.Option(
            False, "--recursive", "-r", rich_help_panel=INPUT,
            help="Also refresh every directory below each one named."),
        ip: list[str] = typer.Option(
            [], "--ip", metavar="IP", rich_help_panel=WHERE,
            help="A mount address of the cache (an IP address); repeat it to spread the "
                 "listings over several."),
        export: Optional[str] = typer.Option(  # noqa: UP045
            None, "--export", metavar="NAMESPACE_PATH", rich_help_panel=WHERE,
            help="The junction the paths are under, e.g. /NAS_12_exp5."),
        cache: Optional[str] = typer.Option(  # noqa: UP045
            None, "--cache", "--cache-name", "--name", "-n", metavar="NAME", rich_help_panel=WHERE,
            help="The cache's name (with -g): mount addresses, junctions and usage models "
                 "from Azure."),
        resource_group: Optional[str] = typer.Option(  # noqa: UP045
            None, "--resource-group", "-g", rich_help_panel=WHERE,
            help="Resource group of --cache."),
        cache_id: Optional[str] = typer.Option(  # noqa: UP045
            None, "--cache-id", "--ids", metavar="RESOURCE_ID", rich_help_panel=WHERE,
            help="The cache's full resource id, instead of --cache and -g."),
        path_kind: Optional[PathKindChoice] = typer.Option(  # noqa: UP045
            None, "--path-kind", rich_help_panel=WHERE, show_default=False,
            help="Read every path as local (client path), namespace (with --cache or "
                 "--export) or export (relative to --export), instead of recognising each."),
        mountinfo: Optional[str] = typer.Option(  # noqa: UP045
            None, "--mountinfo", metavar="FILE", rich_help_panel=WHERE,
            help="Mount table for client paths (default: $HPCCACHE_MOUNTINFO, else "
                 "/proc/self/mountinfo)."),
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
        output: OutputChoice = typer.Option(
            OutputChoice.text, "--output", "-o", rich_help_panel=OUT,
            help="Summary format on stdout: text, or json for scripts (the flush's keys, "
                 "with refreshed and targets)."),
        report: Optional[str] = typer.Option(  # noqa: UP045
            None, "--report", metavar="FILE", rich_help_panel=OUT,
            help="Write one JSON line per path: path, outcome, reason, seconds."),
        failed_to: Optional[str] = typer.Option(  # noqa: UP045
            None, "--failed-to", metavar="FILE", rich_help_panel=OUT,
            help="Write failed and unfinished paths, in the input's format, to feed back."),
        verbose: bool = typer.Option(
            False, "--verbose", "-v", rich_help_panel=OUT,
            help="Show every path's outcome, each target's usage model as it is met, and "
                 "what --shard auto found."),
        quiet: bool = typer.Option(
            False, "--quiet", "-q", rich_help_panel=OUT, help="Show only failures."),
        shard: Optional[str] = typer.Option(  # noqa: UP045
            None, "--shard", metavar="K/N|auto", rich_help_panel=OUT, show_default=False,
            help="Refresh only this job's share (the K-th of N) of the input list; auto: from "
                 "a Slurm, PBS Pro, LSF or Grid Engine job array, or Azure Pipelines (1/1 "
                 "outside them)."),
        *,
        az: AzureArgs,
        conn: ConnectionArgs,
    ) -> None:
        import os

        from hpccache_cli.cli.refresh_run import execute_refresh
        from hpccache_cli.flush.options import FlushOptions
        from hpccache_cli.jobs.flush.values import FlushRequest
        from hpccache_cli.pipelines.schedulers import read_pbs_range_with_qstat
        from hpccache_cli.pipelines.shard import find_shard

        found = find_shard(shard, os.environ, read_pbs_range_with_qstat) if shard else None
        options = FlushOptions(concurrency=concurrency, timeout=timeout, recursive=recursive,
                               connections=connections, client=conn.client_options())
        request = FlushRequest(
            paths=paths or [], from_file=from_file, null=null, ips=ip, export=export,
            options=options, output=output.value, report=report, failed_to=failed_to,
            verbosity=verbosity(verbose, quiet), cache=cache, resource_group=resource_group,
            cache_id=cache_id, path_kind=path_kind.value if path_kind else None,
            mountinfo=mountinfo, azure=az,
        )
        if verbose:
            import logging

            from hpccache_cli.cli.runtime import show_library_logs

            show_library_logs(logging.WARNING)
        code = execute_refresh(
            request, force=force, shard=(found.k, found.n) if found else None,
            shard_note=found.describe() if found and shard and shard.strip().lower() == "auto"
            else None)
        raise typer.Exit(code)
