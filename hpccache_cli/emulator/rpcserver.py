"""ONC RPC over TCP for the emulator: record framing, call checks and procedure dispatch.

One :class:`RpcServerConnection` (an ``asyncio.Protocol``, leaner than streams) per client
connection. Calls are answered as soon as they are decoded; a call that has to wait (a sync
flush) runs as a task and its reply goes out whenever it is ready, so one slow call never holds
up the pipelined calls behind it (replies are matched by xid, order does not matter). Replies
are written without awaiting a drain; reading pauses while the socket's write buffer is full.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hpccache_cli.emulator.nodes import NfsStatusError
from hpccache_cli.nfs import rpc, xdr
from hpccache_cli.nfs.errors import ProtocolError
from hpccache_cli.nfs.nfs3 import Procedure
from hpccache_cli.nfs.rpc import AcceptStat, AuthStat, RejectStat

log = logging.getLogger(__name__)
_HEAD = struct.Struct(">III")  # xid, msg type, rpc version


@dataclass
class Program:
    """An RPC program served on a port: procedures (codecs) and their handlers.

    ``drop`` (called once per call, True = close the connection without replying) and
    ``latency`` (seconds to hold each reply) are the fault hooks; only NFS sets them.
    ``calls`` counts the calls received, by procedure number (RPCs per file in benchmarks
    and tests are counted here, at the receiving end).
    """

    number: int
    version: int
    procedures: dict[int, Procedure]
    handlers: dict[int, Callable[[Any], Any]]
    drop: Callable[[], bool] | None = None
    latency: Callable[[], float] | None = None
    calls: Counter[int] = field(default_factory=Counter)
    _fail_bodies: dict[int, Any] = field(default_factory=dict)

    def fail_body(self, proc: Procedure) -> Any:
        """The empty body of a failed result (None, or e.g. an empty WccData for COMMIT)."""
        if proc.number not in self._fail_bodies:
            fail = getattr(proc.res, "fail", xdr.void)
            body = None
            if not isinstance(fail, (xdr.Void, xdr.Optional)):
                body = fail.cls()
            self._fail_bodies[proc.number] = body
        return self._fail_bodies[proc.number]


class RpcServerConnection(asyncio.Protocol):
    """One client connection; ``registry`` is its address's connection set (to drop them)."""

    def __init__(self, programs: dict[int, Program], registry: set[RpcServerConnection]) -> None:
        self.programs = programs
        self.registry = registry
        self.transport: asyncio.Transport | None = None
        self.decoder = rpc.RecordDecoder()
        self.tasks: set[asyncio.Task[Any]] = set()
        self._outbox: list[bytes] = []  # replies of this loop turn, not yet written
        self.loop = asyncio.get_running_loop()

    # --- asyncio callbacks ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.registry.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.registry.discard(self)
        for task in self.tasks:
            task.cancel()

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        try:
            records = self.decoder.feed(data)
        except ProtocolError as exc:  # an absurd record length: not an RPC client
            log.info("closing connection: %s", exc)
            self.transport.abort()
            return
        for record in records:
            if self.transport.is_closing():
                break
            self.handle(record)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # --- calls ------------------------------------------------------------------------------

    def send(self, message: bytes) -> None:
        """Queue a reply; every reply of this loop turn goes out in one write.

        Pipelined calls arrive in bursts and sync flushes finish in bursts (write-backs end
        together): one ``write`` per reply was the emulator's largest single cost.
        """
        self._outbox.append(rpc.frame(message))
        if len(self._outbox) == 1:
            self.loop.call_soon(self._flush_outbox)

    def _flush_outbox(self) -> None:
        data, self._outbox = b"".join(self._outbox), []
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def handle(self, record: bytes) -> None:
        if len(record) < _HEAD.size:
            return
        xid, mtype, rpcvers = _HEAD.unpack_from(record)
        if mtype != rpc.MsgType.CALL:
            return
        if rpcvers != rpc.RPC_VERSION:
            self.send(rpc.encode_denied(xid, RejectStat.RPC_MISMATCH))
            return
        try:
            call = rpc.decode_call(record)
        except ProtocolError:  # bad credential or verifier encoding
            self.send(rpc.encode_denied(xid, RejectStat.AUTH_ERROR, AuthStat.AUTH_BADCRED))
            return
        if call.cred.flavor not in (rpc.AuthFlavor.AUTH_NONE, rpc.AuthFlavor.AUTH_SYS):
            self.send(rpc.encode_denied(xid, RejectStat.AUTH_ERROR, AuthStat.AUTH_BADCRED))
            return
        program = self.programs.get(call.prog)
        if program is None:
            self.send(rpc.encode_reply(xid, AcceptStat.PROG_UNAVAIL))
            return
        if call.vers != program.version:
            v = program.version
            self.send(rpc.encode_reply(xid, AcceptStat.PROG_MISMATCH, mismatch=(v, v)))
            return
        program.calls[call.proc] += 1
        if program.drop is not None and program.drop():
            assert self.transport is not None
            self.transport.close()
            return
        reply = self.dispatch(program, call)
        delay = program.latency() if program.latency is not None else 0.0
        if isinstance(reply, bytes):
            if delay > 0:
                self.loop.call_later(delay, self.send, reply)
            else:
                self.send(reply)
        else:
            task = self.loop.create_task(self._finish(xid, program, reply, delay))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def dispatch(self, program: Program, call: rpc.Call) -> bytes | Any:
        """The encoded reply, or a coroutine producing the result for ``_finish``."""
        proc = program.procedures.get(call.proc)
        handler = program.handlers.get(call.proc)
        if proc is None or handler is None:
            return rpc.encode_reply(call.xid, AcceptStat.PROC_UNAVAIL)
        try:
            args = proc.args.decode(call.args)
        except ProtocolError:
            return rpc.encode_reply(call.xid, AcceptStat.GARBAGE_ARGS)
        try:
            result = handler(args)
        except NfsStatusError as exc:
            result = (exc.status, program.fail_body(proc))
        except Exception:
            log.exception("%s failed", proc.name)
            return rpc.encode_reply(call.xid, AcceptStat.SYSTEM_ERR)
        if asyncio.iscoroutine(result):
            return (proc, result)
        return self._encode(call.xid, proc, result)

    @staticmethod
    def _encode(xid: int, proc: Procedure, result: Any) -> bytes:
        try:
            return rpc.encode_reply(xid, AcceptStat.SUCCESS, proc.res.encode(result))
        except ProtocolError:
            log.exception("%s: result does not encode", proc.name)
            return rpc.encode_reply(xid, AcceptStat.SYSTEM_ERR)

    async def _finish(self, xid: int, program: Program, pending: Any, delay: float) -> None:
        proc, coro = pending
        try:
            result = await coro
        except NfsStatusError as exc:
            result = (exc.status, program.fail_body(proc))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed", proc.name)
            self.send(rpc.encode_reply(xid, AcceptStat.SYSTEM_ERR))
            return
        if delay > 0:
            await asyncio.sleep(delay)
        self.send(self._encode(xid, proc, result))
