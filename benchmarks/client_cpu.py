"""Client CPU per flushed file, without start-up: the flush library in a process of its own.

`flush_throughput.py` measures the whole command (start-up included, ~0.04 ms of each file's
share at 10,000 files). Here each run is a fresh process that imports the library, then flushes
``--files`` dirty files with ``flush_paths_async`` against the emulator (its own process, as in
`flush_throughput.py`: 50 ms write-back, 64 at once, two mount addresses), twice, and reports
the CPU time of the flush alone (``time.process_time``), files/s and the socket ``send`` and
``recv`` calls per file (counted by wrapping ``socket.socket``; the wrapper's own cost is
counted too, equally on both trees).

``--compare TREE`` runs another checkout (``git archive OLD | tar -x -C TREE``) interleaved with
this one, so before/after come from the same minutes of a shared machine::

    python benchmarks/client_cpu.py --files 3000 --rounds 3 --compare /tmp/base

``--write-back-ms 2 --parallel 512`` is the fast cache of issue #22 (the client is the limit).
``--recursive`` also runs each setting with the 100 directories as input and ``--recursive``
(interleaved): every file's handle then comes from the directory's READDIRPLUS listing
instead of a LOOKUP of its own, the most that batching a directory's LOOKUPs into listings
could save (the ``-r`` rows). The emulator's CPU per file (its process, from /proc) is
printed too: on this 2-core machine the emulator shares the cores, so both sides' CPU is
what a fast-cache run's files/s depend on.
``--connections 1 2`` runs each tree with each number of TCP connections per address
(interleaved too); without it, each tree's own default.

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def child(tree: Path, files: int, mode: str, concurrency: int,
          connections: int | None, write_back_ms: float = 50.0, parallel: int = 64,
          recursive: bool = False) -> None:
    """One run in this process, of ``tree``'s library and emulator: prints JSON rows."""
    import asyncio

    sys.path[:1] = [str(tree / "benchmarks"), str(tree)]  # not this script's directory
    import flush_throughput as ft  # the tree's own (the emulator, files, addresses)

    import hpccache_cli
    from hpccache_cli.flush import DEFAULT_CONNECTIONS  # the tree's own default
    from hpccache_cli.flush.api import flush_paths_async

    assert Path(hpccache_cli.__file__).is_relative_to(tree), hpccache_cli.__file__

    calls = {"send": 0, "recv": 0}
    real_send, real_recv = socket.socket.send, socket.socket.recv

    def send(self: socket.socket, *args: Any) -> int:
        calls["send"] += 1
        return real_send(self, *args)

    def recv(self: socket.socket, *args: Any) -> bytes:
        calls["recv"] += 1
        return real_recv(self, *args)

    socket.socket.send, socket.socket.recv = send, recv  # type: ignore[method-assign]
    base = Path(tempfile.mkdtemp(prefix="hpccache-cpu-"))
    rels = [f"run{f % 100:03d}/part-{f:05d}.dat" for f in range(files)]
    # (an older tree's emulator takes no parallel: only pass it when asked for)
    emu = (ft.EmulatorProcess(base, write_back_ms) if parallel == 64
           else ft.EmulatorProcess(base, write_back_ms, parallel))
    ft.seed_backend(base, rels)
    # -r: the directories as input, every file found by listing them (no LOOKUP per file)
    paths = sorted({rel.split("/")[0] for rel in rels}) if recursive else rels
    extra = {"recursive": True} if recursive else {}
    emu_cpu = getattr(emu, "cpu_seconds", lambda: float("nan"))  # (an older tree's: none)
    rows = []
    try:
        for generation in (1, 2):
            ft.make_dirty(base, rels, generation)
            before = dict(calls)
            emu0, cpu0, t0 = emu_cpu(), time.process_time(), time.monotonic()
            summary = asyncio.run(flush_paths_async(
                paths, ips=ft.ADDRESSES, export=ft.JUNCTION, mount_port=emu.mount_port,
                nfs_port=emu.nfs_port, concurrency=concurrency, mode=mode, collect=False,
                connections=DEFAULT_CONNECTIONS if connections is None else connections,
                **extra))
            cpu, seconds = time.process_time() - cpu0, time.monotonic() - t0
            assert summary.counts.get("flushed", 0) == files, summary.counts
            rows.append({"cpu_ms": 1000 * cpu / files, "files_s": files / seconds,
                         "emu_ms": 1000 * (emu_cpu() - emu0) / files,
                         "send": (calls["send"] - before["send"]) / files,
                         "recv": (calls["recv"] - before["recv"]) / files})
    finally:
        emu.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(rows))


