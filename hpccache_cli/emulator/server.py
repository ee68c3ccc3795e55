"""The HPC Cache emulator's NFS side: portmapper + MOUNT + NFS on the cache's mount addresses.

CONTRACT (tests, the flush engine's tests, the demo and benchmarks use these; keep them):

- ``Emulator(config)``: ``await start()`` binds every mount address (ports from the config; 0 =
  a free port, the same number on every address), ``await stop()``. ``ports`` holds the real
  ``portmap``/``mount``/``nfs`` numbers after start. ``namespace`` implements
  ``emulator.target_ops.TargetOps`` and exposes ``is_dirty(namespace_path)``.
- ``faults`` is the live fault state (a ``Faults`` copy from the config): tests change it while
  the emulator runs. ``set_address_down(addr, down)`` closes/reopens an address's listeners and
  drops its open connections (a mount IP going away mid-run).
- ``EmulatorThread(config)``: context manager running an Emulator on a private event loop in a
  thread, for synchronous tests and the demo: ``with EmulatorThread(cfg) as emu: emu.ports``;
  ``emu.call(coro_fn, *args)`` runs a coroutine on the emulator's loop.

Details: ``set_address_down`` is a coroutine (reopening binds sockets); from a thread use
``EmulatorThread.set_address_down``. Of ``faults``, ``latency_ms``, ``jukebox_every``,
``drop_connection_every`` and ``failing_paths`` act on the next call; ``down_addresses`` is read
at start (afterwards use ``set_address_down``, which keeps the list up to date). Portmapper
port 0 means no portmapper. The handle table (``namespace.invalidate_handle(path)``,
``namespace.forget_handles()``) is shared by all addresses: any mount IP accepts any handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from hpccache_cli.emulator.config import EmulatorConfig, Faults, Ports
from hpccache_cli.emulator.handlers_nfs import NfsHandlers
from hpccache_cli.emulator.handlers_write import WriteHandlers
from hpccache_cli.emulator.namespace import Namespace
from hpccache_cli.emulator.rpcserver import Program, RpcServerConnection
from hpccache_cli.nfs import mount, nfs3, nfs3_write, portmap
from hpccache_cli.nfs.mount import Mountstat3

T = TypeVar("T")
_BIND_ATTEMPTS = 32


class EmulatorError(RuntimeError):
    """The emulator cannot start as configured (e.g. a port is taken)."""


class Emulator:
    """Portmapper, MOUNT and NFS on every mount address, over one namespace."""

    def __init__(self, config: EmulatorConfig, *, scan_interval: float | None = None) -> None:
        self.config = config
        self.faults = copy.deepcopy(config.faults)
        self.namespace = Namespace(config, self.faults)
        p = config.ports
        self.ports = Ports(portmap=p.portmap, mount=p.mount, nfs=p.nfs, arm=p.arm)
        self.addresses = list(config.cache.mount_addresses)
        # How often the automatic write-back looks for due files (None: from the delays).
        self.scan_interval = scan_interval
        self.write_verf = struct.pack(">Q", time.time_ns() & (2**64 - 1))
        self.nfs = NfsHandlers(self.namespace, self.faults, self.write_verf)
        self.nfs_write = WriteHandlers(self.nfs)  # CREATE, MKDIR, WRITE, SETATTR, REMOVE
        # One table for every NFS procedure, the one the server dispatches through: a test
        # (or a fault) that replaces a procedure in ``nfs.table`` changes what is served.
        self.nfs.table.update(self.nfs_write.table)
        self.nfs_calls = 0
        self._listeners: dict[str, list[asyncio.AbstractServer]] = {}
        self._conns: dict[str, set[RpcServerConnection]] = {a: set() for a in self.addresses}
        self._services = self._make_services()
        self._auto: asyncio.Task[None] | None = None

    # --- programs ---------------------------------------------------------------------------

    def _make_services(self) -> list[tuple[str, dict[int, Program]]]:
        """(ports attribute, programs on that port); MOUNT and NFS share a port if told to."""
        pm = Program(portmap.PROGRAM, portmap.VERSION, portmap.PROCEDURES, {
            0: lambda _: None, 1: lambda _: False, 2: lambda _: False,
            3: self._getport, 4: lambda _: self._mappings(),
        })
        mnt = Program(mount.PROGRAM, mount.VERSION, mount.PROCEDURES, {
            0: lambda _: None, 1: self._mnt, 2: lambda _: [], 3: lambda _: None,
            4: lambda _: None, 5: self._export,
        })
        nfs = Program(nfs3.PROGRAM, nfs3.VERSION, {**nfs3.PROCEDURES, **nfs3_write.PROCEDURES},
                      self.nfs.table,
                      drop=self._drop, latency=self._latency)
        services = [("portmap", {pm.number: pm})] if self.ports.portmap else []
        if self.ports.mount and self.ports.mount == self.ports.nfs:
            services.append(("mount", {mnt.number: mnt, nfs.number: nfs}))
        else:
            services += [("mount", {mnt.number: mnt}), ("nfs", {nfs.number: nfs})]
        return services

    def _mappings(self) -> list[portmap.Mapping]:
        tcp = portmap.IPPROTO_TCP
        maps = [portmap.Mapping(mount.PROGRAM, mount.VERSION, tcp, self.ports.mount),
                portmap.Mapping(nfs3.PROGRAM, nfs3.VERSION, tcp, self.ports.nfs)]
        if self.ports.portmap:
            maps.insert(0, portmap.Mapping(portmap.PROGRAM, portmap.VERSION, tcp,
                                           self.ports.portmap))
        return maps

    def _getport(self, m: portmap.Mapping) -> int:
        for known in self._mappings():
            if (known.prog, known.vers, known.prot) == (m.prog, m.vers, m.prot):
                return known.port
        return 0

    def _mnt(self, raw: bytes) -> tuple[int, Any]:
        """MNT of a junction, of a directory inside one, or of a synthetic parent (``/``)."""
        node = self.namespace.resolve(os.fsdecode(raw))
        if node is None:
            return Mountstat3.MNT3ERR_NOENT, None
        if not self.namespace.is_dir(self.namespace.stat(node)):
            return Mountstat3.MNT3ERR_NOTDIR, None
        return Mountstat3.MNT3_OK, mount.MountOk(node.handle, [1])  # AUTH_SYS

    def _export(self, _: None) -> list[mount.ExportNode]:
        return [mount.ExportNode(p.encode(), []) for p in self.namespace.junction_paths()]

    def _drop(self) -> bool:
        self.nfs_calls += 1
        every = self.faults.drop_connection_every
        return every > 0 and self.nfs_calls % every == 0

    def _latency(self) -> float:
        return self.faults.latency_ms / 1000.0

    # --- listening --------------------------------------------------------------------------

    async def _listen(self, addr: str, port: int, programs: dict[int, Program]
                      ) -> asyncio.AbstractServer:
        loop = asyncio.get_running_loop()
        conns = self._conns[addr]
        return await loop.create_server(lambda: RpcServerConnection(programs, conns), addr, port,
                                        reuse_address=True, backlog=1024)

    async def _bind_service(self, programs: dict[int, Program], port: int,
                            addrs: list[str]) -> int:
        """Listen on every address with one port number (a free one when ``port`` is 0)."""
        for attempt in range(_BIND_ATTEMPTS):
            chosen = port or _free_port(self.addresses[0])
            made: list[tuple[str, asyncio.AbstractServer]] = []
            try:
                for addr in addrs:
                    made.append((addr, await self._listen(addr, chosen, programs)))
            except OSError as exc:
                for _, server in made:
                    server.close()
                if port or attempt == _BIND_ATTEMPTS - 1:
                    raise EmulatorError(
                        f"cannot listen on {addr} port {chosen}: {exc.strerror or exc} "
                        "(is another server using it? change [ports] or use 0 for a free port)"
                    ) from None
                continue
            for addr, server in made:
                self._listeners.setdefault(addr, []).append(server)
            return chosen
        raise AssertionError("unreachable")

    async def start(self) -> None:
        for addr in self.faults.down_addresses:
            if addr not in self.addresses:
                raise EmulatorError(f"down address {addr} is not a mount address of the cache")
        self.namespace.ensure_dirs()
        up = [a for a in self.addresses if a not in self.faults.down_addresses]
        try:
            for name, programs in self._services:
                chosen = await self._bind_service(programs, getattr(self.ports, name), up)
                setattr(self.ports, name, chosen)
                if name == "mount" and nfs3.PROGRAM in programs:
                    self.ports.nfs = chosen
        except BaseException:
            await self._close_all()
            raise
        interval = self.scan_interval or self.namespace.scan_interval()
        if interval:
            self._auto = asyncio.get_running_loop().create_task(
                self.namespace.auto_write_back(interval))

    async def _close_address(self, addr: str) -> None:
        servers = self._listeners.pop(addr, [])
        for server in servers:
            server.close()
        for conn in list(self._conns.get(addr, ())):
            conn.abort()
        for server in servers:
            await server.wait_closed()

    async def _close_all(self) -> None:
        for addr in list(self._listeners):
            await self._close_address(addr)

    async def stop(self) -> None:
        if self._auto is not None:
            self._auto.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._auto
            self._auto = None
        await self._close_all()
        await self.namespace.writeback.close()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def set_address_down(self, addr: str, down: bool) -> None:
        """Take a mount address away (listeners closed, connections dropped) or bring it back."""
        if addr not in self.addresses:
            raise ValueError(f"{addr} is not a mount address of the cache ({self.addresses})")
        if down:
            if addr not in self.faults.down_addresses:
                self.faults.down_addresses.append(addr)
            await self._close_address(addr)
            return
        while addr in self.faults.down_addresses:
            self.faults.down_addresses.remove(addr)
        if addr in self._listeners:
            return
        try:
            for name, programs in self._services:
                server = await self._listen(addr, getattr(self.ports, name), programs)
                self._listeners.setdefault(addr, []).append(server)
        except OSError as exc:
            await self._close_address(addr)
            raise EmulatorError(f"cannot listen on {addr} again: {exc.strerror}") from None

    def rpc_counts(self) -> dict[str, int]:
        """Calls received so far, by program and procedure ("NFS.LOOKUP", "MOUNT.MNT", ...),
        with the flush COMMITs also by request ("FLUSH.START", "FLUSH.STATUS",
        "FLUSH.SYNC"): what a client costs the cache, counted where it arrives. Among the
        STATUS, "FLUSH.STATUS_OVERDUE" counts those answered "still running" after the
        write-back's scheduled end: misses the emulator's lateness caused, not the client."""
        names = {nfs3.PROGRAM: "NFS", mount.PROGRAM: "MOUNT", portmap.PROGRAM: "PORTMAP"}
        counts: dict[str, int] = {}
        for _, programs in self._services:
            for program in programs.values():
                for number, n in program.calls.items():
                    proc = program.procedures.get(number)
                    label = proc.name if proc is not None else str(number)
                    counts[f"{names.get(program.number, program.number)}.{label}"] = n
        ops = {nfs3.FLUSH_ASYNC_START: "START", nfs3.FLUSH_STATUS: "STATUS",
               nfs3.FLUSH_SYNC: "SYNC"}
        for op, n in self.nfs.flush_ops.items():
            counts[f"FLUSH.{ops.get(op, hex(op))}"] = n
        counts["FLUSH.STATUS_OVERDUE"] = self.nfs.overdue_status
        return counts

    def connection_count(self, addr: str | None = None) -> int:
        """Open client connections (on one address, or all): for tests and stats."""
        addrs = [addr] if addr else self.addresses
        return sum(len(self._conns.get(a, ())) for a in addrs)


def _free_port(addr: str) -> int:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((addr, 0))
        port: int = s.getsockname()[1]
        return port


class EmulatorThread:
    """An Emulator on a private event loop in a daemon thread (for synchronous code)."""

    def __init__(self, config: EmulatorConfig, **kwargs: Any) -> None:
        self.emulator = Emulator(config, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def config(self) -> EmulatorConfig:
        return self.emulator.config

    @property
    def ports(self) -> Ports:
        return self.emulator.ports

    @property
    def faults(self) -> Faults:
        return self.emulator.faults

    @property
    def namespace(self) -> Namespace:
        return self.emulator.namespace

    def __enter__(self) -> EmulatorThread:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.emulator.start())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="hpccache-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            self._thread.join()
            raise errors[0]
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None and self._thread is not None
        try:
            self.call(self.emulator.stop)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    def call(self, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any,
             timeout: float | None = 120.0) -> T:
        """Run ``fn(*args)`` on the emulator's loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(fn(*args), self._loop).result(timeout)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a plain function on the emulator's loop (thread-safe access to its state)."""

        async def wrapper() -> T:
            return fn(*args)

        return self.call(wrapper)

    def set_address_down(self, addr: str, down: bool) -> None:
        self.call(self.emulator.set_address_down, addr, down)
