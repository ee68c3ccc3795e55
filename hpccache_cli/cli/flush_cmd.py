"""``hpccache flush``: get files written back from the cache to storage now, per file.

Options are parsed here; everything else (resolution, engine, sinks, Ctrl-C) is in
``hpccache_cli.cli.flush.runner`` so ``flush-file`` and ``demo`` run the very same code path.
"""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from hpccache_cli.cli.azure_options import AzureArgs, azure_command
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.nfs_options import PANEL as CONN
from hpccache_cli.cli.nfs_options import ConnectionArgs, connection_command
from hpccache_cli.cli.target_cmd import DEFAULT_TIMEOUT as DEFAULT_OPERATION_TIMEOUT
from hpccache_cli.errors import UsageError
from hpccache_cli.flush import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECTIONS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
)

INPUT, WHERE, HOW, OUT = "Input", "Where", "How", "Output"
PIPE = "Pipelines and scripts"

HELP = (
    "Flush files from the cache to their storage target now, and account for each one.\n\n"
    "Paths come from arguments, --from-file FILE, or stdin (newline-separated, or NUL with "
    "-0); flushing starts while input is still being read. Three ways to name them:\n\n"
    "1. Client paths (no --ip/--export/--cache): files as this machine sees them under an NFS "
    "mount of the cache (/mnt/cache/NAS_12_exp5/result/output3.txt). The mount table "
    "(/proc/self/mountinfo, --mountinfo FILE or $HPCCACHE_MOUNTINFO) gives each file's cache "
    "address and what the client mounted (a junction or /); files may span several mounts and "
    "junctions. No Azure access. The mount's port= options are not used: the portmapper on the "
    "cache address is, or --mount-port/--nfs-port.\n\n"
    "2. --cache NAME -g RG, or --cache-id RESOURCE_ID: namespace paths "
    "(/NAS_12_exp5/result/output3.txt). Mount addresses and junctions come from Azure (kept "
    "5 min in the resolution cache; --refresh asks again); each path goes to its junction "
    "(longest namespace-path prefix), and a path under no junction fails, naming the junctions "
    "there are. Client paths may be mixed in: a path is a client path when it is relative or "
    "lies under an NFS mount of this cache on this machine, else a namespace path when it is "
    "under a junction (a path under a junction's back-end NFS export is translated too). Files "
    "of storage targets whose usage model does not cache writes are skipped (writes go "
    "straight through; nothing to flush) unless --force. Files of a storage target that Azure "
    "reports Suspended fail at once (kind suspended: resume the target, then flush again) "
    "instead of waiting out --timeout on \"busy, try later\"; on a target that is Flushing "
    "they wait for it (up to --timeout), after a note naming it.\n\n"
    "3. --ip ADDRESS --export /JUNCTION: paths relative to that junction, as with "
    "flush_file.py. A path that starts with the junction's own path (/JUNCTION/x) may also be "
    "its namespace path: when only one of /JUNCTION/x and /JUNCTION/JUNCTION/x exists, that "
    "one is flushed (-v and --report say which reading was used); when both exist, the path "
    "fails and --path-kind picks one.\n\n"
    "--path-kind forces how every path is read: local (client path, with --cache or alone), "
    "namespace (with --cache, or with --export: /JUNCTION/x is x under it) or export "
    "(relative to --export, never stripped: what flush-file and flush_file.py do).\n\n"
    "--fallback target-flush: after per-file flushing, flush the whole storage target of every "
    "file that failed or could not be reached, through Azure (for client paths the cache is "
    "found by its mount address). Only on request: it writes back everything dirty on those "
    "targets, makes other clients see errors on their namespace paths until it ends, and needs "
    "Contributor rights on the cache. Giving the option is the confirmation: there is no "
    "prompt. A failed file whose storage target it then flushed is reported as flushed (kind "
    "target-flush: --report, --junit and the summary) and left out of --failed-to. Each target "
    "flush is waited for --fallback-timeout seconds (default 3600); one still running then is "
    "reported failed, with the command that shows its state.\n\n"
    "Every path ends as one of: flushed, clean (nothing to write back), failed (with the "
    "reason; a directory without --recursive is one; with it, a directory listed whole is "
    "its files), skipped (duplicate, not a regular "
    "file, ...) or unfinished "
    "(interrupted); with --no-wait: started; with --status-only: written-back, flushing or "
    "dirty.\n\n"
    "Exit codes: 0 every file flushed or already clean (--no-wait: started; --status-only: "
    "all written back; --fallback: the storage target of every failed file was flushed); 1 "
    "some files failed or were not finished; 2 bad usage, unreadable input or results "
    "unwritable (a --report, --failed-to or --junit file could not be written); 3 Azure error "
    "(sign-in, permissions, cache not found; with --cache: no mount address answered and "
    "Azure reports the cache stopped, upgrading, degraded or not provisioned); 4 cache "
    "unreachable (no mount address answered); 130 interrupted (Ctrl-C, SIGTERM or SIGHUP; "
    "the report and failed list are still written).\n\n"
    "In Azure Pipelines (TF_BUILD=True) failed and skipped files, progress and the counts "
    "are also written as ##vso[...] logging commands (to stderr with -o json; "
    "--no-pipeline-log: not at all). --junit FILE writes a JUnit report for "
    "PublishTestResults@2; --shard K/N (or auto) splits one list over N parallel jobs; "
    "--allow-partial makes failed files exit 0 (a pipeline step: succeeded with issues). "
    "No file name can forge a logging command there: the [ of any other ##vso[ or ##[ in "
    "the output is written \\u005b. See docs/pipelines.md.\n\n"
    "In a pipeline: hpccache flush --cache mycache -g myrg --from-file outputs.txt "
    "--shard auto --junit flush-results.xml --allow-partial\n\n"
    "Example: find /mnt/cache/NAS_12_exp5/run42 -type f -printf 'run42/%P\\0' | hpccache "
    "flush -0 --ip 10.0.0.11 --ip 10.0.0.12 --export /NAS_12_exp5 --failed-to retry.lst"
    "\n\n"
    "Retry what failed: hpccache flush -0 --from-file retry.lst --ip 10.0.0.11 --export "
    "/NAS_12_exp5\n\n"
    "By cache name: hpccache flush --cache mycache -g myrg /NAS_12_exp5/result/output3.txt; "
    "by client path: find /mnt/cache/NAS_12_exp5/run42 -type f -print0 | hpccache flush -0"
)


