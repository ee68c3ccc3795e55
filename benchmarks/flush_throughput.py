"""Files flushed per second: ``hpccache flush`` against flush_file.py's algorithm.

Setup (per write-back time): the emulator runs in a child process (so client and server do
not share a GIL) with ``--files`` dirty files in ``--dirs`` directories under one junction,
on two mount addresses, writing back ``64`` files at once, each taking ``--write-back-ms``
(so the emulator's limit is 64 / write-back time: 1,280 files/s at 50 ms). Before every run
all files are made dirty again (new bytes in the cache copy) and left alone for 1.1 s, as
files written by a job are before anyone flushes them.

Runs (all in this one process tree, one after the other):

* ``hpccache flush`` as a subprocess, paths on stdin, at each ``--concurrency`` (and once
  with ``--mode sync``); files/s is measured over the whole command, process start included.
* The baseline: flush_file.py's documented algorithm, written here from its description:
  4 threads, each with its own connection and one MOUNT; per file a LOOKUP of every path
  component from the root (no caching), an async-start COMMIT, then status COMMITs with a
  fixed 250 ms sleep while the write-back runs. It runs on ``--baseline-files`` files (it is
  slow: its rate, not its file count, is what compares).

Figures are printed, never asserted. Example::

    python benchmarks/flush_throughput.py                       # 10,000 files, 50 and 0 ms
    python benchmarks/flush_throughput.py --files 2000 --write-back-ms 50 --concurrency 128
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADDRESSES = ["127.0.0.211", "127.0.0.212"]
JUNCTION = "/bench"
PARALLEL = 64
RECHECK_SECONDS = 0.25  # flush_file.py
BASELINE_THREADS = 4  # flush_file.py's default


# --- the emulator, in a child process -------------------------------------------------------


def _serve(base: str, write_back_ms: float, conn: Any) -> None:
    import asyncio

    from hpccache_cli.emulator.config import config_from_dict
    from hpccache_cli.emulator.server import Emulator

    cfg = config_from_dict({
        "cache": {"name": "bench", "mount_addresses": ADDRESSES},
        "ports": {"portmap": 0, "mount": 0, "nfs": 0, "arm": -1},
        "writeback": {"per_file_seconds": write_back_ms / 1000.0, "parallel": PARALLEL},
        "storage_targets": [{"name": "nas", "backend_dir": "backend",
                             "write_back_delay_seconds": -1,
                             "junctions": [{"namespace_path": JUNCTION}]}],
    }, Path(base))

    async def main() -> None:
        emu = Emulator(cfg)
        await emu.start()
        loop = asyncio.get_running_loop()
        conn.send((emu.ports.mount, emu.ports.nfs))
        while True:
            cmd = await loop.run_in_executor(None, conn.recv)
            if cmd == "dirty":
                conn.send(emu.namespace.dirty_count())
            else:
                break
        await emu.stop()
        conn.send("stopped")

    asyncio.run(main())


class EmulatorProcess:
    def __init__(self, base: Path, write_back_ms: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(str(base), write_back_ms, child),
                                daemon=True)
        self.proc.start()
        self.mount_port, self.nfs_port = self.conn.recv()

    def cpu_seconds(self) -> float:
        """User + system CPU time the emulator has used so far (from /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def dirty(self) -> int:
        self.conn.send("dirty")
        return int(self.conn.recv())

    def stop(self) -> None:
        self.conn.send("stop")
        self.conn.recv()
        self.proc.join(10)


# --- files ------------------------------------------------------------------------------------


def seed_backend(base: Path, rels: list[str]) -> None:
    """Give every file an older copy on the back end, as when jobs rewrite results the NAS
    already holds. Without it the first run's write-backs create the back-end files, and a
    file creation on this VM's ext4 costs the emulator ~0.6 ms of CPU: the first run would
    measure the emulator's file system, not the flush."""
    backend = base / "backend"
    for rel in rels:
        path = backend / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"generation 0\n")


def make_dirty(base: Path, rels: list[str], generation: int) -> None:
    """Give every cache copy new bytes and wait 1.1 s (files are written before they are
    flushed). Each generation has a new size: the emulator tells dirty from clean by
    comparing the cache and back-end copies, and a size difference answers that from
    ``stat`` alone, so the figures measure the flush, not the emulator's byte comparisons."""
    cache = base / "cache" / JUNCTION.lstrip("/")
    for rel in rels:
        path = cache / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"generation {generation} of {rel}\n".encode() * (2 + generation))
    time.sleep(1.1)


# --- runs -------------------------------------------------------------------------------------


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_hpccache(emu: EmulatorProcess, rels: list[str], concurrency: int,
                 mode: str, addresses: int) -> tuple[float, dict[str, Any]]:
    cmd = [sys.executable, "-m", "hpccache_cli", "flush", "--export", JUNCTION,
           "--mount-port", str(emu.mount_port), "--nfs-port", str(emu.nfs_port),
           "--concurrency", str(concurrency), "--mode", mode, "-q", "-o", "json"]
    for addr in ADDRESSES[:addresses]:
        cmd += ["--ip", addr]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    data = "".join(r + "\n" for r in rels).encode()
    start = time.monotonic()
    proc = subprocess.run(cmd, input=data, capture_output=True, env=env, check=False)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"hpccache flush failed ({proc.returncode}): {proc.stderr.decode()}")
    return seconds, json.loads(proc.stdout)


