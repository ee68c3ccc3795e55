"""Client RPCs per second: NULL and GETATTR, sequential and with 16/256 calls in flight.

Why: a flush of millions of files is bounded by how many small RPCs the client can keep in
flight, so this measures the transport (xid matching, framing, pipelining) and the codec, not
the disk. Figures are printed, never asserted (speed depends on the machine).

By default the server is our emulator, started in a separate process so that client and
server do not share one GIL (``--in-process`` runs it in a thread instead). ``--host/--port``
measures against any NFSv3 server, e.g. the nfs-ganesha peer::

    python benchmarks/rpc_throughput.py                      # the emulator
    python benchmarks/rpc_throughput.py --host 127.0.0.1 --port 2049 --mount-port 20048 \\
        --export /tmp/hpccache-nfspeer/export                # nfs-ganesha (scripts/nfs-peer.sh)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hpccache_cli.nfs.client import ClientOptions, NfsClient  # noqa: E402

if TYPE_CHECKING:
    from hpccache_cli.emulator.config import EmulatorConfig

JUNCTION = "/bench"


def _emulator_config(base: Path) -> EmulatorConfig:
    """One junction over an empty back end: NULL and GETATTR of its root need nothing more."""
    from hpccache_cli.emulator.config import config_from_dict

    (base / "backend").mkdir(parents=True, exist_ok=True)
    return config_from_dict(
        {
            "cache": {"mount_addresses": ["127.0.0.1"], "cache_dir": "cache"},
            "ports": {"portmap": 0, "mount": 0, "nfs": 0, "arm": -1},
            "storage_targets": [
                {"name": "bench", "backend_dir": "backend",
                 "junctions": [{"namespace_path": JUNCTION}]}
            ],
        },
        base,
    )


def _serve_emulator(base: str, ports: Any, stop: Any) -> None:
    """Child process: run the emulator until ``stop`` is set, after reporting its ports."""
    from hpccache_cli.emulator.server import EmulatorThread

    with EmulatorThread(_emulator_config(Path(base))) as emu:
        ports.put((emu.ports.mount, emu.ports.nfs))
        stop.wait()


@contextlib.contextmanager
def emulator(in_process: bool) -> Iterator[tuple[int, int]]:
    """(mount port, nfs port) of an emulator running for the duration of the block."""
    with tempfile.TemporaryDirectory(prefix="hpccache-bench-") as base:
        if in_process:
            from hpccache_cli.emulator.server import EmulatorThread

            with EmulatorThread(_emulator_config(Path(base))) as emu:
                yield emu.ports.mount, emu.ports.nfs
            return
        ctx = multiprocessing.get_context("spawn")
        ports, stop = ctx.Queue(), ctx.Event()
        proc = ctx.Process(target=_serve_emulator, args=(base, ports, stop), daemon=True)
        proc.start()
        try:
            yield ports.get(timeout=60)
        finally:
            stop.set()
            proc.join(30)


async def measure(call: Callable[[], Awaitable[object]], inflight: int, total: int) -> float:
    """Calls per second for ``total`` calls with ``inflight`` of them outstanding at a time."""
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    for _ in range(min(total, inflight * 4)):  # warm up: connections, caches, allocator
        await call()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    return total / (time.perf_counter() - start)


async def bench(args: argparse.Namespace, mount_port: int, nfs_port: int) -> list[list[str]]:
    opts = ClientOptions(
        mount_port=mount_port, nfs_port=nfs_port, connections=args.connections, timeout=120
    )
    rows = []
    async with NfsClient(args.host, opts) as client:
        root = await client.mount(args.export.encode())
        ops: dict[str, Callable[[], Awaitable[object]]] = {
            "NULL": client.null,
            "GETATTR": lambda: client.getattr(root),
        }
        for name, call in ops.items():
            row = [name]
            for inflight in args.inflight:
                total = args.calls if inflight > 1 else max(1, args.calls // 4)
                row.append(f"{await measure(call, inflight, total):,.0f}")
            rows.append(row)
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned first column, right-aligned figures."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in pairs)

    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, rows)])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1", help="server address (loopback only)")
    ap.add_argument("--port", type=int, help="NFS port of an existing server (default: emulator)")
    ap.add_argument("--mount-port", type=int, help="MOUNT port of that server (default: --port)")
    ap.add_argument("--export", help="path to MOUNT (default: the emulator's junction)")
    ap.add_argument("--calls", type=int, default=20000, help="calls per pipelined measurement")
    ap.add_argument("--connections", type=int, default=1, help="NFS connections to spread over")
    ap.add_argument("--inflight", type=int, nargs="+", default=[1, 16, 256])
    ap.add_argument("--in-process", action="store_true", help="run the emulator in a thread")
    args = ap.parse_args(argv)
    if not args.host.startswith("127.") and args.host != "::1":
        ap.error("loopback addresses only (127.0.0.0/8 or ::1)")

    if args.port is not None:
        target = f"NFS server {args.host}:{args.port}"
        args.export = args.export or "/"
        rows = asyncio.run(bench(args, args.mount_port or args.port, args.port))
    else:
        where = "in-process thread" if args.in_process else "separate process"
        target = f"emulator ({where})"
        args.export = args.export or JUNCTION
        with emulator(args.in_process) as (mount_port, nfs_port):
            rows = asyncio.run(bench(args, mount_port, nfs_port))
    print(f"RPC throughput against {target}, {args.connections} connection(s), calls/s:")
    header = ["procedure", *(("sequential" if n == 1 else f"{n} in flight") for n in args.inflight)]
    print(table(header, rows))


if __name__ == "__main__":
    main()
