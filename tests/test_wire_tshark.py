"""Wireshark's dissectors judge our bytes: client calls and emulator replies, captured on lo.

One capture (module fixture) holds real traffic between our NFSv3/MOUNT/portmap client (the
API and ``hpccache flush`` in a subprocess) and the emulator: portmapper GETPORT, MOUNT
MNT/EXPORT/UMNT, NFS NULL/GETATTR/LOOKUP (incl. an NOENT answer)/READDIRPLUS/FSINFO, a plain
COMMIT and the three HPC Cache flush COMMITs with OK and error answers. tshark then reads it
with the emulator's ports decoded as RPC; the tests ask it what it saw.

Why it matters: client and emulator share one codec, so a codec bug that is the same on both
sides round-trips unnoticed between them. Checked by hand: a 4-byte COMMIT write verifier
(RFC 1813: 8) passes every other test here, and tshark calls those replies malformed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from emulator_support import JUNCTION, RawRpc, free_port, make_config, put
from peers import wait_until
from tshark_support import Capture, RpcMessage, dissect, rpc_messages

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs import mount, nfs3, portmap
from hpccache_cli.nfs.client import ClientOptions, FlushOp, NfsClient, SyncNfsClient
from hpccache_cli.nfs.errors import NfsError
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

ADDR = "127.0.0.94"
ROOT = Path(__file__).resolve().parents[1]
NFS = nfs3.PROGRAM
# Enough directory entries for READDIRPLUS to page over two replies (cookies, big records).
LISTED = [f"entry-{i:03d}-{'x' * 60}" for i in range(120)]


@dataclass
class Wire:
    """The capture and what our side believed happened while it ran."""

    tshark: str
    path: Path
    ports: tuple[int, int, int]  # portmap, mount, nfs
    flushes: set[tuple[int, int]] = field(default_factory=set)  # (count, status) we got
    messages: list[RpcMessage] = field(default_factory=list)  # as tshark dissected them

    def rows(self, display_filter: str, *fields: str) -> list[list[str]]:
        return dissect(self.tshark, self.path, self.ports, display_filter, fields)

    def calls(self, program: int, procedure: int | None = None) -> list[RpcMessage]:
        return [m for m in self.messages if m.is_call and m.num("rpc.program") == program
                and procedure in (None, m.num("rpc.procedure"))]

    def replies(self, program: int, procedure: int) -> list[RpcMessage]:
        return [m for m in self.messages if not m.is_call
                and m.num("rpc.program") == program and m.num("rpc.procedure") == procedure]


def portmap_null(port: int) -> tuple[int, int]:
    """The capture's start/end marker: one portmapper NULL on its own connection."""
    with RawRpc(ADDR, port, timeout=10) as raw:
        raw.call(portmap.PROGRAM, portmap.VERSION, portmap.NULL.number)
        return raw.sock.getsockname()[1], port


def client_traffic(emu: EmulatorThread, wire: Wire) -> None:
    """Every procedure the tests look for, through the client API (ports via GETPORT)."""
    cache = Path(emu.emulator.config.cache.cache_dir) / JUNCTION.lstrip("/")
    for name in LISTED:
        put(cache / "listed" / name, b"")
    for name in ("sync.txt", "async.txt", "stuck.txt"):
        put(cache / name, name.encode())
    options = ClientOptions(portmap_port=emu.ports.portmap, timeout=10)

    def flush(fh: bytes, op: FlushOp) -> int:
        status = client.flush(fh, op)
        wire.flushes.add((int(op), status))
        return status

    with SyncNfsClient(ADDR, options) as client:
        root = client.mount(JUNCTION.encode())
        assert {n.dir.decode() for n in client.exports()} >= {JUNCTION}
        client.null()
        sync_fh, async_fh, stuck_fh = (client.lookup_path(root, n.encode())
                                       for n in ("sync.txt", "async.txt", "stuck.txt"))
        assert client.getattr(sync_fh).size == len("sync.txt")
        assert client.fsinfo(root)
        listed = client.lookup_path(root, b"listed")
        assert sorted(e.name.decode() for e in client.iter_dir(listed)) == sorted(LISTED)
        with pytest.raises(NfsError):
            client.lookup_path(root, b"no-such-file")  # an NOENT reply with dir attributes
        assert client.commit(sync_fh).verf  # a plain COMMIT
        assert flush(sync_fh, FlushOp.SYNC) == S.NFS3_OK
        emu.run(emu.namespace.writeback.pause)
        assert flush(async_fh, FlushOp.START) == S.NFS3ERR_NOT_SYNC
        assert flush(async_fh, FlushOp.STATUS) == S.NFS3ERR_NOT_SYNC
        emu.run(emu.namespace.writeback.resume)
        wait_until(lambda: flush(async_fh, FlushOp.STATUS) == S.NFS3_OK, timeout=60)
        emu.faults.failing_paths.append(f"{JUNCTION}/stuck.txt")
        assert flush(stuck_fh, FlushOp.SYNC) == S.NFS3ERR_IO
        assert flush(stuck_fh, FlushOp.STATUS) == S.NFS3ERR_NOTEMPTY
        assert flush(listed, FlushOp.SYNC) == S.NFS3ERR_ISDIR
        client.umount(JUNCTION.encode())