def run_tree(tree: Path, files: int, mode: str, concurrency: int,
             connections: int | None = None, write_back_ms: float = 50.0,
             parallel: int = 64, recursive: bool = False) -> list[dict[str, float]]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # byte code cached, as in an installed copy
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--tree", str(tree),
         "--files", str(files), "--concurrency", str(concurrency),
         "--write-back-ms", str(write_back_ms), "--parallel", str(parallel),
         *(["--connections", str(connections)] if connections else []),
         *(["--recursive"] if recursive else [])],
        capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"run in {tree} failed: {proc.stderr[-2000:]}")
    rows: list[dict[str, float]] = json.loads(proc.stdout.splitlines()[-1])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=["auto", "async", "sync"],
                        choices=["auto", "async", "sync"])
    parser.add_argument("--write-back-ms", type=float, default=50.0)
    parser.add_argument("--parallel", type=int, default=64,
                        help="write-backs the emulator runs at once (512: a fast cache)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--connections", type=int, nargs="+",
                        help="TCP connections per address (default: the tree's default); "
                             "several: each, interleaved")
    parser.add_argument("--recursive", action="store_true",
                        help="also run each setting on the directories with --recursive "
                             "(handles from READDIRPLUS listings, no LOOKUP per file), "
                             "interleaved")
    parser.add_argument("--compare", type=Path, metavar="TREE",
                        help="also run another checkout, interleaved (before/after)")
    parser.add_argument("--child", choices=["auto", "async", "sync"], help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.tree.resolve(), args.files, args.child, args.concurrency,
              args.connections[0] if args.connections else None, args.write_back_ms,
              args.parallel, args.recursive)
        return
    trees = [ROOT] + ([args.compare.resolve()] if args.compare else [])
    results: dict[tuple[str, Path, int | None, bool], list[dict[str, float]]] = {}
    for _ in range(args.rounds):
        for mode in args.modes:
            for tree in trees:
                for conns in args.connections or [None]:
                    for recursive in (False, True) if args.recursive else (False,):
                        rows = run_tree(tree, args.files, mode, args.concurrency, conns,
                                        args.write_back_ms, args.parallel, recursive)
                        results.setdefault((mode, tree, conns, recursive), []).extend(rows)
    print(f"{args.files:,} files, {args.write_back_ms:g} ms write-back, {args.parallel} at "
          f"once, -j {args.concurrency}, two addresses; "
          f"{args.rounds} rounds x 2 runs; median [min-max]")
    for (mode, tree, conns, recursive), rows in results.items():
        def spread(key: str, fmt: str, rows: list[dict[str, float]] = rows) -> str:
            values = sorted(r[key] for r in rows)
            return (f"{statistics.median(values):{fmt}} "
                    f"[{values[0]:{fmt}}-{values[-1]:{fmt}}]")
        links = f" x{conns}" if conns else ""
        listed = " -r" if recursive else ""
        print(f"{mode + listed:8} {tree.name + links:20} CPU ms/file {spread('cpu_ms', '.3f')}  "
              f"emulator {spread('emu_ms', '.3f')}  files/s "
              f"{spread('files_s', ',.0f')}  send/file {spread('send', '.2f')}  recv/file "
              f"{spread('recv', '.2f')}")


if __name__ == "__main__":
    main()
