"""One open TCP connection of an RPC client: an ``asyncio.Protocol`` with its pending calls.

Why a protocol rather than streams: a flush makes a few calls per file, thousands of files a
second, and with streams each batch of replies went through a reader task, a StreamReader
buffer and a copy, and each call had its own coroutine, timer and ``finally`` block. Here the
event loop hands received bytes straight to :meth:`Link.data_received`, which cuts whole
records, matches each xid to its call's future and delivers the decoded results; a call is
one future and one entry in ``pending``.

Deadlines: one timer per connection, armed at the earliest deadline of the calls in flight
(a heap ordered by deadline). When it fires, every call whose deadline has come fails with
the same :class:`~hpccache_cli.nfs.errors.RpcTimeout` a per-call timer gave, at the same
moment; answered calls leave the heap lazily, so a reply costs no heap work.

Writes: calls made in the same event-loop turn go out with one ``send`` (a flush at the end
of the turn): with hundreds of calls in flight the system call, not Python, was the cost.
"""

from __future__ import annotations

import asyncio
import heapq
from typing import TYPE_CHECKING, Any, Protocol

from hpccache_cli.nfs import rpc
from hpccache_cli.nfs.errors import ConnectionLost, ProtocolError, RpcTimeout

if TYPE_CHECKING:
    from hpccache_cli.nfs.nfs3 import Procedure

#: A call in flight: (deadline, xid, future, procedure, timeout). Deadline first, so the
#: tuple orders the heap; xid second breaks ties (unique among calls in flight).
Entry = tuple[float, int, "asyncio.Future[Any]", "Procedure", float]

#: A timer firing this close before a deadline expires that call too: the loop runs timers
#: up to its clock resolution early, and a call must not wait a whole extra turn for it.
_SLACK = 1e-3


class Owner(Protocol):
    """What a link needs of its connection (``transport.RpcClientConnection``): the words
    of its errors, and where to count late replies."""

    label: str
    max_record: int
    dropped_replies: int

    @property
    def address(self) -> str: ...

    def lost(self, reason: str, calls: int) -> ConnectionLost: ...

    def timeout_error(self, proc: Procedure, timeout: float) -> RpcTimeout: ...


