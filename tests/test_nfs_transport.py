"""The RPC transport and NFS client over real TCP, against a tiny RPC server in this file.

The server decodes calls with ``rpc.decode_call`` and answers with ``rpc.encode_reply`` /
``encode_denied``; its test program can hold replies back, answer them out of order, drop the
connection or send garbage, which no well-behaved server would do on request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from hpccache_cli.nfs import mount, nfs3, portmap, rpc, xdr
from hpccache_cli.nfs.client import ClientOptions, FlushOp, NfsClient, SyncNfsClient
from hpccache_cli.nfs.errors import (
    ConnectionLost,
    GarbageArgs,
    MountError,
    NfsError,
    ProgramUnavailable,
    ProtocolError,
    RpcDenied,
    RpcTimeout,
)
from hpccache_cli.nfs.portmap_client import getport
from hpccache_cli.nfs.transport import PrivilegedPortError, RpcClientConnection

DEADLINE = 30.0  # generous bound on any single wait; only hit when something is broken
PROG = 0x20000042
ECHO = nfs3.Procedure("ECHO", 1, xdr.u32, xdr.u32)
HOLD = nfs3.Procedure("HOLD", 2, xdr.u32, xdr.u32)  # held until `hold_target` calls arrived
LATE = nfs3.Procedure("LATE", 3, xdr.u32, xdr.u32)  # held until a RELEASE call
RELEASE = nfs3.Procedure("RELEASE", 4, xdr.void, xdr.void)  # first sends held LATE replies
DROP = nfs3.Procedure("DROP", 5, xdr.void, xdr.void)  # aborts the connection
JUNK = nfs3.Procedure("JUNK", 6, xdr.void, xdr.void)  # answers with a bogus record mark
BADRES = nfs3.Procedure("BADRES", 7, xdr.void, xdr.u32)  # results that are not a u32
NOARGS = nfs3.Procedure("ECHO", 1, xdr.void, xdr.u32)  # ECHO without its argument
DENIED_UID = 4242
PMAP = portmap.PROGRAM

ROOT_FH, STALE_FH = b"root-fh!", b"stale-fh"
VERF = b"verf0001"


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, DEADLINE))


def free_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RpcTestServer:
    """Test program + portmapper + MOUNT + a one-directory NFS, all on one port."""

    def __init__(self, files: int = 50, page: int = 7) -> None:
        self.files = [b"f%d" % i for i in range(files)]
        self.page = page
        self.connections = 0
        self.peers: list[tuple[str, int]] = []
        self.calls: list[tuple[int, rpc.Call]] = []  # (connection number, call)
        self.hold_target = 0
        self.held: list[tuple[int, int, asyncio.StreamWriter]] = []
        self.late: list[tuple[int, int, asyncio.StreamWriter]] = []
        self.reply_order: list[int] = []
        self.commits: list[nfs3.CommitArgs] = []
        self.commit_results: bytes | None = None  # raw COMMIT results, to answer garbled
        #: "reset" / "close": send half of each COMMIT reply, then reset (RST) or close the
        #: connection: a server that breaks mid-reply (issue #19)
        self.commit_break: str | None = None
        self.changed = asyncio.Event()  # set whenever a call arrives, for condition waits
        self.port = 0
        test_procs = {p.number: p for p in (ECHO, HOLD, LATE, RELEASE, DROP, JUNK, BADRES)}
        self.programs = {
            PROG: (test_procs, self._test),
            portmap.PROGRAM: (portmap.PROCEDURES, self._portmap),
            mount.PROGRAM: (mount.PROCEDURES, self._mount),
            nfs3.PROGRAM: (nfs3.PROCEDURES, self._nfs),
        }

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds, re-checking after every call the server gets."""
        while not predicate():
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), DEADLINE)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.peers.append(writer.get_extra_info("peername"))
        decoder = rpc.RecordDecoder()
        try:
            while data := await reader.read(1 << 16):
                for record in decoder.feed(data):
                    call = rpc.decode_call(record)
                    self.calls.append((number, call))
                    self._handle(call, writer)
                    self.changed.set()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _send(self, w: asyncio.StreamWriter, xid: int, results: bytes = b"", stat: int = 0) -> None:
        w.write(rpc.frame(rpc.encode_reply(xid, stat, results)))

    def _handle(self, call: rpc.Call, w: asyncio.StreamWriter) -> None:
        is_sys = call.cred.flavor == rpc.AuthFlavor.AUTH_SYS
        if is_sys and rpc.AuthSys.from_opaque(call.cred).uid == DENIED_UID:
            w.write(rpc.frame(rpc.encode_denied(call.xid, rpc.RejectStat.AUTH_ERROR)))
            return
        if call.prog not in self.programs:
            return self._send(w, call.xid, stat=rpc.AcceptStat.PROG_UNAVAIL)
        procs, handler = self.programs[call.prog]
        proc = procs.get(call.proc)
        if proc is None:
            return self._send(w, call.xid, stat=rpc.AcceptStat.PROC_UNAVAIL)
        try:
            args = proc.args.decode(call.args)
        except ProtocolError:
            return self._send(w, call.xid, stat=rpc.AcceptStat.GARBAGE_ARGS)
        result = handler(proc, call.xid, args, w)
        if result is not None:  # a 1-tuple; None when the handler answered (or not) itself
            self._send(w, call.xid, proc.res.encode(result[0]))

    def _test(self, proc: nfs3.Procedure, xid: int, args: Any, w: asyncio.StreamWriter) -> Any:
        if proc is HOLD:
            self.held.append((xid, args, w))
            if len(self.held) == self.hold_target:
                random.Random(1234).shuffle(self.held)
                for held_xid, value, writer in self.held:
                    self.reply_order.append(value)
                    self._send(writer, held_xid, xdr.u32.encode(value))
            return None
        if proc is LATE:
            self.late.append((xid, args, w))
            return None
        if proc is RELEASE:
            for late_xid, value, writer in self.late:
                self._send(writer, late_xid, xdr.u32.encode(value))
            self.late.clear()
            return (None,)
        if proc is DROP:
            w.transport.abort()
            return None
        if proc is JUNK:
            w.write(b"\xff\xff\xff\xff")
            return None
        if proc is BADRES:
            self._send(w, xid, b"\0\0")
            return None
        return (args,)  # ECHO

    def _portmap(self, proc: nfs3.Procedure, xid: int, args: Any, w: Any) -> Any:
        known = {(nfs3.PROGRAM, nfs3.VERSION), (mount.PROGRAM, mount.VERSION)}
        registered = (args.prog, args.vers) in known and args.prot == portmap.IPPROTO_TCP
        return (self.port if registered else 0,)

    def _mount(self, proc: nfs3.Procedure, xid: int, args: Any, w: Any) -> Any:
        if proc is mount.MNT:
            if args != b"/export":
                return ((mount.Mountstat3.MNT3ERR_ACCES, None),)
            return ((mount.Mountstat3.MNT3_OK, mount.MountOk(ROOT_FH, [1])),)
        if proc is mount.EXPORT:
            return ([mount.ExportNode(b"/export", [b"127.0.0.1"])],)
        return (None,)

    def _nfs(self, proc: nfs3.Procedure, xid: int, args: Any, w: Any) -> Any:
        ok, stale = nfs3.Nfsstat3.NFS3_OK, nfs3.Nfsstat3.NFS3ERR_STALE
        if proc is nfs3.NULL:
            return (None,)
        if proc is nfs3.GETATTR:
            if args == ROOT_FH:
                return ((ok, nfs3.Fattr3(nfs3.Ftype3.NF3DIR, size=4096)),)
            if args in self.files:
                return ((ok, nfs3.Fattr3(nfs3.Ftype3.NF3REG, size=10)),)
            return ((stale, None),)
        if proc is nfs3.LOOKUP:
            if args.dir == ROOT_FH and args.name in self.files:
                return ((ok, nfs3.LookupOk(args.name)),)
            return ((nfs3.Nfsstat3.NFS3ERR_NOENT, None),)
        if proc is nfs3.COMMIT:
            self.commits.append(args)
            if self.commit_break is not None:
                reply = rpc.frame(rpc.encode_reply(xid, 0, proc.res.encode(
                    (ok, nfs3.CommitOk()))))
                w.write(reply[: len(reply) // 2])
                if self.commit_break == "reset":  # RST, not FIN: SO_LINGER with time 0
                    sock = w.get_extra_info("socket")
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    b"\1\0\0\0\0\0\0\0")
                    w.transport.abort()
                else:
                    w.close()
                return None
            if self.commit_results is not None:
                self._send(w, xid, self.commit_results)
                return None
            return ((ok, nfs3.CommitOk()) if args.file != STALE_FH else (stale, nfs3.WccData()),)
        if proc is nfs3.READDIRPLUS:
            if args.cookie and args.cookieverf != VERF:
                return ((nfs3.Nfsstat3.NFS3ERR_BAD_COOKIE, None),)
            names = [b".", b"..", *self.files]
            chunk = names[args.cookie : args.cookie + self.page]
            entries = [nfs3.EntryPlus(i + 1, n, args.cookie + i + 1) for i, n in enumerate(chunk)]
            eof = args.cookie + len(chunk) >= len(names)
            return ((ok, nfs3.ReaddirplusOk(None, VERF, entries, eof)),)
        if proc is nfs3.FSINFO:
            return ((ok, nfs3.FsinfoOk()),)
        return ((nfs3.Nfsstat3.NFS3ERR_NOTSUPP, None),)


@contextlib.asynccontextmanager
async def serving(**kw: Any) -> AsyncIterator[RpcTestServer]:
    server = RpcTestServer(**kw)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def connection(server: RpcTestServer, **kw: Any) -> AsyncIterator[RpcClientConnection]:
    conn = RpcClientConnection("127.0.0.1", server.port, **kw)
    try:
        yield conn
    finally:
        await conn.close()


# --- transport --------------------------------------------------------------------------------


def test_256_pipelined_calls_answered_out_of_order_reach_their_callers() -> None:
    async def body() -> None:
        async with serving() as server, connection(server) as conn:
            server.hold_target = 256  # the server answers nothing until all 256 are in flight
            calls = [conn.call(HOLD, PROG, 1, i, timeout=DEADLINE) for i in range(256)]
            assert await asyncio.gather(*calls) == list(range(256))
            assert sorted(server.reply_order) == list(range(256))
            assert server.reply_order != list(range(256))  # really out of order
            assert server.connections == 1 and conn.in_flight == 0

    run(body())


def test_timed_out_call_is_forgotten_and_its_late_reply_dropped() -> None:
    async def body() -> None:
        async with serving() as server, connection(server) as conn:
            with pytest.raises(RpcTimeout, match=r"no reply to LATE from 127\.0\.0\.1 in 0\.2 s"):
                await conn.call(LATE, PROG, 1, 7, timeout=0.2)
            assert conn.in_flight == 0
            # The late reply is written before RELEASE's own, so it has arrived (and was
            # dropped) by the time RELEASE returns.
            await conn.call(RELEASE, PROG, 1, timeout=DEADLINE)
            assert conn.dropped_replies == 1
            assert await conn.call(ECHO, PROG, 1, 8, timeout=DEADLINE) == 8
            assert server.connections == 1  # a timeout does not cost the connection

    run(body())


def test_dropped_connection_fails_in_flight_calls_and_next_call_reconnects() -> None:
    async def body() -> None:
        async with serving() as server, connection(server, label="NFS") as conn:
            late = asyncio.ensure_future(conn.call(LATE, PROG, 1, 1, timeout=DEADLINE))
            await server.wait_for(lambda: len(server.late) == 1)
            with pytest.raises(ConnectionLost) as info:
                await conn.call(DROP, PROG, 1, timeout=DEADLINE)
            assert f"NFS at 127.0.0.1:{server.port}" in str(info.value)
            assert "2 call(s) in flight" in str(info.value)
            with pytest.raises(ConnectionLost):
                await late
            assert not conn.connected and conn.in_flight == 0
            assert await conn.call(ECHO, PROG, 1, 5, timeout=DEADLINE) == 5
            assert (server.connections, conn.connects) == (2, 2)

    run(body())


def test_refused_connection_names_the_address_and_what_to_check() -> None:
    async def body() -> None:
        port = free_port()
        conn = RpcClientConnection(
            "127.0.0.1", port, connect_attempts=2, label="NFS", hint="check --nfs-port"
        )
        with pytest.raises(ConnectionLost) as info:
            await conn.call(ECHO, PROG, 1, 1, timeout=DEADLINE)
        message = str(info.value)
        for word in (f"NFS at 127.0.0.1:{port}", "connection refused", "2 attempt", "--nfs-port"):
            assert word in message

    run(body())


@pytest.mark.parametrize(
    "proc, prog, error, words",
    [
        (ECHO, PROG + 1, ProgramUnavailable,
         ["PROG_UNAVAIL", "ECHO", "check nfs_port/mount_port/portmap_port"]),
        (nfs3.Procedure("NOPE", 99, xdr.void, xdr.void), PROG, ProgramUnavailable,
         ["PROC_UNAVAIL", "NOPE"]),
        (NOARGS, PROG, GarbageArgs, ["GARBAGE_ARGS", "could not decode"]),
        (BADRES, PROG, ProtocolError, ["truncated"]),
        (JUNK, PROG, ProtocolError, ["not ONC RPC records", "really the service"]),
    ],
)
def test_rpc_failures_raise_typed_errors_with_helpful_messages(
    proc: nfs3.Procedure, prog: int, error: type[Exception], words: list[str]
) -> None:
    async def body() -> None:
        async with serving() as server, connection(server) as conn:
            args = 1 if proc is ECHO else None
            with pytest.raises(error) as info:
                await conn.call(proc, prog, 1, args, timeout=DEADLINE)
            assert all(w in str(info.value) for w in words), str(info.value)
            assert await conn.call(ECHO, PROG, 1, 3, timeout=DEADLINE) == 3  # still usable

    run(body())


def test_auth_error_is_rpc_denied_with_a_hint() -> None:
    async def body() -> None:
        async with serving() as server, connection(server) as conn:
            cred = rpc.AuthSys(0, b"host", DENIED_UID, 1).to_opaque()
            with pytest.raises(RpcDenied) as info:
                await conn.call(ECHO, PROG, 1, 1, cred, timeout=DEADLINE)
            assert info.value.auth_stat == rpc.AuthStat.AUTH_BADCRED
            assert "AUTH_BADCRED" in str(info.value) and "uid/gid" in str(info.value)
            assert (info.value.fields, info.value.hint) == (("uid", "gid"), "auth_refused")

    run(body())


@pytest.mark.skipif(os.geteuid() != 0, reason="binding ports below 1024 needs root")
def test_privileged_source_port_as_root() -> None:
    async def body() -> None:
        async with serving() as server, connection(server, privileged_port=True) as conn:
            assert await conn.call(ECHO, PROG, 1, 1, timeout=DEADLINE) == 1
            assert 665 <= server.peers[-1][1] <= 1023
            assert conn.local_port == server.peers[-1][1]

    run(body())


def _privileged_error_as(uid: int | None) -> str:
    async def attempt() -> str:
        try:
            await RpcClientConnection("127.0.0.1", free_port(), privileged_port=True).connect()
        except PrivilegedPortError as exc:
            return str(exc)
        return "no error"

    if uid is None:
        return run(attempt())
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop root for good, report, and leave without running pytest's exit
        code = 1
        try:
            os.close(read_end)
            os.setgid(uid)
            os.setuid(uid)
            os.write(write_end, run(attempt()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    assert os.waitpid(pid, 0)[1] == 0
    return message


def test_privileged_source_port_without_root_is_a_clear_error() -> None:
    message = _privileged_error_as(65534 if os.geteuid() == 0 else None)
    assert "needs root" in message and "drop privileged_port" in message


# --- NFS client -------------------------------------------------------------------------------


def _options(port: int, **kw: Any) -> ClientOptions:
    kw.setdefault("portmap_port", port)
    return ClientOptions(uid=4321, gid=99, gids=(1, 2), machinename="tester", **kw)


def test_client_finds_ports_mounts_and_spreads_calls_over_connections() -> None:
    async def body() -> None:
        async with serving() as server:
            async with NfsClient("127.0.0.1", _options(server.port, connections=3)) as client:
                assert (client.mount_port, client.nfs_port) == (server.port, server.port)
                root = await client.mount(b"/export")
                assert root == ROOT_FH
                assert [e.dir for e in await client.exports()] == [b"/export"]
                await client.mount_null()
                for _ in range(6):
                    await client.null()
            nfs_conns = [n for n, c in server.calls if c.prog == nfs3.PROGRAM]
            assert len(set(nfs_conns)) == 3 and len(nfs_conns) == 6
            creds = {rpc.AuthSys.from_opaque(c.cred) for _, c in server.calls if c.prog != PMAP}
            assert creds == {rpc.AuthSys(0, b"tester", 4321, 99, (1, 2))}

    run(body())


def test_client_errors_and_auth_none() -> None:
    async def body() -> None:
        async with serving() as server:
            opts = _options(server.port, auth="none", mount_port=server.port)
            async with NfsClient("127.0.0.1", opts) as client:
                with pytest.raises(MountError) as minfo:
                    await client.mount(b"/secret")
                assert (minfo.value.name, minfo.value.status) == ("MNT3ERR_ACCES", 13)
                assert "MNT /secret" in str(minfo.value)
                with pytest.raises(NfsError) as ninfo:
                    await client.lookup_path(ROOT_FH, b"f1/../nope")
                assert (ninfo.value.name, ninfo.value.status) == ("NFS3ERR_NOENT", 2)
                with pytest.raises(NfsError, match="STALE"):
                    await client.getattr(STALE_FH)
            assert {c.cred for _, c in server.calls} == {rpc.AUTH_NONE}
            with pytest.raises(ProgramUnavailable, match="not registered with the portmapper"):
                await getport("127.0.0.1", 100021, 4, server.port, DEADLINE)

    run(body())


def test_unreachable_portmapper_is_named_in_the_error() -> None:
    async def body() -> None:
        port = free_port()
        with pytest.raises(ConnectionLost) as info:
            await NfsClient("127.0.0.1", _options(port)).connect()
        assert f"portmapper at 127.0.0.1:{port}" in str(info.value)
        assert "give mount_port and nfs_port" in str(info.value)
        assert info.value.fields == ("mount_port", "nfs_port")
        assert info.value.render({"mount_port": "--mount-port", "nfs_port": "--nfs-port"})\
            .endswith("or give --mount-port and --nfs-port to skip it")

    run(body())


@contextlib.contextmanager
def server_thread(**kw: Any) -> Iterator[RpcTestServer]:
    """The test server on its own loop in a thread, for the blocking client."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = RpcTestServer(**kw)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(DEADLINE)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(DEADLINE)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(DEADLINE)
        loop.close()


def test_sync_client_mirrors_the_async_calls() -> None:
    with server_thread(files=50, page=7) as server:
        with SyncNfsClient("127.0.0.1", _options(server.port, connections=2)) as client:
            root = client.mount(b"/export")
            assert client.getattr(root).is_dir
            fh = client.lookup_path(root, b"./f3/")
            assert client.lookup(root, b"f3").object == fh
            assert client.getattr(fh).is_regular and client.getattr(fh).size == 10
            assert client.flush(fh, FlushOp.SYNC) == 0
            assert client.flush(STALE_FH, FlushOp.STATUS) == nfs3.Nfsstat3.NFS3ERR_STALE
            assert client.commit(fh, 0, 0) == nfs3.CommitOk()
            assert [(a.offset, a.count) for a in server.commits] == [
                (nfs3.FLUSH_OFFSET, nfs3.FLUSH_SYNC), (nfs3.FLUSH_OFFSET, nfs3.FLUSH_STATUS),
                (0, 0)]
            names = [e.name for e in client.iter_dir(root)]
            assert names == server.files  # 8 pages of 7, without . and ..
            assert client.fsinfo(root) == nfs3.FsinfoOk()
            client.umount(b"/export")
        with pytest.raises(RuntimeError, match="closed"):
            client.null()
        client.close()  # idempotent
