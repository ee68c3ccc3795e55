"""``hpccache flush-file EXPORT SERVER``: a drop-in for Microsoft's flush_file.py.

Same positional arguments, same options, same files: each stdin line is a path inside the
mounted export, looked up from its root as flush_file.py does, so ``/EXPORT/x`` is
``EXPORT/x`` inside the export, never the namespace path ``/EXPORT/x``. Same style of output
(timestamped lines on stderr, ``ERROR`` in every failure line, a total at the end) and the
same exit meaning (0 all flushed, non-zero failures), so a script switches by replacing
``python3 flush_file.py`` with ``hpccache flush-file``. It runs on the flush engine, so it
is much faster. Where it still differs on purpose, :data:`DIFFERENCES` says so (shown by
``--help``, listed in the README, each covered by tests/test_flush_file_dropin.py).
"""

from __future__ import annotations

import typer

from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.help.flush_file import DIFFERENCES as DIFFERENCES  # (its old home)
from hpccache_cli.cli.help.flush_file import HELP
from hpccache_cli.cli.nfs_options import ConnectionArgs, connection_command
from hpccache_cli.errors import UsageError
from hpccache_cli.flush import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT


@reports_errors(command="flush-file")
@connection_command
def flush_file(
    export: str = typer.Argument(..., help="Export, e.g. /1_1_1_0 (the junction)."),
    server: str = typer.Argument(..., help="Server IP addr (commas: several)."),
    threads: int = typer.Option(
        DEFAULT_CONCURRENCY, "--threads",
        help="Files flushed at once, at least 1 (flush_file.py: threads, default 4)."),
    timeout: float = typer.Option(
        DEFAULT_TIMEOUT, "--timeout",
        help="Per file flush timeout (sec); 0 = none."),
    sync: bool = typer.Option(False, "--sync", help="Flush each file synchronously."),
    recursive: bool = typer.Option(
        False, "--recursive", "-r",
        help="Flush the files under each directory given (without it: an ERROR)."),
    verbose: bool = typer.Option(
        False, "--verbose", help="Log retries and address changes too."),
    *,
    conn: ConnectionArgs,
) -> None:
    from hpccache_cli.cli.flush.progress import FlushFileLog
    from hpccache_cli.cli.flush.runner import execute
    from hpccache_cli.flush.options import FlushOptions, Mode
    from hpccache_cli.jobs.flush.values import FlushRequest

    for name, value, what in (("EXPORT", export, "the junction (namespace path) to "
                               "flush under, e.g. /NAS_12_exp5"),
                              ("SERVER", server, "a mount address of the cache, or "
                               "several separated by commas")):
        if not value.strip():
            raise UsageError(f"{name} is empty: give {what}")
    options = FlushOptions(
        mode=Mode.SYNC if sync else Mode.AUTO, concurrency=threads, timeout=timeout,
        recursive=recursive,
        client=conn.client_options("flush-file"),
    )
    request = FlushRequest(from_file="-", ips=[server], export=export, options=options,
                           strip=True, path_kind="export")
    log = FlushFileLog(verbose=verbose)
    if verbose:  # library warnings too
        import logging

        from hpccache_cli.cli.runtime import show_library_logs

        show_library_logs(logging.WARNING)
    code = execute(request, console=log, finish=log.finish)
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``hpccache flush-file`` to the root app (the command is the module-level function)."""
    app.command("flush-file", help=HELP)(flush_file)