def run_baseline(emu: EmulatorProcess, rels: list[str]) -> float:
    """flush_file.py's algorithm (see the module docstring), on our synchronous client."""
    from hpccache_cli.nfs import nfs3
    from hpccache_cli.nfs.client import ClientOptions, FlushOp, SyncNfsClient

    opts = ClientOptions(mount_port=emu.mount_port, nfs_port=emu.nfs_port)
    work: queue.Queue[str | None] = queue.Queue()
    errors: list[str] = []

    def worker() -> None:
        with SyncNfsClient(ADDRESSES[0], opts) as client:
            root = client.mount(JUNCTION.encode())  # once per thread, as flush_file.py
            while (path := work.get()) is not None:
                handle = root
                for part in ("/" + path).split("/")[1:]:  # every component, every file
                    handle = client.lookup(handle, part.encode()).object
                status = client.flush(handle, FlushOp.START)
                if status not in (nfs3.Nfsstat3.NFS3_OK, nfs3.Nfsstat3.NFS3ERR_NOT_SYNC):
                    errors.append(path)
                    continue
                while True:  # wait_for_flush_completion()
                    status = client.flush(handle, FlushOp.STATUS)
                    if status == nfs3.Nfsstat3.NFS3ERR_NOT_SYNC:
                        time.sleep(RECHECK_SECONDS)
                        continue
                    if status != nfs3.Nfsstat3.NFS3_OK:
                        errors.append(path)
                    break

    threads = [threading.Thread(target=worker) for _ in range(BASELINE_THREADS)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for rel in rels:
        work.put(rel)
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"baseline: {len(errors)} files failed, e.g. {errors[0]}")
    return time.monotonic() - start


# --- report -----------------------------------------------------------------------------------


def scenario(args: argparse.Namespace, write_back_ms: float) -> list[tuple[str, ...]]:
    base = Path(tempfile.mkdtemp(prefix="hpccache-bench-"))
    rels = [f"run{f % args.dirs:03d}/part-{f:05d}.dat" for f in range(args.files)]
    rows: list[tuple[str, ...]] = []
    limit = PARALLEL / (write_back_ms / 1000.0) if write_back_ms else None
    emu = EmulatorProcess(base, write_back_ms)
    seed_backend(base, rels)
    generation = 0
    try:
        sample = rels[: args.baseline_files]
        generation += 1
        make_dirty(base, sample, generation)
        b_cpu0, b_emu0 = time.process_time(), emu.cpu_seconds()
        b_seconds = run_baseline(emu, sample)
        b_cpu, b_emu = time.process_time() - b_cpu0, emu.cpu_seconds() - b_emu0
        assert emu.dirty() == 0, "baseline left dirty files"
        b_rate = len(sample) / b_seconds
        runs = [(c, "async") for c in args.concurrency] + [(c, "sync")
                                                         for c in args.sync_concurrency]
        for concurrency, mode in runs:
            best: tuple[float, dict[str, Any], float, float] | None = None
            for _ in range(args.repeat):  # best of N: the machine may be shared
                generation += 1
                make_dirty(base, rels, generation)
                cpu0, emu0 = children_cpu(), emu.cpu_seconds()
                seconds, summary = run_hpccache(emu, rels, concurrency, mode, args.addresses)
                cpu, emu_cpu = children_cpu() - cpu0, emu.cpu_seconds() - emu0
                assert summary["flushed"] == len(rels), summary
                assert emu.dirty() == 0, "hpccache flush left dirty files"
                if best is None or seconds < best[0]:
                    best = (seconds, summary, cpu, emu_cpu)
            assert best is not None
            seconds, summary, cpu, emu_cpu = best
            rate = len(rels) / seconds
            name = f"hpccache flush -j {concurrency}" + (" --mode sync" if mode == "sync" else "")
            rows.append((name, f"{len(rels):,}", f"{seconds:.2f}", f"{rate:,.0f}",
                         f"{summary['files_per_second']:,.0f}",
                         f"{100 * rate / limit:.0f} %" if limit else "-",
                         f"{rate / b_rate:.0f}x", f"{cpu:.1f}", f"{emu_cpu:.1f}"))
        rows.append(("flush_file.py algorithm (4 threads)", f"{len(sample):,}",
                     f"{b_seconds:.2f}", f"{b_rate:,.1f}", "-",
                     f"{100 * b_rate / limit:.1f} %" if limit else "-", "1x",
                     f"{b_cpu:.1f}", f"{b_emu:.1f}"))
    finally:
        emu.stop()
        shutil.rmtree(base, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--dirs", type=int, default=200)
    parser.add_argument("--write-back-ms", type=float, nargs="+", default=[50.0, 0.0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--sync-concurrency", type=int, nargs="*", default=[128])
    parser.add_argument("--baseline-files", type=int, default=1000)
    parser.add_argument("--addresses", type=int, choices=(1, 2), default=2,
                        help="mount addresses given to hpccache flush (--ip each)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per hpccache configuration; the fastest is shown")
    args = parser.parse_args()
    header = ("run", "files", "seconds", "files/s", "engine files/s", "of limit",
              "vs baseline", "client CPU s", "emulator CPU s")
    for ms in args.write_back_ms:
        limit = f"limit {PARALLEL / (ms / 1000):,.0f} files/s" if ms else "no write-back wait"
        print(f"\nwrite-back {ms:g} ms per file, {PARALLEL} at once ({limit}); {args.files:,} "
              f"dirty files in {args.dirs} directories; hpccache flush on {args.addresses} "
              f"mount address(es), best of {args.repeat}; {os.cpu_count()} CPUs")
        rows = [header, *scenario(args, ms)]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for k, row in enumerate(rows):
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(row, widths, strict=True))))
            if k == 0:
                print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
