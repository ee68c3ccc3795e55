"""Wireshark's dissectors judge the write path's bytes: MKDIR, CREATE (GUARDED, UNCHECKED,
an EXIST answer), WRITE (FILE_SYNC and UNSTABLE), COMMIT, SETATTR (client and server times,
a guard) and REMOVE, from the client API and ``hpccache copy`` in a subprocess, against the
emulator, captured on lo. Client and emulator share one codec, so only a third party can say
the layout of ``sattr3``'s unions or ``createhow3`` is RFC 1813's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_support import JUNCTION, RawRpc, free_port, make_config
from tshark_support import Capture, RpcMessage, dissect, rpc_messages

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs import nfs3, nfs3_write, portmap
from hpccache_cli.nfs.client import ClientOptions, SyncNfsClient
from hpccache_cli.nfs.errors import NfsError
from hpccache_cli.nfs.nfs3_write import CreateMode, Sattr3, StableHow, TimeHow

ADDR = "127.0.0.95"
ROOT = Path(__file__).resolve().parents[1]
NFS = nfs3.PROGRAM


def portmap_null(port: int) -> tuple[int, int]:
    with RawRpc(ADDR, port, timeout=10) as raw:
        raw.call(portmap.PROGRAM, portmap.VERSION, portmap.NULL.number)
        return raw.sock.getsockname()[1], port


def write_traffic(emu: EmulatorThread, base: Path) -> None:
    options = ClientOptions(portmap_port=emu.ports.portmap, timeout=10)
    with SyncNfsClient(ADDR, options) as c:
        root = c.mount(JUNCTION.encode())
        d = c.mkdir(root, b"wire", Sattr3(mode=0o755)).obj
        assert d is not None
        fh = c.create(d, b"f", Sattr3(mode=0o644), CreateMode.GUARDED).obj
        assert fh is not None
        with pytest.raises(NfsError):
            c.create(d, b"f", Sattr3(), CreateMode.GUARDED)  # an EXIST answer
        c.create(d, b"f", Sattr3(size=0), CreateMode.UNCHECKED)
        c.write(fh, 0, b"stable bytes", StableHow.FILE_SYNC)
        c.write_file(fh, os.urandom(300_000), wtmax=65536)  # UNSTABLE chunks + COMMIT
        attrs = c.getattr(fh)
        c.setattr(fh, Sattr3(mode=0o600, mtime=nfs3.NfsTime3(1_234_567_890, 5),
                             atime=TimeHow.SET_TO_SERVER_TIME), guard=attrs.ctime)
        c.remove(d, b"f")
    src = base / "src"
    src.mkdir()
    (src / "one").write_bytes(b"1" * 5000)
    env = dict(os.environ, PYTHONPATH=str(ROOT), HPCCACHE_PORTMAP_PORT=str(emu.ports.portmap))
    proc = subprocess.run(
        [sys.executable, "-m", "hpccache_cli", "copy", "--ip", ADDR, "--export", JUNCTION,
         str(src), "copied"], capture_output=True, env=env, timeout=60, check=False,
        stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def wire(tshark: str, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[str, Path, tuple[int, int, int], list[RpcMessage]]]:
    base = tmp_path_factory.mktemp("wire-write")
    config = make_config(base, [ADDR], ports={"portmap": free_port(ADDR)})
    with EmulatorThread(config) as emu:
        p = emu.ports
        ports = (p.portmap, p.mount, p.nfs)
        path = base / "wire.pcapng"
        bpf = f"host {ADDR} and tcp port ({' or '.join(map(str, ports))})"
        with Capture(tshark, path, bpf, lambda: portmap_null(p.portmap)):
            write_traffic(emu, base)
    yield tshark, path, ports, rpc_messages(tshark, path, ports)


def test_no_malformed_packet_and_no_expert_error(
        wire: tuple[str, Path, tuple[int, int, int], list[RpcMessage]]) -> None:
    tshark, path, ports, _ = wire
    bad = dissect(tshark, path, ports, '_ws.malformed || _ws.expert.severity >= "Error"',
                  ["frame.number", "_ws.col.Info", "_ws.expert.message"])
    assert bad == []


def test_every_write_procedure_was_dissected_with_its_reply(
        wire: tuple[str, Path, tuple[int, int, int], list[RpcMessage]]) -> None:
    messages = wire[3]
    calls = {m.num("rpc.procedure") for m in messages if m.is_call
             and m.num("rpc.program") == NFS}
    replies = [m for m in messages if not m.is_call and m.num("rpc.program") == NFS]
    procs = {p.number for p in nfs3_write.PROCEDURES.values()} | {nfs3.COMMIT.number}
    assert procs <= calls
    assert procs <= {m.num("rpc.procedure") for m in replies}
    creates = [m for m in replies if m.num("rpc.procedure") == nfs3_write.CREATE.number]
    assert {m.num("nfs.status") for m in creates} == {nfs3.Nfsstat3.NFS3_OK,
                                                      nfs3.Nfsstat3.NFS3ERR_EXIST}
    names = {n for m in messages if m.is_call for n in m.fields.get("nfs.name", [])}
    assert {"wire", "f", "copied", "src", "one"} <= names