#: LOOKUPs made in one loop turn (names under the junction): the client sends them with one
#: write, so they share a TCP segment.
PIPELINED = [n.encode() for n in ("sync.txt", "async.txt", "stuck.txt", "listed")] * 4


def pipelined_traffic(emu: EmulatorThread) -> None:
    """Calls made in one loop turn, through the async client (after ``client_traffic``)."""
    options = ClientOptions(portmap_port=emu.ports.portmap, timeout=10)

    async def lookups() -> None:
        async with NfsClient(ADDR, options) as client:
            root = await client.mount(JUNCTION.encode())
            found = await asyncio.gather(*(client.lookup(root, n) for n in PIPELINED))
            assert len({ok.object for ok in found}) == 4

    asyncio.run(asyncio.wait_for(lookups(), 30))


def cli_traffic(emu: EmulatorThread) -> None:
    """``hpccache flush`` as users run it (portmapper, its own COMMITs, one missing file)."""
    cache = Path(emu.emulator.config.cache.cache_dir) / JUNCTION.lstrip("/")
    for name in ("cli/a", "cli/b"):
        put(cache / name, b"dirty " + name.encode())
    env = dict(os.environ, PYTHONPATH=str(ROOT), HPCCACHE_PORTMAP_PORT=str(emu.ports.portmap))
    proc = subprocess.run(
        [sys.executable, "-m", "hpccache_cli", "flush", "--ip", ADDR, "--export", JUNCTION,
         "cli/a", "cli/b", "cli/missing"],
        capture_output=True, env=env, timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc.stderr  # two flushed, one not found
    assert b"flushed: 2" in proc.stdout, proc.stdout


@pytest.fixture(scope="module")
def wire(tshark: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wire]:
    base = tmp_path_factory.mktemp("wire")
    config = make_config(base, [ADDR], ports={"portmap": free_port(ADDR)})
    with EmulatorThread(config) as emu:
        p = emu.ports
        captured = Wire(tshark, base / "wire.pcapng", (p.portmap, p.mount, p.nfs))
        bpf = f"host {ADDR} and tcp port ({' or '.join(map(str, captured.ports))})"
        with Capture(tshark, captured.path, bpf, lambda: portmap_null(p.portmap)):
            client_traffic(emu, captured)
            pipelined_traffic(emu)
            cli_traffic(emu)
    # Only connections seen from their SYN: the capture may begin in the middle of a start
    # probe (a reply without its call); all such come before the first whole connection.
    whole = {int(row[0]) for row in captured.rows("tcp.flags.syn == 1 && tcp.flags.ack == 0",
                                                  "tcp.stream")}
    messages = rpc_messages(tshark, captured.path, captured.ports)
    assert all(m.stream < min(whole) for m in messages if m.stream not in whole)
    captured.messages = [m for m in messages if m.stream in whole]
    yield captured


def test_no_malformed_packet_and_no_expert_error(wire: Wire) -> None:
    bad = wire.rows('_ws.malformed || _ws.expert.severity >= "Error"',
                    "frame.number", "_ws.col.Info", "_ws.expert.message")
    assert bad == []
    assert len(wire.rows("rpc", "frame.number")) > 50  # not vacuous: the RPCs were dissected


def test_every_call_has_its_accepted_reply(wire: Wire) -> None:
    calls = [m for m in wire.messages if m.is_call]
    replies = [m for m in wire.messages if not m.is_call]
    key = {id(m): (m.stream, m.get("rpc.xid")) for m in wire.messages}
    assert sorted(key[id(m)] for m in calls) == sorted(key[id(m)] for m in replies)
    assert len(calls) > 30
    assert {(m.get("rpc.replystat"), m.get("rpc.state_accept")) for m in replies} == {
        ("0", "0")}  # MSG_ACCEPTED, SUCCESS
    # tshark's own matching (two passes): each message links to the frame of its partner. The
    # link is rpc.reqframe in a call and rpc.repframe in a reply in tshark 4.0 (the reverse
    # of their titles), so either name is read.
    in_frame: dict[int, set[tuple[int, str | None]]] = {}
    for m in wire.messages:
        in_frame.setdefault(m.frame, set()).add((m.stream, m.get("rpc.xid")))
    for m in wire.messages:
        link = m.fields.get("rpc.reqframe", []) + m.fields.get("rpc.repframe", [])
        assert len(link) == 1 and key[id(m)] in in_frame.get(int(link[0]), set()), m


def test_calls_sent_together_share_a_segment_and_each_is_dissected(wire: Wire) -> None:
    """The pipelined LOOKUPs went out in one write: one frame carries all of them, and tshark
    finds each call there (its reply is checked with every other's above)."""
    frames: dict[int, list[str | None]] = {}
    for m in wire.calls(NFS, nfs3.LOOKUP.number):
        frames.setdefault(m.frame, []).append(m.get("nfs.name"))
    together = max(frames.values(), key=len)
    assert sorted(map(str, together)) == sorted(n.decode() for n in PIPELINED)


def test_the_dissected_procedures(wire: Wire) -> None:
    seen = {(m.num("rpc.program"), m.num("rpc.procedure")) for m in wire.messages if m.is_call}
    expected = {(portmap.PROGRAM, portmap.GETPORT.number)}
    expected |= {(mount.PROGRAM, p.number) for p in (mount.MNT, mount.EXPORT, mount.UMNT)}
    expected |= {(NFS, p.number) for p in (nfs3.NULL, nfs3.GETATTR, nfs3.LOOKUP,
                                           nfs3.READDIRPLUS, nfs3.FSINFO, nfs3.COMMIT)}
    assert expected <= seen
    assert {m.get("mount.path") for m in wire.calls(mount.PROGRAM, mount.MNT.number)} == {
        JUNCTION}
    getport = wire.replies(portmap.PROGRAM, portmap.GETPORT.number)
    assert {m.num("portmap.port") for m in getport} == {wire.ports[1], wire.ports[2]}
    lookups = wire.replies(NFS, nfs3.LOOKUP.number)
    assert {m.num("nfs.status") for m in lookups} == {S.NFS3_OK, S.NFS3ERR_NOENT}
    listed = wire.replies(NFS, nfs3.READDIRPLUS.number)
    assert sorted(n for m in listed for n in m.fields["nfs.readdirplus.entry.name"]) == sorted(
        [".", ".."] + LISTED)


def test_commits_offsets_counts_statuses_and_post_op_attributes(wire: Wire) -> None:
    calls = {(m.stream, m.get("rpc.xid")): (m.num("nfs.offset3"), m.num("nfs.count3"))
             for m in wire.calls(NFS, nfs3.COMMIT.number)}
    replies = wire.replies(NFS, nfs3.COMMIT.number)
    assert len(replies) == len(calls) >= len(wire.flushes) + 1
    answered = {calls[(m.stream, m.get("rpc.xid"))] + (m.num("nfs.status"),) for m in replies}
    assert (0, 0, S.NFS3_OK) in answered  # the plain COMMIT
    flushes = {(count, status) for offset, count, status in answered
               if offset == nfs3.FLUSH_OFFSET}
    assert {op.value for op in FlushOp} <= {count for count, _ in flushes}
    assert wire.flushes <= flushes  # what tshark read is what our client decoded
    assert {S.NFS3ERR_NOTEMPTY, S.NFS3ERR_IO, S.NFS3ERR_ISDIR} <= {s for _, s in flushes}
    for m in replies:  # every answer, OK or not, carries the file's post-op attributes
        assert m.fields["nfs.attributes_follow"][-1] == "1", m  # wcc_data: before, after
        assert m.get("nfs.mtime") and m.get("nfs.fattr3.size") is not None, m