class PathKindChoice(str, Enum):
    local = "local"
    namespace = "namespace"
    export = "export"


class FallbackChoice(str, Enum):
    target_flush = "target-flush"


class ModeChoice(str, Enum):
    auto = "auto"
    async_ = "async"
    sync = "sync"


class OutputChoice(str, Enum):
    text = "text"
    json = "json"


def verbosity(verbose: bool, quiet: bool) -> int:
    from hpccache_cli.cli.flush.values import NORMAL, QUIET, VERBOSE

    if verbose and quiet:
        raise UsageError("-v and -q contradict each other; pick one")
    return VERBOSE if verbose else QUIET if quiet else NORMAL


def register(app: typer.Typer) -> None:
    @app.command("flush", help=HELP, no_args_is_help=False)
    @reports_errors
    @azure_command(refresh=True)
    @connection_command
    def flush(
        paths: Optional[list[str]] = typer.Argument(  # noqa: UP045 - typer needs Optional
            None, help="Paths to flush (default: read them from stdin).", show_default=False),
        from_file: Optional[str] = typer.Option(  # noqa: UP045
            None, "--from-file", "-f", metavar="FILE", rich_help_panel=INPUT,
            help="Read paths from FILE ('-' = stdin)."),
        null: bool = typer.Option(
            False, "--null", "-0", rich_help_panel=INPUT,
            help="Input paths are NUL-separated (find -print0), not newline-separated."),
        recursive: bool = typer.Option(
            False, "--recursive", "-r", rich_help_panel=INPUT,
            help="Flush every regular file under directory paths (listed on the cache). "
                 "Each file found is a path of its own; a directory listed whole gets no line, "
                 "one that could not be (a broken listing, --timeout) fails."),
        ip: list[str] = typer.Option(
            [], "--ip", metavar="IP", rich_help_panel=WHERE,
            help="A mount address of the cache (an IP address; host names are not looked "
                 "up); repeat it to spread work over several."),
        export: Optional[str] = typer.Option(  # noqa: UP045
            None, "--export", metavar="NAMESPACE_PATH", rich_help_panel=WHERE,
            help="The junction the paths are under, e.g. /NAS_12_exp5."),
        cache: Optional[str] = typer.Option(  # noqa: UP045
            None, "--cache", "--name", "-n", metavar="NAME", rich_help_panel=WHERE,
            help="The cache's name (with -g): mount addresses and junctions from Azure "
                 "(-n/--name as in az hpc-cache)."),
        resource_group: Optional[str] = typer.Option(  # noqa: UP045
            None, "--resource-group", "-g", rich_help_panel=WHERE,
            help="Resource group of --cache."),
        cache_id: Optional[str] = typer.Option(  # noqa: UP045
            None, "--cache-id", "--ids", metavar="RESOURCE_ID", rich_help_panel=WHERE,
            help="The cache's full resource id, instead of --cache and -g (--ids as in az)."),
        path_kind: Optional[PathKindChoice] = typer.Option(  # noqa: UP045
            None, "--path-kind", rich_help_panel=WHERE, show_default=False,
            help="Read every path as local (client path), namespace (with --cache or "
                 "--export) or export (relative to --export), instead of recognising each."),
        mountinfo: Optional[str] = typer.Option(  # noqa: UP045
            None, "--mountinfo", metavar="FILE", rich_help_panel=WHERE,
            help="Mount table for client paths, in /proc/self/mountinfo format (default: "
                 "$HPCCACHE_MOUNTINFO, else /proc/self/mountinfo)."),
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
            ModeChoice.auto, "--mode", rich_help_panel=HOW,
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
            DEFAULT_CONCURRENCY, "--concurrency", "-j", min=1, rich_help_panel=HOW,
            help="Files in flight at once (at most 4096); fewer call the cache at once while "
                 "calls time out or connections drop (-v says when)."),
        timeout: float = typer.Option(
            DEFAULT_TIMEOUT, "--timeout", min=0, rich_help_panel=HOW,
            help="Seconds allowed per file (0 = no limit)."),
        retries: int = typer.Option(
            DEFAULT_RETRIES, "--retries", min=0, rich_help_panel=HOW,
            help="Re-starts of a write-back that ended dirty or with an I/O error."),
        connections: int = typer.Option(
            DEFAULT_CONNECTIONS, "--connections", min=1, rich_help_panel=CONN,
            help="TCP connections per mount address."),
        output: OutputChoice = typer.Option(
            OutputChoice.text, "--output", "-o", rich_help_panel=OUT,
            help="Summary format on stdout: text, or json for scripts (one object with the "
            "same keys in every run, 0 or null when they do not apply; listed in README)."),
        report: Optional[str] = typer.Option(  # noqa: UP045
            None, "--report", metavar="FILE", rich_help_panel=OUT,
            help="Write one JSON line per path: path, outcome, reason, seconds, attempts "
                 "(path_b64 too for a name that is not UTF-8 or holds a newline)."),
        failed_to: Optional[str] = typer.Option(  # noqa: UP045
            None, "--failed-to", metavar="FILE", rich_help_panel=OUT,
            help="Write failed and unfinished paths, in the input's format, to feed back "
                 "(it may be the --from-file list itself: that is read first, then replaced)."),
        verbose: bool = typer.Option(
            False, "--verbose", "-v", rich_help_panel=OUT, help="Show every path's outcome."),
        quiet: bool = typer.Option(
            False, "--quiet", "-q", rich_help_panel=OUT, help="Show only failures."),
        junit: Optional[str] = typer.Option(  # noqa: UP045
            None, "--junit", metavar="FILE", rich_help_panel=PIPE,
            help="Write a JUnit XML report, one test case per path (PublishTestResults@2)."),
        shard: Optional[str] = typer.Option(  # noqa: UP045
            None, "--shard", metavar="K/N|auto", rich_help_panel=PIPE, show_default=False,
            help="Flush only this job's share (the K-th of N) of the input list; auto: from "
                 "a Slurm, PBS Pro, LSF or Grid Engine job array, or Azure Pipelines' "
                 "System.JobPositionInPhase/System.TotalJobsInPhase (1/1 outside them; -v "
                 "says what was found)."),
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

        from hpccache_cli.cli.flush.pipeline_run import PipelineRun
        from hpccache_cli.cli.flush.runner import execute
        from hpccache_cli.cli.flush.values import FlushRequest
        from hpccache_cli.flush.options import FlushOptions

        if not fallback_timeout > 0:
            raise UsageError("--fallback-timeout must be a positive number of seconds")
        pipeline = PipelineRun.from_options(
            junit=junit, shard=shard, pipeline_log=not no_pipeline_log,
            allow_partial=allow_partial, json_output=output.value == "json", environ=os.environ,
        )

        options = FlushOptions(
            mode=mode.value, wait=not no_wait, status_only=status_only, recursive=recursive,
            concurrency=concurrency, timeout=timeout, retries=retries,
            connections=connections,
            client=conn.client_options(),
        )
        request = FlushRequest(
            paths=paths or [], from_file=from_file, null=null, ips=ip, export=export,
            options=options, output=output.value, report=report, failed_to=failed_to,
            verbosity=verbosity(verbose, quiet), cache=cache, resource_group=resource_group,
            cache_id=cache_id, path_kind=path_kind.value if path_kind else None,
            mountinfo=mountinfo, force=force, fallback=fallback.value if fallback else None,
            fallback_timeout=fallback_timeout, azure=az, pipeline=pipeline,
        )
        if verbose:  # -v: library warnings too (an Azure sign-in problem, ...)
            import logging
            import sys

            if pipeline.shard_note:  # what --shard auto found (stderr: -o json keeps stdout)
                print(f"hpccache: {pipeline.shard_note}", file=sys.stderr)

            from hpccache_cli.cli.runtime import show_library_logs

            show_library_logs(logging.WARNING)
        code = execute(request)
        raise typer.Exit(code)
