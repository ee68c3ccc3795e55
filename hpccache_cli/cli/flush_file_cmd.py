"""``hpccache flush-file EXPORT SERVER``: a drop-in for Microsoft's flush_file.py.

Same positional arguments, same options, same meaning, same input (paths on stdin, one per
line, surrounding whitespace ignored, relative to EXPORT) and the same style of output
(timestamped lines on stderr, ``ERROR`` in every failure line, a total at the end), so a
script switches by replacing ``python3 flush_file.py`` with ``hpccache flush-file``. It runs
on the flush engine, so it is much faster. Differences, on purpose: ``--threads`` means files
in flight and defaults to 128 (flush_file.py: 4 threads, one file each); SERVER may list
several mount addresses separated by commas; the exit code on failures is 1 (not 255).
"""

from __future__ import annotations

import typer

from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.nfs_options import ConnectionArgs, connection_command
from hpccache_cli.flush import DEFAULT_CONCURRENCY

HELP = (
    "Drop-in replacement for flush_file.py: flush the files named on stdin.\n\n"
    "Reads one path per line from stdin (relative to EXPORT; surrounding whitespace is "
    "ignored) and flushes each from the cache at SERVER, printing flush_file.py-style lines "
    "on stderr; failure lines contain ERROR. Runs on the same engine as `hpccache flush` "
    "(which adds reports, retry lists, NUL input and more). --threads is files in flight "
    "(default 128).\n\n"
    "Exit codes: 0 every file flushed or already clean; 1 some files failed; 2 bad usage; "
    "4 cache unreachable; 130 interrupted.\n\n"
    "Example: cat flushlist | hpccache flush-file /NAS_12_exp5 10.0.0.11 --sync"
)


def register(app: typer.Typer) -> None:
    @app.command("flush-file", help=HELP)
    @reports_errors
    @connection_command
    def flush_file(
        export: str = typer.Argument(..., help="Export, e.g. /1_1_1_0 (the junction)."),
        server: str = typer.Argument(..., help="Server IP addr (commas: several)."),
        threads: int = typer.Option(
            DEFAULT_CONCURRENCY, "--threads", min=1,
            help="Files flushed at once (flush_file.py: threads, default 4)."),
        timeout: float = typer.Option(
            300, "--timeout", min=0, help="Per file flush timeout (sec); 0 = none."),
        sync: bool = typer.Option(False, "--sync", help="Flush each file synchronously."),
        verbose: bool = typer.Option(
            False, "--verbose", help="Log retries and address changes too."),
        *,
        conn: ConnectionArgs,
    ) -> None:
        from hpccache_cli.cli.flush.progress import FlushFileLog
        from hpccache_cli.cli.flush.runner import execute
        from hpccache_cli.cli.flush.values import FlushRequest
        from hpccache_cli.flush.options import FlushOptions

        options = FlushOptions(
            mode="sync" if sync else "async", concurrency=threads, timeout=timeout,
            client=conn.client_options(),
        )
        request = FlushRequest(from_file="-", ips=[server], export=export, options=options,
                               strip=True)
        log = FlushFileLog(verbose=verbose)
        if verbose:  # library warnings too
            import logging

            from hpccache_cli.cli.runtime import show_library_logs

            show_library_logs(logging.WARNING)
        code = execute(request, console=log, finish=log.finish)
        raise typer.Exit(code)
