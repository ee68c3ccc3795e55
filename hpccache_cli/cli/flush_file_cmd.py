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
from hpccache_cli.cli.nfs_options import ConnectionArgs, connection_command
from hpccache_cli.errors import UsageError
from hpccache_cli.flush import DEFAULT_CONCURRENCY

#: Where flush-file differs from flush_file.py on purpose (one --help paragraph each).
DIFFERENCES = (
    "relative paths (dir/file) are read relative to EXPORT too (flush_file.py: ERROR "
    "\"Absolute path needed\");",
    "empty lines are ignored (flush_file.py: an ERROR each);",
    "paths are normalised: '//', '.' and a trailing '/' are dropped, '..' is applied to the "
    "text and may not climb above EXPORT (flush_file.py looks each component up as written: "
    "'//' and a trailing '/' are ERRORs);",
    "duplicates: a path given again is flushed once and the repeat prints \"Skipped PATH: "
    "duplicate of an earlier input\" (flush_file.py flushes it again);",
    "output lines: \"Flushed PATH in 0.34sec\" and \"ERROR failed PATH: reason\", without "
    "Thread=NN, file handle or mtime; the closing lines are the same (\"Total elapsed time "
    "...\", \"N ERRORS encountered. grep ERROR in output for details.\");",
    "exit code 1 when files failed (flush_file.py: 255), 4 when the cache is unreachable "
    "and 2 when EXPORT is no junction of the cache (flush_file.py: tracebacks, then it "
    "hangs);",
    "--threads is files in flight, default 128 (flush_file.py: 4 threads); SERVER may list "
    "several mount addresses separated by commas; --recursive flushes the files under a "
    "directory (without it a directory is an ERROR, as with flush_file.py);",
    "without --sync, hpccache flush's --mode auto: async, switching to sync flushes once "
    "the run has seen short write-backs of dirty files (flush_file.py: always async).",
)

HELP = (
    "Drop-in replacement for flush_file.py: flush the files named on stdin.\n\n"
    "Reads one path per line from stdin (surrounding whitespace ignored) and flushes it from "
    "the cache at SERVER. Like flush_file.py, a path is relative to the mounted EXPORT: "
    "/NAS_12_exp5/x with EXPORT /NAS_12_exp5 is NAS_12_exp5/x inside the export (for "
    "namespace paths use hpccache flush --ip SERVER --export EXPORT --path-kind namespace). "
    "Prints flush_file.py-style lines on stderr; failure lines contain ERROR. Runs on the "
    "same engine as `hpccache flush` (which adds reports, retry lists, NUL input and more)."
    "\n\nDifferences from flush_file.py, on purpose:\n\n"
    + "\n\n".join(f"- {d}" for d in DIFFERENCES) + "\n\n"
    "Exit codes: 0 every file flushed or already clean; 1 some files failed; 2 bad usage; "
    "4 cache unreachable; 130 interrupted.\n\n"
    "Example: cat flushlist | hpccache flush-file /NAS_12_exp5 10.0.0.11 --sync"
)


def register(app: typer.Typer) -> None:
    @app.command("flush-file", help=HELP)
    @reports_errors(command="flush-file")
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
        from hpccache_cli.cli.flush.values import FlushRequest
        from hpccache_cli.flush.options import FlushOptions

        for name, value, what in (("EXPORT", export, "the junction (namespace path) to "
                                   "flush under, e.g. /NAS_12_exp5"),
                                  ("SERVER", server, "a mount address of the cache, or "
                                   "several separated by commas")):
            if not value.strip():
                raise UsageError(f"{name} is empty: give {what}")
        options = FlushOptions(
            mode="sync" if sync else "auto", concurrency=threads, timeout=timeout,
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
