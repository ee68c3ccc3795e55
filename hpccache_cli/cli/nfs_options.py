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

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from hpccache_cli.cli.options.grouping import grouped_options
from hpccache_cli.cli.options.nfs import FLAGS as FLAGS
from hpccache_cli.cli.options.nfs import OPTIONS as OPTIONS
from hpccache_cli.cli.options.nfs import PANEL as PANEL

if TYPE_CHECKING:
    from hpccache_cli.nfs.options import ClientOptions

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


def connection_command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command taking ``conn: ConnectionArgs`` so Typer sees the shared options
    instead (appended after the command's own; the panel keeps them together in --help)."""
    return grouped_options(func, "conn", OPTIONS, ConnectionArgs)
