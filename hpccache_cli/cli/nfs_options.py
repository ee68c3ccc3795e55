"""The NFS connection options, declared once for every command that talks NFS to a cache.

``--portmap-port --mount-port --nfs-port --uid --gid --privileged-port`` must read the same in
``hpccache flush`` and ``hpccache flush-file`` (names, environment variables, help, panel): a
script that sets ``HPCCACHE_NFS_PORT`` for one works for the other. So they live here, and
:func:`connection_command` adds them to a Typer command and hands the function one
:class:`ConnectionArgs`, the way :func:`hpccache_cli.cli.azure_options.azure_command` shares
the Azure options (hatch's model: shared options in one place, no command re-declares them).

Nothing heavy is imported here: building the NFS client options happens when a command runs.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import typer

from hpccache_cli.cli.common import OptionSpec, grouped_options

if TYPE_CHECKING:
    from hpccache_cli.nfs.options import ClientOptions

#: The help panel the options are shown in.
PANEL = "Connection"


@dataclass
class ConnectionArgs:
    """The shared options as one value (None: the default, the portmapper / your ids)."""

    portmap_port: int | None = None
    mount_port: int | None = None
    nfs_port: int | None = None
    uid: int | None = None
    gid: int | None = None
    privileged_port: bool = False

    def client_options(self, command: str | None = None) -> ClientOptions:
        """The NFS client's options; an out-of-range value is a UsageError (exit 2).
        ``command``: whose names the run's reasons use (``flush-file``: SERVER, EXPORT)."""
        from hpccache_cli.cli.flags import flags_for
        from hpccache_cli.cli.flush.runner import client_options

        options = client_options(**{f.name: getattr(self, f.name) for f in fields(self)})
        # NFS errors and flush reasons name library fields; users know the flags
        options.option_names = flags_for(command)
        return options


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


def connection_command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command taking ``conn: ConnectionArgs`` so Typer sees the shared options
    instead (appended after the command's own; the panel keeps them together in --help)."""
    return grouped_options(func, "conn", OPTIONS, ConnectionArgs)
