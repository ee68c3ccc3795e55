"""Closing a connection is bounded, whatever the server does.

Flush runs close connections when an address stops answering and at the end of a run; a
server that stopped reading must not be able to hold that close (and the whole command) open.
"""

from __future__ import annotations

import asyncio

import pytest

from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.errors import ConnectionLost
from hpccache_cli.nfs.transport import RpcClientConnection

HOST = "127.0.0.95"


async def _deaf_server() -> tuple[asyncio.AbstractServer, list[asyncio.StreamWriter]]:
    """Accepts connections and never reads a byte: the client's send buffer fills up."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    return await asyncio.start_server(accept, HOST, 0), held


def test_close_returns_when_the_server_stops_reading() -> None:
    async def scenario() -> None:
        server, held = await _deaf_server()
        port = server.sockets[0].getsockname()[1]
        conn = RpcClientConnection(HOST, port)
        await conn.connect()
        name = b"n" * 1000
        calls = [
            asyncio.ensure_future(conn.call(nfs3.LOOKUP, nfs3.PROGRAM, nfs3.VERSION,
                                            nfs3.LookupArgs(b"h" * 16, name), timeout=60))
            for _ in range(20_000)  # ~20 MB of calls: far more than the socket buffers hold
        ]
        await asyncio.sleep(0)  # let the calls queue their bytes
        try:
            await asyncio.wait_for(conn.close(), timeout=20)
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert results and all(isinstance(r, ConnectionLost) for r in results)
        finally:
            for c in calls:
                c.cancel()
            for w in held:
                w.close()
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())


def test_a_cancelled_close_stays_cancelled() -> None:
    """``wait_for(close(), t)`` must be able to give up: close() may not eat its CancelledError."""

    async def scenario() -> None:
        server, held = await _deaf_server()
        port = server.sockets[0].getsockname()[1]
        conn = RpcClientConnection(HOST, port)
        await conn.connect()
        closing = asyncio.ensure_future(conn.close())
        await asyncio.sleep(0)  # close() is now waiting for its reader task to end
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        assert conn.in_flight == 0
        for w in held:
            w.close()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
