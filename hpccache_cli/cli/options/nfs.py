"""The NFS connection options' declarations (``--portmap-port`` ... ``--privileged-port``)
and the flag of each ``ClientOptions`` field: what ``cli/flags.py`` and ``cli/nfs_options.py``
both read, so neither imports the other (#18)."""

from __future__ import annotations

import typing

import typer

from hpccache_cli.cli.options.grouping import OptionSpec

#: The help panel the options are shown in.
PANEL = "Connection"

_OptionalInt = typing.Optional[int]  # noqa: UP045 - Typer needs a real type object on 3.10

#: (parameter name, type, typer.Option), in the order they are shown.
OPTIONS: list[OptionSpec] = [
    ("portmap_port", _OptionalInt, typer.Option(
        None, "--portmap-port", envvar="HPCCACHE_PORTMAP_PORT", rich_help_panel=PANEL,
        help="Portmapper port on the cache addresses (default 111).")),
    ("mount_port", _OptionalInt, typer.Option(
        None, "--mount-port", envvar="HPCCACHE_MOUNT_PORT", rich_help_panel=PANEL,
        help="MOUNT port (skips the portmapper for MOUNT).")),
    ("nfs_port", _OptionalInt, typer.Option(
        None, "--nfs-port", envvar="HPCCACHE_NFS_PORT", rich_help_panel=PANEL,
        help="NFS port (skips the portmapper for NFS; usually 2049).")),
    ("uid", _OptionalInt, typer.Option(
        None, "--uid", envvar="HPCCACHE_UID", rich_help_panel=PANEL,
        help="AUTH_SYS user id (default: yours).")),
    ("gid", _OptionalInt, typer.Option(
        None, "--gid", envvar="HPCCACHE_GID", rich_help_panel=PANEL,
        help="AUTH_SYS group id (default: yours).")),
    ("privileged_port", bool, typer.Option(
        False, "--privileged-port", envvar="HPCCACHE_PRIVILEGED_PORT", rich_help_panel=PANEL,
        help="Connect from a port below 1024 (needs root; for caches that require it).")),
]


#: ClientOptions field -> the flag that sets it: how NFS client errors, which name the field
#: (``NfsClientError.fields``), read to a user of the command line. Part of the one table
#: of every library field, ``hpccache_cli.cli.flags.FLAGS``.
FLAGS: dict[str, str] = {name: option.param_decls[0] for name, _, option in OPTIONS}
