"""The NFS client's options (:class:`ClientOptions`), apart from the client itself.

Why a module of its own: every flush command builds these options from its flags, and the
flush library's options (:mod:`hpccache_cli.flush.options`) hold them, before anything is
sent; importing :mod:`hpccache_cli.nfs.client` for them would load the RPC layer, the codecs
and asyncio on paths that never talk to a server (``hpccache flush-file`` with empty input,
option errors). :mod:`hpccache_cli.nfs.client` re-exports the class, so both names work.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpccache_cli.nfs.rpc import OpaqueAuth


def _hostname() -> str:
    """This machine's name for AUTH_SYS: ``uname``'s node name, which is what
    ``socket.gethostname()`` returns on Linux and the BSDs, without importing socket for
    options that may never be sent (``flush-file`` with empty input)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # (Windows)

    return socket.gethostname()


@dataclass
class ClientOptions:
    """How to reach the server and who to say we are (AUTH_SYS by default)."""

    uid: int = field(default_factory=os.getuid)
    gid: int = field(default_factory=os.getgid)
    gids: tuple[int, ...] = ()
    machinename: str = field(default_factory=_hostname)
    auth: str = "sys"  # "sys" | "none"
    portmap_port: int = 111
    mount_port: int | None = None  # None: ask the portmapper
    nfs_port: int | None = None  # None: ask the portmapper
    privileged_port: bool = False  # bind a source port < 1024 (root only)
    connections: int = 1  # NFS connections to open to this address
    timeout: float = 30.0  # per call
    connect_timeout: float = 5.0
    connect_attempts: int = 3  # per (re)connect; a restarting server refuses briefly
    #: How messages about errors name these fields (``NfsClientError.render``): empty for
    #: Python callers (the keyword), the flags for the CLI.
    option_names: Mapping[str, str] = field(default_factory=dict)

    def credential(self) -> OpaqueAuth:
        """The RPC credential these options describe."""
        from hpccache_cli.nfs import rpc  # (once per client: the codecs load when one is made)

        if self.auth == "none":
            return rpc.AUTH_NONE
        if self.auth != "sys":
            raise ValueError(f"auth must be 'sys' or 'none', not {self.auth!r}")
        name = self.machinename.encode("utf-8", "replace")[:255]
        # AUTH_SYS carries at most 16 supplementary groups (RFC 5531 appendix A).
        return rpc.AuthSys(0, name, self.uid, self.gid, tuple(self.gids[:16])).to_opaque()
