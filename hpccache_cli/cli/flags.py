"""The one table of library keyword -> command-line flag.

The libraries speak Python: their errors and per-path reasons name a keyword (``concurrency``,
``export``, ``mount_port``) as ``{field}`` (see :class:`hpccache_cli.errors.FieldError`). The
CLI's users know flags, so the command renders every such message through this table: errors
in :func:`hpccache_cli.cli.common.reports_errors`, and reasons made during a run through
``ClientOptions.option_names`` (set to this table by
:meth:`hpccache_cli.cli.nfs_options.ConnectionArgs.client_options`) and the resolvers'
``option_names``. A new library field that a message names gets its flag here.
"""

from __future__ import annotations

from hpccache_cli.cli.options.nfs import FLAGS as NFS_FLAGS

#: Flush library keyword -> the flag (or argument) of ``hpccache flush``/``flush-file``.
FLUSH_FLAGS: dict[str, str] = {
    "mode": "--mode",
    # one name for both commands: flush says -j/--concurrency, flush-file --threads
    "concurrency": "--concurrency (-j; flush-file --threads)",
    "timeout": "--timeout",
    "retries": "--retries",
    "connections": "--connections",
    "status_only": "--status-only",
    "wait": "--no-wait",
    "recursive": "--recursive",
    "ips": "--ip",
    "export": "--export",
    "path_kind": "--path-kind",
    "layout": "--cache",
    "refresh": "--refresh",
    "force": "--force",
    "fallback_timeout": "--fallback-timeout",
}

#: Every field a library message may name -> how the CLI's users read it.
FLAGS: dict[str, str] = {**NFS_FLAGS, **FLUSH_FLAGS}

#: Where a command names a field its own way: ``flush-file`` takes flush_file.py's positional
#: SERVER and EXPORT (not ``--ip``/``--export``, which it does not have), ``--threads`` and
#: ``--sync``. Its errors and reasons must send the user to what that command accepts.
COMMAND_FLAGS: dict[str, dict[str, str]] = {
    "flush-file": {
        "ips": "SERVER",
        "export": "EXPORT",
        "concurrency": "--threads",
        "mode": "--sync",
    },
}


def flags_for(command: str | None = None) -> dict[str, str]:
    """The table for ``command`` (``None``: the shared one): :data:`FLAGS` with the command's
    own names from :data:`COMMAND_FLAGS` over it."""
    own = COMMAND_FLAGS.get(command or "")
    return {**FLAGS, **own} if own else FLAGS
