"""ONC RPC over one TCP connection, with many calls in flight (asyncio).

The transport only moves bytes: arguments are encoded and results decoded by the codec modules
(``rpc``, ``nfs3``, ``mount``, ``portmap``). What it adds is what a flush of millions of files
needs from a connection: xids matched to futures so calls pipeline, a deadline per call (a late
reply is dropped rather than delivered to the wrong caller), and a reconnect on the next call
after the connection is lost, because a cache mount address may restart under us.

Each TCP connection is a :class:`_Link` with its own table of pending calls: replies arriving on
a connection can only answer calls sent on it, so a reconnect can never mix up xids.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import random
import socket
from typing import Any

from hpccache_cli.nfs import rpc
from hpccache_cli.nfs.errors import ConnectionLost, NfsClientError, ProtocolError, RpcTimeout
from hpccache_cli.nfs.nfs3 import Procedure

PRIVILEGED_PORTS = range(665, 1024)  # below 665 live well-known services; 1023 is the top
PRIVILEGED_TRIES = 32
READ_CHUNK = 1 << 18
_BACKOFF = 0.1  # first pause between connect attempts; doubles each time


class PrivilegedPortError(NfsClientError):
    """A privileged source port was asked for but cannot be had (not root, or none free)."""


class _Link:
    """One open TCP connection, its pending calls and its reader task.

    Calls made in the same event-loop turn are written with one ``send``: with hundreds of
    calls in flight the system call, not Python, was the cost of a call.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        self.outbox: list[bytes] = []
        self.write_lock = asyncio.Lock()  # drain() may not be awaited concurrently on 3.10
        self.task: asyncio.Task[None] | None = None
        self.closed = False
        self.local_port: int | None = writer.get_extra_info("sockname", (None, None))[1]
        self._transport = writer.transport
        self._high_water = writer.transport.get_write_buffer_limits()[1]

    def send(self, message: bytes) -> None:
        """Queue a framed message; the queue goes out at the end of this loop turn."""
        self.outbox.append(message)
        if len(self.outbox) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        data, self.outbox = b"".join(self.outbox), []
        if not self.closed:
            self.writer.write(data)

    def backlogged(self) -> bool:
        """Has the kernel stopped taking our bytes (time to wait in ``drain``)?"""
        return self._transport.get_write_buffer_size() > self._high_water

    def fail(self, exc: Exception) -> None:
        """Close the connection and fail every call still waiting on it with ``exc``."""
        self.closed = True
        pending, self.pending = self.pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(exc)
        self.writer.close()


def _expire(fut: asyncio.Future[bytes]) -> None:
    if not fut.done():
        fut.set_exception(asyncio.TimeoutError())


