"""Helpers for the emulator tests: configs, a running emulator and a raw RPC client.

``RawRpc`` is a minimal blocking ONC RPC client built on the codec alone: it sends exactly the
bytes asked for (wrong versions, garbage arguments, pipelined calls) and hands back the decoded
reply, without the retries and policies of the real client, so the tests see the emulator's
answers as they are on the wire.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hpccache_cli.emulator.config import EmulatorConfig, config_from_dict
from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.nfs import mount, nfs3, rpc
from hpccache_cli.nfs.nfs3 import Procedure

JUNCTION = "/NAS_12_exp5"


def make_config(base: Path, addresses: list[str], *, writeback: dict[str, Any] | None = None,
                faults: dict[str, Any] | None = None, ports: dict[str, Any] | None = None,
                delay: float = -1) -> EmulatorConfig:
    """A cache with three targets, every port picked free (portmap off unless given):

    - ``nas1`` (nfs3, WRITE_WORKLOAD_15): junction ``/NAS_12_exp5`` -> backend/nas1
    - ``blob1`` (clfs): junction ``/blob/data`` -> backend/blob1/sub
    - ``ro1`` (nfs3, READ_ONLY: never dirty): junction ``/ro`` -> backend/ro1
    ``delay`` is nas1's and blob1's write_back_delay_seconds (-1: no automatic write-back).
    """
    return config_from_dict({
        "cache": {"name": "emu-test", "mount_addresses": addresses},
        "ports": {"portmap": 0, "mount": 0, "nfs": 0, **(ports or {})},
        "writeback": writeback or {"per_file_seconds": 0.0},
        "faults": faults or {},
        "storage_targets": [
            {"name": "nas1", "backend_dir": "backend/nas1", "write_back_delay_seconds": delay,
             "junctions": [{"namespace_path": JUNCTION, "nfs_export": "/export5"}]},
            {"name": "blob1", "type": "clfs", "usage_model": None,
             "backend_dir": "backend/blob1", "write_back_delay_seconds": delay,
             "junctions": [{"namespace_path": "/blob/data", "target_path": "/sub"}]},
            {"name": "ro1", "usage_model": "READ_ONLY", "backend_dir": "backend/ro1",
             "junctions": [{"namespace_path": "/ro"}]},
        ],
    }, base)


def put(path: Path, data: bytes | str) -> Path:
    """Write a file, creating its directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


@contextmanager
def running(config: EmulatorConfig, **kwargs: Any) -> Iterator[EmulatorThread]:
    with EmulatorThread(config, **kwargs) as emu:
        yield emu


def free_port(addr: str) -> int:
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


_xids = itertools.count(0x1000)


class RawRpc:
    """One TCP connection; ``call`` sends a call and returns the matching ``rpc.Reply``."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.decoder = rpc.RecordDecoder()
        self._pending: dict[int, rpc.Reply] = {}
        self._records: list[bytes] = []
        self.cred = rpc.AuthSys(0, b"emulator-test", os.getuid(), os.getgid()).to_opaque()

    def __enter__(self) -> RawRpc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send_call(self, prog: int, vers: int, proc: int, args: bytes = b"",
                  cred: rpc.OpaqueAuth | None = None) -> int:
        """Send one call without waiting; returns its xid (for pipelining)."""
        xid = next(_xids)
        msg = rpc.encode_call(xid, prog, vers, proc, args, cred or self.cred)
        self.sock.sendall(rpc.frame(msg))
        return xid

    def send_raw(self, message: bytes) -> None:
        self.sock.sendall(rpc.frame(message))

    def recv_record(self) -> bytes:
        """The next whole record; raises ConnectionError when the server closed."""
        while not self._records:
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("server closed the connection")
            self._records.extend(self.decoder.feed(data))
        return self._records.pop(0)

    def wait(self, xid: int) -> rpc.Reply:
        while xid not in self._pending:
            reply = rpc.decode_reply(self.recv_record())
            self._pending[reply.xid] = reply
        return self._pending.pop(xid)

    def call(self, prog: int, vers: int, proc: int, args: bytes = b"",
             cred: rpc.OpaqueAuth | None = None) -> rpc.Reply:
        return self.wait(self.send_call(prog, vers, proc, args, cred))

    def proc(self, prog: int, vers: int, procedure: Procedure, args: Any = None) -> Any:
        """Call a declared procedure and decode its results (raises on RPC-level errors)."""
        reply = self.call(prog, vers, procedure.number, procedure.args.encode(args))
        return procedure.res.decode(reply.check(procedure.name))

    def nfs(self, procedure: Procedure, args: Any = None) -> Any:
        return self.proc(nfs3.PROGRAM, nfs3.VERSION, procedure, args)

    def mount(self, procedure: Procedure, args: Any = None) -> Any:
        return self.proc(mount.PROGRAM, mount.VERSION, procedure, args)

    def flush(self, fh: bytes, op: int) -> int:
        """An HPC Cache flush COMMIT; the raw nfsstat3."""
        status, _ = self.nfs(nfs3.COMMIT, nfs3.CommitArgs(fh, nfs3.FLUSH_OFFSET, op))
        return int(status)

    def mnt(self, path: str) -> bytes:
        """MNT through this connection (to the MOUNT port); the root handle."""
        return mount.ok_body(self.mount(mount.MNT, path.encode()), f"MNT {path}").fhandle

    def getattr(self, fh: bytes) -> tuple[int, Any]:
        return self.nfs(nfs3.GETATTR, fh)

    def lookup_path(self, root: bytes, path: str) -> bytes:
        fh = root
        for part in path.strip("/").split("/"):
            if part:
                fh = nfs3.ok_body(self.nfs(nfs3.LOOKUP, nfs3.LookupArgs(fh, part.encode())),
                                  f"LOOKUP {part}").object
        return fh


def mnt(emu: EmulatorThread, addr: str, path: str = JUNCTION) -> bytes:
    """The root handle of ``path`` through a fresh MOUNT connection to ``addr``."""
    with RawRpc(addr, emu.ports.mount) as m:
        return m.mnt(path)


def handle_of(emu: EmulatorThread, nfs: RawRpc, addr: str, ns_path: str) -> bytes:
    """MNT the junction of ``ns_path`` and LOOKUP down to it."""
    junction = next(j for j in emu.namespace.junction_paths()
                    if ns_path == j or ns_path.startswith(j + "/"))
    return nfs.lookup_path(mnt(emu, addr, junction), ns_path[len(junction):])
