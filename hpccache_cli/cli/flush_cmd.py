"""``hpccache flush``: get files written back from the cache to storage now, per file.

Options are parsed here into a ``FlushRequest``; the run (naming, engine, records, signals,
--fallback, exit code) is the job ``hpccache_cli.jobs.flush.run``, rendered by
``hpccache_cli.cli.flush.runner.execute``, so ``flush-file``, ``demo`` and Python run the same code.
"""

from __future__ import annotations

from typing import Optional

import typer

from hpccache_cli.cli.azure_options import AzureArgs, azure_command
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.help.flush import HELP
from hpccache_cli.cli.nfs_options import PANEL as CONN
from hpccache_cli.cli.nfs_options import ConnectionArgs, connection_command
from hpccache_cli.cli.options.paths import (
    HOW,
    OutputArgs,
    OutputChoice,
    WhereArgs,
    input_options,
    output_command,
    output_options,
    pipeline_options,
    verbosity,
    where_command,
    where_options,
)
from hpccache_cli.control.defaults import DEFAULT_OPERATION_TIMEOUT
from hpccache_cli.flush import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECTIONS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
)
from hpccache_cli.flush.options import Mode, PathKind
from hpccache_cli.jobs.flush.values import Fallback

__all__ = ["OutputChoice", "verbosity"]  # their old home: refresh and copy imported them here

# The library's choices, so the value goes to it as the member the option parsed (#18): one
# type, checked once (the old names stay).
PathKindChoice = PathKind
FallbackChoice = Fallback
ModeChoice = Mode

#: Which paths and where: the shared group, with what each option means for flush.
WHERE_OPTIONS = input_options(
    recursive="Flush every regular file under directory paths (listed on the cache). "
    "Each file found is a path of its own; a directory listed whole gets no line, "
    "one that could not be (a broken listing, --timeout) fails.",
) + where_options(
    ip="A mount address of the cache (an IP address; host names are not looked "
    "up); repeat it to spread work over several.",
    export="The junction the paths are under, e.g. /NAS_12_exp5.",
    cache="The cache's name (with -g): mount addresses and junctions from Azure "
    "(-n/--name as in az hpc-cache).",
    cache_id="The cache's full resource id, instead of --cache and -g (--ids as in az).",
    path_kind="Read every path as local (client path), namespace (with --cache or "
    "--export) or export (relative to --export), instead of recognising each.",
    mountinfo="Mount table for client paths, in /proc/self/mountinfo format (default: "
    "$HPCCACHE_MOUNTINFO, else /proc/self/mountinfo).",
)

#: Where results go: the shared group, with what each option means for flush.
OUTPUT_OPTIONS = output_options(
    output="Summary format on stdout: text, or the summary object for scripts as json "
    "(one object with the same keys in every run, 0 or null when they do not apply; "
    "listed in README), jsonc, yaml, yamlc, tsv or table; none prints nothing (the exit "
    "code tells).",
    report="Write one JSON line per path: path, outcome, reason, seconds, attempts "
    "(path_b64 too for a name that is not UTF-8 or holds a newline).",
    failed_to="Write failed and unfinished paths, in the input's format, to feed back "
    "(it may be the --from-file list itself: that is read first, then replaced).",
    verbose="Show every path's outcome.",
) + pipeline_options(
    shard="Flush only this job's share (the K-th of N) of the input list; auto: from "
    "a Slurm, PBS Pro, LSF or Grid Engine job array, or Azure Pipelines' "
    "System.JobPositionInPhase/System.TotalJobsInPhase (1/1 outside them; -v "
    "says what was found).",
)


@reports_errors
@azure_command(refresh=True)
@connection_command
@output_command(OUTPUT_OPTIONS)
@where_command(WHERE_OPTIONS)
def flush(
    paths: Optional[list[str]] = typer.Argument(  # noqa: UP045 - typer needs Optional
        None, help="Paths to flush (default: read them from stdin).", show_default=False),
    force: bool = typer.Option(
        False, "--force", rich_help_panel=HOW,
        help="With --cache: also flush files of storage targets whose usage model does "
             "not cache writes."),
    fallback: Optional[FallbackChoice] = typer.Option(  # noqa: UP045
        None, "--fallback", rich_help_panel=HOW, show_default=False,
        help="target-flush: afterwards, flush the whole storage target of each file that "
             "failed, through Azure. Disrupts other clients of those targets until done "
             "and needs Contributor rights; no prompt."),
    fallback_timeout: float = typer.Option(
        DEFAULT_OPERATION_TIMEOUT, "--fallback-timeout", metavar="SECONDS", rich_help_panel=HOW,
        help="How long each target flush of --fallback is waited for; then it is reported "
             "failed (still running in Azure, with the command to check on it)."),
    mode: ModeChoice = typer.Option(
        ModeChoice.AUTO, "--mode", rich_help_panel=HOW,
        help="async: start each write-back and poll it; sync: one COMMIT that returns "
             "when the write-back is done; auto: async, switching to sync while this "
             "run's write-backs end within 0.25 s and most files are dirty (a clean "
             "file then reads flushed)."),
    no_wait: bool = typer.Option(
        False, "--no-wait", rich_help_panel=HOW,
        help="Start the write-backs and return; check later with --status-only."),
    status_only: bool = typer.Option(
        False, "--status-only", rich_help_panel=HOW,
        help="Only report where each file stands: written-back, flushing or dirty."),
    concurrency: int = typer.Option(
        DEFAULT_CONCURRENCY, "--concurrency", "-j", rich_help_panel=HOW,
        help="Files in flight at once (1 to 4096); fewer call the cache at once while "
             "calls time out or connections drop (-v says when)."),
    timeout: float = typer.Option(
        DEFAULT_TIMEOUT, "--timeout", rich_help_panel=HOW,
        help="Seconds allowed per file (0 = no limit)."),
    retries: int = typer.Option(
        DEFAULT_RETRIES, "--retries", rich_help_panel=HOW,
        help="Re-starts of a write-back that ended dirty or with an I/O error (0 or "
             "more)."),
    connections: int = typer.Option(
        DEFAULT_CONNECTIONS, "--connections", rich_help_panel=CONN,
        help="TCP connections per mount address (at least 1)."),
    *,
    where: WhereArgs,
    out: OutputArgs,
    az: AzureArgs,
    conn: ConnectionArgs,
) -> None:
    from hpccache_cli.cli.flush.runner import execute
    from hpccache_cli.flush.options import FlushOptions
    from hpccache_cli.jobs.flush.values import FlushRequest

    pipeline = out.pipeline_run()
    options = FlushOptions(
        mode=mode, wait=not no_wait, status_only=status_only, recursive=where.recursive,
        concurrency=concurrency, timeout=timeout, retries=retries,
        connections=connections,
        client=conn.client_options(),
    )
    request = FlushRequest(
        paths=paths or [], from_file=where.from_file, null=where.null, **where.naming(),
        options=options, output=out.output.value, query=out.query, report=out.report,
        failed_to=out.failed_to, verbosity=out.verbosity(), force=force, fallback=fallback,
        fallback_timeout=fallback_timeout, azure=az, pipeline=pipeline,
        only_errors=az.only_show_errors,
    )
    out.show_logs(pipeline.shard_note)
    code = execute(request)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``hpccache flush`` to the root app (the command is the module-level function)."""
    app.command("flush", help=HELP, no_args_is_help=False)(flush)
