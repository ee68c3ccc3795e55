"""Wireshark's dissectors judge our bytes: client calls and emulator replies, captured on lo.

One capture (module fixture) holds real traffic between our NFSv3/MOUNT/portmap client (the
API and ``hpccache flush`` in a subprocess) and the emulator: portmapper GETPORT, MOUNT
MNT/EXPORT/UMNT, NFS NULL/GETATTR/LOOKUP (incl. an NOENT answer)/READDIRPLUS/FSINFO, a plain
COMMIT and the three HPC Cache flush COMMITs with OK and error answers. tshark then reads it
with the emulator's ports decoded as RPC; the tests ask it what it saw.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from emulator_support import JUNCTION, RawRpc, free_port, make_config, put
from peers import wait_until
from tshark_support import AGGREGATOR, Capture, dissect

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs import mount, nfs3, portmap
from hpccache_cli.nfs.client import ClientOptions, FlushOp, SyncNfsClient
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

    def rows(self, display_filter: str, *fields: str) -> list[list[list[str]]]:
        """Per matching packet, each field's occurrences (several RPCs may share a frame)."""
        return [[cell.split(AGGREGATOR) if cell else [] for cell in row]
                for row in dissect(self.tshark, self.path, self.ports, display_filter, fields)]

    def messages(self, display_filter: str, *fields: str) -> list[tuple[str, ...]]:
        """One tuple per RPC message: ``fields`` must occur once per message in each frame."""
        out: list[tuple[str, ...]] = []
        for row in self.rows(display_filter, "frame.number", "rpc.xid", *fields):
            frame, xids, *cells = row
            assert all(len(c) == len(xids) for c in cells), (frame, fields, row)
            out += [tuple(t) for t in zip(xids, *cells, strict=True)]
        return out


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
        wait_until(lambda: flush(async_fh, FlushOp.STATUS) == S.NFS3_OK, timeout=10)
        emu.faults.failing_paths.append(f"{JUNCTION}/stuck.txt")
        assert flush(stuck_fh, FlushOp.SYNC) == S.NFS3ERR_IO
        assert flush(stuck_fh, FlushOp.STATUS) == S.NFS3ERR_NOTEMPTY
        assert flush(listed, FlushOp.SYNC) == S.NFS3ERR_ISDIR
        client.umount(JUNCTION.encode())


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
            cli_traffic(emu)
    yield captured


def test_no_malformed_packet_and_no_expert_error(wire: Wire) -> None:
    bad = wire.rows('_ws.malformed || _ws.expert.severity >= "Error"',
                    "frame.number", "_ws.col.Info", "_ws.expert.message")
    assert bad == []
    assert len(wire.rows("rpc", "frame.number")) > 50  # not vacuous: the RPCs were dissected


def test_every_call_has_its_accepted_reply(wire: Wire) -> None:
    calls = wire.messages("rpc.msgtyp == 0", "tcp.stream")
    replies = wire.messages("rpc.msgtyp == 1", "tcp.stream", "rpc.replystat",
                            "rpc.state_accept")
    assert {(xid, stream) for xid, stream in calls} == {
        (xid, stream) for xid, stream, _, _ in replies}
    assert len(calls) == len(replies) > 30
    assert {(r[2], r[3]) for r in replies} == {("0", "0")}  # MSG_ACCEPTED, SUCCESS
    # tshark's own matching (two passes): each call links to a reply frame and back. The
    # link is rpc.reqframe in a call and rpc.repframe in a reply in tshark 4.0 (the reverse
    # of their titles), so both names are read.
    frames = {}
    for kind in ("0", "1"):
        rows = wire.rows(f"rpc.msgtyp == {kind}", "frame.number", "rpc.xid",
                         "rpc.reqframe", "rpc.repframe")
        frames[kind] = {frame[0]: req + rep for frame, xids, req, rep in rows
                        if len(req + rep) == len(xids)}
        assert len(frames[kind]) == len(rows), f"messages without their partner: {rows}"
    for kind, other in (("0", "1"), ("1", "0")):
        assert {f for links in frames[kind].values() for f in links} <= set(frames[other])


def test_the_dissected_procedures(wire: Wire) -> None:
    calls = {(int(prog), int(proc)) for _, prog, proc in
             wire.messages("rpc.msgtyp == 0", "rpc.program", "rpc.procedure")}
    expected = {(portmap.PROGRAM, portmap.GETPORT.number)}
    expected |= {(mount.PROGRAM, p.number) for p in (mount.MNT, mount.EXPORT, mount.UMNT)}
    expected |= {(NFS, p.number) for p in (nfs3.NULL, nfs3.GETATTR, nfs3.LOOKUP,
                                           nfs3.READDIRPLUS, nfs3.FSINFO, nfs3.COMMIT)}
    assert expected <= calls
    getport = wire.messages("rpc.msgtyp == 1 && portmap.procedure_v2 == 3", "portmap.port")
    assert {int(port) for _, port in getport} == {wire.ports[1], wire.ports[2]}
    lookups = wire.messages("rpc.msgtyp == 1 && nfs.procedure_v3 == 3", "nfs.status")
    assert {int(status) for _, status in lookups} == {S.NFS3_OK, S.NFS3ERR_NOENT}
    listed = wire.rows("nfs.procedure_v3 == 17 && rpc.msgtyp == 1",
                       "nfs.readdirplus.entry.name")
    assert set(LISTED) <= {name for row in listed for name in row[0]}


def test_commits_offsets_counts_statuses_and_post_op_attributes(wire: Wire) -> None:
    calls = {(xid, stream): (int(offset), int(count)) for xid, stream, offset, count in
             wire.messages("rpc.msgtyp == 0 && nfs.procedure_v3 == 21",
                           "tcp.stream", "nfs.offset3", "nfs.count3")}
    # Every reply carries the file's post-op attributes: one mtime and size per reply.
    replies = wire.messages("rpc.msgtyp == 1 && nfs.procedure_v3 == 21", "tcp.stream",
                            "nfs.status", "nfs.mtime", "nfs.fattr3.size")
    answered = {calls[(xid, stream)] + (int(status),) for xid, stream, status, _, _ in replies}
    assert (0, 0, S.NFS3_OK) in answered  # the plain COMMIT
    flushes = {(count, status) for offset, count, status in answered
               if offset == nfs3.FLUSH_OFFSET}
    assert {op.value for op in FlushOp} <= {count for count, _ in flushes}
    assert wire.flushes <= flushes  # what tshark read is what our client decoded
    assert {S.NFS3ERR_NOTEMPTY, S.NFS3ERR_IO, S.NFS3ERR_ISDIR} <= {s for _, s in flushes}
    assert len(replies) == len(calls) >= len(wire.flushes) + 1