class Link(asyncio.Protocol):
    """An open connection's calls in flight, its deadline timer and its write batching."""

    def __init__(self, conn: Owner, loop: asyncio.AbstractEventLoop) -> None:
        self.conn = conn
        self.loop = loop
        self.pending: dict[int, Entry] = {}
        self.closed = False
        self.close_reason: str | None = None  # why the connection ended, for later callers
        self.paused = False  # the kernel stopped taking our bytes (asyncio's flow control)
        self.local_port: int | None = None
        self.transport: asyncio.Transport | None = None
        self._outbox: list[bytes] = []
        self._decoder = rpc.RecordDecoder(conn.max_record)
        self._heap: list[Entry] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._writable: asyncio.Future[None] | None = None
        self._lost: asyncio.Future[None] = loop.create_future()

    # --- calls --------------------------------------------------------------------------------

    def expect(
        self, xid: int, deadline: float, proc: Procedure, timeout: float
    ) -> asyncio.Future[Any]:
        """Register call ``xid``: its future gets the decoded results, or the call's error."""
        fut: asyncio.Future[Any] = self.loop.create_future()
        entry = (deadline, xid, fut, proc, timeout)
        self.pending[xid] = entry
        heap = self._heap
        while heap and heap[0][2].done():  # answered calls leave the heap here, lazily
            self._forget(heapq.heappop(heap))
        if len(heap) > 2 * len(self.pending) + 64:
            self._compact()  # answered calls behind a long deadline (a SYNC flush's)
            heap = self._heap
        heapq.heappush(heap, entry)
        if deadline < self._timer_at:
            self._arm(deadline)
        return fut

    def send(self, record: bytes) -> None:
        """Queue a framed call; the queue goes out at the end of this loop turn."""
        self._outbox.append(record)
        if len(self._outbox) == 1:
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        data, self._outbox = b"".join(self._outbox), []
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def in_flight(self) -> int:
        """Calls still waiting for their reply (cancelled ones wait only in the table)."""
        return sum(1 for e in self.pending.values() if not e[2].done())

    def _compact(self) -> None:
        """Drop every finished call from the heap (amortised: it runs when at least half
        the heap is finished calls), so the heap stays the size of the calls in flight."""
        live = []
        for entry in self._heap:
            if entry[2].done():
                self._forget(entry)
            else:
                live.append(entry)
        heapq.heapify(live)
        self._heap = live

    def _forget(self, entry: Entry) -> None:
        """Drop a finished call's table entry if it is still there (a cancelled call's is:
        nothing else removes it, so a server that never answers would grow the table)."""
        xid = entry[1]
        if self.pending.get(xid) is entry:
            del self.pending[xid]

    # --- deadlines ------------------------------------------------------------------------------

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self.loop.call_at(when, self._expire)

    def _expire(self) -> None:
        """Fail every call whose deadline has come; re-arm for the next one."""
        self._timer, self._timer_at = None, float("inf")
        heap = self._heap
        now = self.loop.time() + _SLACK
        while heap and (heap[0][0] <= now or heap[0][2].done()):
            entry = heapq.heappop(heap)
            self._forget(entry)
            _, _, fut, proc, timeout = entry
            if not fut.done():
                fut.set_exception(self.conn.timeout_error(proc, timeout))
        if heap and not self.closed:
            self._arm(heap[0][0])

    # --- protocol callbacks ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sockname = transport.get_extra_info("sockname")
        self.local_port = sockname[1] if isinstance(sockname, tuple) else None

    def data_received(self, data: bytes) -> None:
        """Hand each complete record to the call waiting for its xid, decoded."""
        try:
            records = self._decoder.feed(data)
        except ProtocolError as exc:
            self._garbled(exc)
            return
        pending = self.pending
        for record in records:
            try:
                xid, results = rpc.split_reply(record)
            except ProtocolError as exc:  # shorter than an xid
                self._garbled(exc)
                return
            entry = pending.pop(xid, None)
            if entry is None or entry[2].done():
                self.conn.dropped_replies += 1  # its call timed out or was cancelled
                continue
            fut, proc = entry[2], entry[3]
            try:
                if results is None:  # not a plain success: the typed error, naming the call
                    what = f"{proc.name} to {self.conn.label} at {self.conn.address}"
                    results = rpc.check_reply(rpc.decode_reply(record), what)
                fut.set_result(proc.res.decode(results))
            except Exception as exc:  # the caller's error, as if it had decoded the reply
                fut.set_exception(exc)

    def _garbled(self, exc: ProtocolError) -> None:
        conn = self.conn
        self.fail(ProtocolError(
            f"{conn.label} at {conn.address} sent bytes that are not ONC RPC records ({exc}); "
            "is this port really the service?"
        ))

    def eof_received(self) -> bool:
        self._lose("the server closed the connection")
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            self._lose(reason)
        else:
            self._lose("the server closed the connection")
        if not self._lost.done():
            self._lost.set_result(None)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake_writers()

    # --- ending -----------------------------------------------------------------------------------

    def _lose(self, reason: str) -> None:
        if not self.closed:
            self.fail(self.conn.lost(reason, self.in_flight()))
            self.close_reason = reason

    def fail(self, exc: Exception) -> None:
        """Close the connection now, failing every call still waiting on it with ``exc``.

        Unsent bytes are dropped (their calls have failed), so a server that stopped reading
        cannot hold the close open."""
        if self.closed:
            return
        self.closed = True  # the next call reconnects
        pending, self.pending = self.pending, {}
        self._heap = []
        self._outbox = []
        if self._timer is not None:
            self._timer.cancel()
            self._timer, self._timer_at = None, float("inf")
        for entry in pending.values():
            if not entry[2].done():
                entry[2].set_exception(exc)
        self._wake_writers()
        if self.transport is not None:
            self.transport.abort()
        elif not self._lost.done():
            self._lost.set_result(None)

    async def wait_writable(self, timeout: float) -> bool:
        """Wait until the kernel takes bytes again or the connection ends; False on timeout."""
        if not self.paused or self.closed:
            return True
        if self._writable is None or self._writable.done():
            self._writable = self.loop.create_future()
        done, _ = await asyncio.wait([self._writable], timeout=max(0.0, timeout))
        return bool(done)

    def _wake_writers(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    async def wait_lost(self) -> None:
        """Until the loop has let go of the socket (soon after :meth:`fail`)."""
        await asyncio.shield(self._lost)
