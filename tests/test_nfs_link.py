"""The protocol transport's own ways of going wrong (``hpccache_cli/nfs/link.py``), over TCP.

The transport keeps every call's deadline behind one timer per connection, decodes replies
straight from what each read delivered, and sends the calls of one loop turn with one write.
Each of those could lose a call without any other test noticing: a short timeout behind a long
one, a call cancelled by its caller and then never forgotten, a record cut across reads or
many records in one read. The scripted server of ``test_nfs_transport`` plays the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from test_nfs_transport import DEADLINE, ECHO, LATE, PROG, RELEASE, connection, run, serving

from hpccache_cli.nfs import nfs3, rpc, xdr
from hpccache_cli.nfs.errors import ConnectionLost, RpcTimeout
from hpccache_cli.nfs.transport import RpcClientConnection

HOST = "127.0.0.1"
BLOB = nfs3.Procedure("BLOB", 9, xdr.Opaque(1 << 20), xdr.u32)  # answered with its length


async def until(predicate: Callable[[], bool]) -> None:
    """Wait, a loop turn at a time, until ``predicate()`` holds (bounded by ``DEADLINE``)."""
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), DEADLINE)


def test_a_short_timeout_behind_a_long_one_still_fires() -> None:
    """One timer per connection, armed for the earliest deadline: a call with a short timeout
    made after one with a long timeout must re-arm it, and the long one must survive."""

    async def body() -> None:
        async with serving() as server, connection(server) as conn:
            long = asyncio.ensure_future(conn.call(LATE, PROG, 1, 1, timeout=3600))
            await server.wait_for(lambda: len(server.late) == 1)
            with pytest.raises(RpcTimeout, match=r"^no reply to LATE from 127\.0\.0\.1 in "
                               r"0\.2 s \(RPC port \d+; the server may be overloaded or hung\)"):
                await conn.call(LATE, PROG, 1, 2, timeout=0.2)
            assert not long.done() and conn.in_flight == 1
            await conn.call(RELEASE, PROG, 1, timeout=DEADLINE)
            assert await long == 1
            assert conn.dropped_replies == 1  # the timed-out call's late reply

    run(body())


def test_calls_time_out_in_the_order_of_their_deadlines() -> None:
    async def body() -> None:
        async with serving() as server, connection(server) as conn:
            order: list[float] = []
            calls = []
            for timeout in (0.3, 0.1, 0.2):
                call = asyncio.ensure_future(conn.call(LATE, PROG, 1, 1, timeout=timeout))
                call.add_done_callback(lambda _, t=timeout: order.append(t))
                calls.append(call)
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert order == [0.1, 0.2, 0.3]
            assert [str(r) for r in results] == [
                f"no reply to LATE from {HOST} in {t:g} s (RPC port {server.port}; the server "
                "may be overloaded or hung)" for t in (0.3, 0.1, 0.2)]
            assert conn.in_flight == 0 and server.connections == 1

    run(body())


def test_a_cancelled_call_is_forgotten_and_its_reply_dropped() -> None:
    async def body() -> None:
        async with serving() as server, connection(server) as conn:
            call = asyncio.ensure_future(conn.call(LATE, PROG, 1, 1, timeout=DEADLINE))
            await server.wait_for(lambda: len(server.late) == 1)
            assert conn.in_flight == 1
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            assert conn.in_flight == 0
            # The next call clears it from the table (white box: a server that never answers
            # must not make cancelled calls pile up there).
            assert await conn.call(ECHO, PROG, 1, 4, timeout=DEADLINE) == 4
            assert conn._link is not None and conn._link.pending == {}
            await conn.call(RELEASE, PROG, 1, timeout=DEADLINE)
            assert conn.dropped_replies == 1

    run(body())


def test_answered_calls_behind_an_unanswered_one_do_not_pile_up() -> None:
    """Answered calls leave the deadline heap lazily, from its top: behind an unanswered
    call with an earlier deadline, calls with later ones (SYNC flushes) would stay until it
    expires, so the heap is compacted (white box: its size, which nothing else shows)."""

    async def body() -> None:
        async with serving() as server, connection(server) as conn:
            first = asyncio.ensure_future(conn.call(LATE, PROG, 1, 1, timeout=DEADLINE))
            await server.wait_for(lambda: len(server.late) == 1)
            for i in range(500):
                assert await conn.call(ECHO, PROG, 1, i, timeout=3600) == i
            link = conn._link
            assert link is not None and len(link._heap) <= 2 + 64
            await conn.call(RELEASE, PROG, 1, timeout=DEADLINE)
            assert await first == 1

    run(body())


# --- how replies arrive -----------------------------------------------------------------------


Answer = Callable[[list[bytes], asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def replying(batch: int, answer: Answer) -> AsyncIterator[int]:
    """A server that echoes ``batch`` u32 calls at a time, writing the framed replies with
    ``answer(replies, writer)``; yields its port."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder, held = rpc.RecordDecoder(), []
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(1 << 16):
                for record in decoder.feed(data):
                    call = rpc.decode_call(record)
                    held.append(rpc.frame(rpc.encode_reply(call.xid, results=call.args)))
                    if len(held) == batch:
                        await answer(held, writer)
                        held = []
        writer.close()

    server = await asyncio.start_server(serve, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def held_bytes(conn: RpcClientConnection) -> int:
    """Bytes of an incomplete reply the connection holds (white box: to know that a reply
    really was cut across reads, rather than hoping the kernel did it)."""
    link = conn._link
    return link._decoder.pending if link is not None else 0


def test_many_replies_in_one_write_reach_their_callers() -> None:
    async def one_write(replies: list[bytes], writer: asyncio.StreamWriter) -> None:
        writer.write(b"".join(reversed(replies)))  # one segment, answered out of order

    async def body() -> None:
        async with replying(200, one_write) as port:
            conn = RpcClientConnection(HOST, port)
            try:
                calls = [conn.call(ECHO, PROG, 1, i, timeout=DEADLINE) for i in range(200)]
                assert await asyncio.gather(*calls) == list(range(200))
                assert conn.in_flight == 0 and conn.dropped_replies == 0
            finally:
                await conn.close()

    run(body())


def test_a_reply_cut_into_pieces_across_reads_is_reassembled() -> None:
    conn_box: list[RpcClientConnection] = []

    async def piecemeal(replies: list[bytes], writer: asyncio.StreamWriter) -> None:
        data = b"".join(replies)
        for at in range(len(data) - 1):  # all but the last byte, one by one
            writer.write(data[at : at + 1])
            await writer.drain()
            held = (at + 1) % len(replies[0])
            await until(lambda held=held: held_bytes(conn_box[0]) == held)
        writer.write(data[-1:])

    async def body() -> None:
        async with replying(3, piecemeal) as port:
            conn = RpcClientConnection(HOST, port)
            conn_box.append(conn)
            try:
                calls = [conn.call(ECHO, PROG, 1, v, timeout=DEADLINE) for v in (7, 8, 9)]
                assert await asyncio.gather(*calls) == [7, 8, 9]
                assert held_bytes(conn) == 0 and conn.dropped_replies == 0
            finally:
                await conn.close()

    run(body())


def test_a_reply_in_many_fragments_is_one_record() -> None:
    async def fragments(replies: list[bytes], writer: asyncio.StreamWriter) -> None:
        for reply in replies:
            writer.write(rpc.frame(reply[4:], max_fragment=3))  # 3-byte fragments
        await writer.drain()

    async def body() -> None:
        async with replying(2, fragments) as port:
            conn = RpcClientConnection(HOST, port)
            try:
                calls = [conn.call(ECHO, PROG, 1, v, timeout=DEADLINE) for v in (0xABCD, 5)]
                assert await asyncio.gather(*calls) == [0xABCD, 5]
            finally:
                await conn.close()

    run(body())


def test_calls_of_one_loop_turn_reach_the_server_as_one_write() -> None:
    """The server's first read holds every call made in one turn: they went out together
    (one ``send``), and each still decodes."""
    first_read: list[int] = []

    async def body() -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            decoder = rpc.RecordDecoder()
            data = await reader.read(1 << 20)
            calls = [rpc.decode_call(r) for r in decoder.feed(data)]
            first_read.append(len(calls))
            for call in calls:
                writer.write(rpc.frame(rpc.encode_reply(call.xid, results=call.args)))
            with contextlib.suppress(ConnectionError):
                await reader.read()  # until the client closes
            writer.close()

        server = await asyncio.start_server(serve, HOST, 0)
        conn = RpcClientConnection(HOST, server.sockets[0].getsockname()[1])
        try:
            await conn.connect()
            values = list(range(50))
            assert await asyncio.gather(
                *(conn.call(ECHO, PROG, 1, v, timeout=DEADLINE) for v in values)) == values
            assert first_read == [50]
        finally:
            await conn.close()
            server.close()
            await server.wait_closed()

    run(body())



# --- a server that stops reading --------------------------------------------------------------


@contextlib.asynccontextmanager
async def slow_reader(go: asyncio.Event) -> AsyncIterator[int]:
    """A server that reads nothing until ``go`` is set, then answers each BLOB with the
    length of its arguments; yields its port."""
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await go.wait()
        decoder = rpc.RecordDecoder()
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(1 << 16):
                for record in decoder.feed(data):
                    call = rpc.decode_call(record)
                    reply = rpc.encode_reply(call.xid, results=xdr.u32.encode(len(call.args)))
                    writer.write(rpc.frame(reply))

    server = await asyncio.start_server(serve, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for w in writers:
            w.close()
        server.close()
        await server.wait_closed()


async def fill_until_paused(conn: RpcClientConnection) -> list[asyncio.Future[int]]:
    """Send 60 kB calls until asyncio stops writing (the kernel's buffers are full: white box,
    the transport's flow-control flag)."""
    calls: list[asyncio.Future[int]] = []
    while conn._link is None or not conn._link.paused:
        assert len(calls) < 5000, "the connection never backed up"
        calls.append(asyncio.ensure_future(
            conn.call(BLOB, PROG, 1, b"b" * 60_000, timeout=DEADLINE)))
        await asyncio.sleep(0)  # let the flush write it
    return calls


def test_calls_wait_while_the_server_is_not_reading_and_go_out_when_it_reads() -> None:
    async def body() -> None:
        go = asyncio.Event()
        async with slow_reader(go) as port:
            conn = RpcClientConnection(HOST, port)
            try:
                await conn.connect()
                calls = await fill_until_paused(conn)
                late = asyncio.ensure_future(
                    conn.call(BLOB, PROG, 1, b"late", timeout=DEADLINE))
                await asyncio.sleep(0)
                assert not late.done()
                go.set()
                assert set(await asyncio.gather(*calls)) == {4 + 60_000}
                assert await late == 8
                assert conn.in_flight == 0
            finally:
                await conn.close()

    run(body())


def test_a_call_waiting_to_be_sent_times_out_with_the_usual_message() -> None:
    async def body() -> None:
        go = asyncio.Event()
        async with slow_reader(go) as port:
            conn = RpcClientConnection(HOST, port, label="NFS")
            try:
                await conn.connect()
                calls = await fill_until_paused(conn)
                with pytest.raises(RpcTimeout, match=r"^no reply to BLOB from 127\.0\.0\.1 in "
                                   r"0\.2 s \(NFS port \d+;"):
                    await conn.call(BLOB, PROG, 1, b"x", timeout=0.2)
            finally:
                await conn.close()
            failed = await asyncio.gather(*calls, return_exceptions=True)
            assert all(isinstance(f, ConnectionLost) for f in failed)

    run(body())
