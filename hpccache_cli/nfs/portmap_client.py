"""Ask a portmapper (rpcbind, port 111) where an RPC program listens over TCP.

Used when the caller did not give ``mount_port``/``nfs_port``. The errors name the portmapper
address and the options that avoid it (as ``{field}``: see ``NfsClientError``), because
"connection refused on 111" alone does not tell the user that the NFS ports can simply be
given by hand.
"""

from __future__ import annotations

from hpccache_cli.nfs import mount, nfs3, portmap
from hpccache_cli.nfs.errors import ConnectionLost, ProgramUnavailable, ProtocolError
from hpccache_cli.nfs.transport import RpcClientConnection

_PORTS = ("mount_port", "nfs_port")  # the ClientOptions that skip the portmapper
PROGRAM_NAMES = {nfs3.PROGRAM: "NFS", mount.PROGRAM: "MOUNT", portmap.PROGRAM: "portmapper"}


async def getport(
    host: str,
    prog: int,
    vers: int,
    port: int = portmap.DEFAULT_PORT,
    timeout: float = 5.0,
    *,
    conn: RpcClientConnection | None = None,
) -> int:
    """The TCP port of ``prog``/``vers`` on ``host``, from the portmapper at ``port``.

    Pass ``conn`` to reuse an open portmapper connection for several look-ups.
    Raises ConnectionLost when the portmapper is unreachable and ProgramUnavailable when the
    program is not registered (GETPORT answered 0).
    """
    name = PROGRAM_NAMES.get(prog, f"program {prog}")
    own = conn is None
    if conn is None:
        conn = RpcClientConnection(
            host,
            port,
            connect_timeout=timeout,
            connect_attempts=1,
            label="portmapper",
            hint="is rpcbind running there? or give {mount_port} and {nfs_port} to skip it",
            fields=_PORTS,
        )
    try:
        mapping = portmap.Mapping(prog, vers, portmap.IPPROTO_TCP, 0)
        found = await conn.call(
            portmap.GETPORT, portmap.PROGRAM, portmap.VERSION, mapping, timeout=timeout
        )
    except ConnectionLost as exc:
        raise ConnectionLost(
            f"cannot ask the portmapper where {name} listens: {exc.template}",
            fields=exc.fields, hint=exc.hint or "portmapper_unreachable",
        ) from exc
    finally:
        if own:
            await conn.close()
    if found == 0:
        raise ProgramUnavailable(
            f"{name} (program {prog} version {vers}, TCP) is not registered with the portmapper "
            f"at {conn.address}: is the server running and exporting NFSv3? or give its port "
            "with {mount_port}/{nfs_port}",
            fields=_PORTS, hint="not_registered",
        )
    if not 0 < found <= 0xFFFF:
        raise ProtocolError(
            f"the portmapper at {conn.address} answered port {found} for {name}, which is not a "
            "TCP port (1-65535): a broken portmapper; give the port with {mount_port}/{nfs_port}",
            fields=_PORTS, hint="broken_portmapper",
        )
    return int(found)