class RpcClientConnection:
    """A reconnecting ONC RPC client connection to ``host:port`` over TCP.

    ``label`` names the service in error messages (``"NFS"``, ``"MOUNT"``, ``"portmapper"``),
    and ``hint`` says what the user should check when the server cannot be reached; it may
    name ``ClientOptions`` fields as ``{field}``, listed in ``fields`` (see
    :class:`~hpccache_cli.nfs.errors.NfsClientError`).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        privileged_port: bool = False,
        connect_timeout: float = 5.0,
        connect_attempts: int = 3,
        label: str = "RPC",
        hint: str = "",
        fields: tuple[str, ...] = (),
        max_record: int = rpc.MAX_RECORD,
    ) -> None:
        self.host = host
        self.port = port
        self.privileged_port = privileged_port
        self.connect_timeout = connect_timeout
        self.connect_attempts = max(1, connect_attempts)
        self.label = label
        self.hint = hint or "check that the server is running and the address and port are right"
        self.fields = fields
        self.max_record = max_record
        self.dropped_replies = 0  # replies that arrived after their call timed out
        self.connects = 0  # successful connects, including reconnects
        self._link: _Link | None = None
        self._connect_lock: asyncio.Lock | None = None
        self._xid = random.getrandbits(32)
        self._cred: rpc.OpaqueAuth | None = None  # the last credential, and its encoding
        self._auths = b""

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._link is not None and not self._link.closed

    @property
    def in_flight(self) -> int:
        """Calls sent and not yet answered, failed or timed out."""
        return len(self._link.pending) if self._link is not None else 0

    @property
    def local_port(self) -> int | None:
        """Our source port while connected (to check privileged binding)."""
        return self._link.local_port if self.connected and self._link else None

    # --- connecting ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection now (calls do it on demand); raises ConnectionLost if refused."""
        await self._ensure_link()

    async def _ensure_link(self) -> _Link:
        link = self._link
        if link is not None and not link.closed:
            return link
        if self._connect_lock is None:  # created lazily: it must belong to the running loop
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:  # concurrent callers share one connect
            link = self._link
            if link is not None and not link.closed:
                return link
            reader, writer = await self._open()
            link = _Link(reader, writer)
            link.task = asyncio.get_running_loop().create_task(
                self._read_loop(link), name=f"rpc-reader-{self.address}"
            )
            self._link = link
            self.connects += 1
            return link

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect, retrying a bounded number of times (a restarting server refuses briefly)."""
        if self.privileged_port and os.geteuid() != 0:
            raise PrivilegedPortError(
                f"a privileged source port for {self.label} at {self.address} needs root: run as "
                "root, or drop {privileged_port} if the export does not require it",
                fields=("privileged_port",), hint="privileged_port_needs_root",
            )
        last: BaseException | None = None
        for attempt in range(self.connect_attempts):
            if attempt:
                await asyncio.sleep(_BACKOFF * 2 ** (attempt - 1))
            try:
                return await asyncio.wait_for(self._open_once(), self.connect_timeout)
            except asyncio.TimeoutError:
                last = TimeoutError(f"no answer within {self.connect_timeout:g} s")
            except OSError as exc:
                last = exc
        code = getattr(last, "errno", None)  # asyncio's strerror repeats the address: use errno
        if isinstance(code, int) and code > 0:
            reason = os.strerror(code).lower()
        else:  # e.g. a name that does not resolve (negative gaierror codes)
            reason = getattr(last, "strerror", None) or str(last)
        raise ConnectionLost(
            f"cannot connect to {self.label} at {self.address}: {reason} "
            f"({self.connect_attempts} attempt(s)); {self.hint}",
            fields=self.fields, hint="unreachable",
        ) from last

    async def _open_once(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if not self.privileged_port:
            return await asyncio.open_connection(self.host, self.port, limit=READ_CHUNK)
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        family, _, proto, _, addr = infos[0]
        ports = list(PRIVILEGED_PORTS)
        random.shuffle(ports)  # spreads clients; a just-closed port may sit in TIME_WAIT
        for port in ports[:PRIVILEGED_TRIES]:
            sock = socket.socket(family, socket.SOCK_STREAM, proto)
            try:
                sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port))
                sock.setblocking(False)
                await loop.sock_connect(sock, addr)
            except OSError as exc:
                sock.close()
                if exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                    continue  # taken, or this 4-tuple is still in TIME_WAIT: try another
                raise
            except BaseException:
                sock.close()
                raise
            return await asyncio.open_connection(sock=sock, limit=READ_CHUNK)
        raise PrivilegedPortError(
            f"no free privileged source port for {self.label} at {self.address} after "
            f"{PRIVILEGED_TRIES} tries in {PRIVILEGED_PORTS.start}..{PRIVILEGED_PORTS.stop - 1}"
        )

    async def _read_loop(self, link: _Link) -> None:
        """Reassemble records and hand each to the call waiting for its xid."""
        decoder = rpc.RecordDecoder(self.max_record)
        error: Exception = ConnectionLost(f"connection to {self.label} at {self.address} closed")
        try:
            while True:
                data = await link.reader.read(READ_CHUNK)
                if not data:
                    error = self._lost("the server closed the connection", link)
                    return
                for record in decoder.feed(data):
                    fut = link.pending.pop(rpc.peek_xid(record), None)
                    if fut is None or fut.done():
                        self.dropped_replies += 1  # its call timed out or was cancelled
                    else:
                        fut.set_result(record)
        except ProtocolError as exc:
            error = ProtocolError(
                f"{self.label} at {self.address} sent bytes that are not ONC RPC records ({exc});"
                " is this port really the service?"
            )
        except OSError as exc:
            error = self._lost(exc.strerror or str(exc) or type(exc).__name__, link)
        finally:
            if self._link is link:
                self._link = None
            link.fail(error)

    def _lost(self, reason: str, link: _Link) -> ConnectionLost:
        n = len(link.pending)
        return ConnectionLost(
            f"connection to {self.label} at {self.address} lost ({reason}) with {n} call(s) in "
            "flight; the next call reconnects"
        )

    # --- calling ------------------------------------------------------------------------------

    def _next_xid(self, link: _Link) -> int:
        while True:
            self._xid = (self._xid + 1) & 0xFFFFFFFF
            if self._xid not in link.pending:
                return self._xid

    async def call(
        self,
        proc: Procedure,
        prog: int,
        vers: int,
        args: Any = None,
        cred: rpc.OpaqueAuth = rpc.AUTH_NONE,
        timeout: float = 30.0,
    ) -> Any:
        """Call ``proc`` of ``prog``/``vers`` and return its decoded results.

        Raises RpcTimeout after ``timeout`` seconds, ConnectionLost if the connection fails
        while the call is in flight, the typed RPC errors of :func:`rpc.check_reply`, and
        ProtocolError when the results do not decode.
        """
        body = proc.args.encode(args)  # encode first: a bad argument never reaches the wire
        if cred is not self._cred:  # one client sends one credential: encode it once
            self._auths, self._cred = rpc.encode_auths(cred), cred
        auths = self._auths
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        link = self._link
        if link is None or link.closed:
            link = await self._ensure_link()
        xid = self._next_xid(link)
        fut: asyncio.Future[bytes] = loop.create_future()
        link.pending[xid] = fut
        timer = loop.call_at(deadline, _expire, fut)
        try:
            if link.backlogged():  # the server is not reading: wait rather than buffer more
                async with link.write_lock:
                    await asyncio.wait_for(link.writer.drain(), max(0.0, deadline - loop.time()))
            link.send(rpc.call_record(xid, prog, vers, proc.number, body, auths))
            record = await fut
        except asyncio.TimeoutError:
            raise RpcTimeout(
                f"no reply to {proc.name} from {self.host} in {timeout:g} s ({self.label} port "
                f"{self.port}; the server may be overloaded or hung)"
            ) from None
        except ConnectionError as exc:  # drain() on a connection that broke under us
            raise self._lost(str(exc) or type(exc).__name__, link) from exc
        finally:
            timer.cancel()
            if link.pending.get(xid) is fut:
                del link.pending[xid]
        results = rpc.accepted_results(record)
        if results is None:  # not a plain success: the typed error, naming the call
            what = f"{proc.name} to {self.label} at {self.address}"
            results = rpc.check_reply(rpc.decode_reply(record), what)
        return proc.res.decode(results)

    async def close(self) -> None:
        """Close the connection; calls in flight fail with ConnectionLost.

        Bounded whatever the server does: unsent bytes are dropped (their calls have failed),
        so a server that stopped reading cannot hold the close open; and a caller that gives
        up on close() (``wait_for``, Ctrl-C) gets its CancelledError, not a silent return.
        """
        link, self._link = self._link, None
        if link is None:
            return
        try:
            if link.task is not None and not link.task.done():
                link.task.cancel()
                # wait() does not raise the reader's CancelledError, but does raise our own.
                await asyncio.wait([link.task])
        finally:
            link.fail(ConnectionLost(f"connection to {self.label} at {self.address} was closed"))
            link.writer.transport.abort()
        with contextlib.suppress(OSError, ConnectionError):
            await link.writer.wait_closed()
