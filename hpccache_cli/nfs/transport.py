"""ONC RPC over one TCP connection, with many calls in flight (asyncio).

The transport only moves bytes: arguments are encoded and results decoded by the codec modules
(``rpc``, ``nfs3``, ``mount``, ``portmap``). What it adds is what a flush of millions of files
needs from a connection: xids matched to futures so calls pipeline, a deadline per call (a late
reply is dropped rather than delivered to the wrong caller), and a reconnect on the next call
after the connection is lost, because a cache mount address may restart under us.

Each TCP connection is a :class:`~hpccache_cli.nfs.link.Link` (an ``asyncio.Protocol``) with
its own table of pending calls: replies arriving on a connection can only answer calls sent on
it, so a reconnect can never mix up xids. A call costs one future: no reader task, stream
layers or timer of its own (see ``link.py`` for why).
"""

from __future__ import annotations

import asyncio
import errno
import os
import random
import socket
from collections.abc import Awaitable
from typing import Any

from hpccache_cli.nfs import rpc
from hpccache_cli.nfs.errors import ConnectionLost, NfsClientError, RpcTimeout
from hpccache_cli.nfs.link import Link
from hpccache_cli.nfs.nfs3 import Procedure

PRIVILEGED_PORTS = range(665, 1024)  # below 665 live well-known services; 1023 is the top
PRIVILEGED_TRIES = 32
_BACKOFF = 0.1  # first pause between connect attempts; doubles each time


class PrivilegedPortError(NfsClientError):
    """A privileged source port was asked for but cannot be had (not root, or none free)."""


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
        self._link: Link | None = None
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
        """Calls sent and not yet answered, failed, timed out or cancelled."""
        return self._link.in_flight() if self._link is not None else 0

    @property
    def local_port(self) -> int | None:
        """Our source port while connected (to check privileged binding)."""
        return self._link.local_port if self.connected and self._link else None

    # --- connecting ---------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection now (calls do it on demand); raises ConnectionLost if refused."""
        await self._ensure_link()

    async def _ensure_link(self) -> Link:
        link = self._link
        if link is not None and not link.closed:
            return link
        if self._connect_lock is None:  # created lazily: it must belong to the running loop
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:  # concurrent callers share one connect
            link = self._link
            if link is not None and not link.closed:
                return link
            link = await self._open()
            self._link = link
            self.connects += 1
            return link

    def _new_link(self) -> Link:
        return Link(self, asyncio.get_running_loop())

    async def _open(self) -> Link:
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

    async def _open_once(self) -> Link:
        loop = asyncio.get_running_loop()
        if not self.privileged_port:
            _, link = await loop.create_connection(self._new_link, self.host, self.port)
            return link
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
            _, link = await loop.create_connection(self._new_link, sock=sock)
            return link
        raise PrivilegedPortError(
            f"no free privileged source port for {self.label} at {self.address} after "
            f"{PRIVILEGED_TRIES} tries in {PRIVILEGED_PORTS.start}..{PRIVILEGED_PORTS.stop - 1}"
        )

    def lost(self, reason: str, calls: int) -> ConnectionLost:
        """The error of calls in flight on a connection that broke (``calls`` of them)."""
        return ConnectionLost(
            f"connection to {self.label} at {self.address} lost ({reason}) with {calls} call(s)"
            " in flight; the next call reconnects"
        )

    def timeout_error(self, proc: Procedure, timeout: float) -> RpcTimeout:
        """The error of a call that got no reply within its ``timeout``."""
        return RpcTimeout(
            f"no reply to {proc.name} from {self.host} in {timeout:g} s ({self.label} port "
            f"{self.port}; the server may be overloaded or hung)"
        )

    # --- calling ------------------------------------------------------------------------------

    def _next_xid(self, link: Link) -> int:
        pending = link.pending
        while True:
            self._xid = xid = (self._xid + 1) & 0xFFFFFFFF
            if xid not in pending:
                return xid

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
        return await self.request(proc, prog, vers, args, cred, timeout)

    def request(
        self,
        proc: Procedure,
        prog: int,
        vers: int,
        args: Any = None,
        cred: rpc.OpaqueAuth = rpc.AUTH_NONE,
        timeout: float = 30.0,
    ) -> Awaitable[Any]:
        """:meth:`call` without its coroutine: sends the call now when the connection is open
        and taking bytes, and returns what to await for the results (the call's future).

        The client's own methods use this: a flushed file makes several calls, and each
        coroutine layer per call was a visible share of the client's CPU. Arguments are
        encoded here, so a bad one raises at once and never reaches the wire.
        """
        body = proc.args.encode(args)
        if cred is not self._cred:  # one client sends one credential: encode it once
            self._auths, self._cred = rpc.encode_auths(cred), cred
        link = self._link
        if link is None or link.closed or link.paused:
            return self._request_slow(proc, prog, vers, body, timeout)
        deadline = link.loop.time() + timeout
        xid = self._next_xid(link)
        fut = link.expect(xid, deadline, proc, timeout)
        link.send(rpc.call_record(xid, prog, vers, proc.number, body, self._auths))
        return fut

    async def _request_slow(
        self, proc: Procedure, prog: int, vers: int, body: bytes, timeout: float
    ) -> Any:
        """A call that must first connect, or wait for the server to read what we sent (a
        backlog: rather than buffer without bound). Its ``timeout`` counts from now."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        link = self._link
        if link is None or link.closed:
            link = await self._ensure_link()
        while link.paused and not link.closed:
            if not await link.wait_writable(deadline - loop.time()):
                raise self.timeout_error(proc, timeout)
        if link.closed:  # broke while we waited for it to drain
            raise self.lost(link.close_reason or "closed", link.in_flight())
        xid = self._next_xid(link)
        fut = link.expect(xid, deadline, proc, timeout)
        link.send(rpc.call_record(xid, prog, vers, proc.number, body, self._auths))
        return await fut

    async def close(self) -> None:
        """Close the connection; calls in flight fail with ConnectionLost.

        Bounded whatever the server does: unsent bytes are dropped (their calls have failed),
        so a server that stopped reading cannot hold the close open; and a caller that gives
        up on close() (``wait_for``, Ctrl-C) gets its CancelledError, not a silent return.
        """
        link, self._link = self._link, None
        if link is None:
            return
        link.fail(ConnectionLost(f"connection to {self.label} at {self.address} was closed"))
        await link.wait_lost()
