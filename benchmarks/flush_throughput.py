"""Files flushed per second: ``hpccache flush`` against flush_file.py's algorithm.

Setup (per write-back time): the emulator runs in a child process (so client and server do
not share a GIL) with ``--files`` dirty files in ``--dirs`` directories under one junction,
on two mount addresses, writing back ``--parallel`` (64) files at once, each taking
``--write-back-ms`` (so the emulator's limit is 64 / write-back time: 1,280 files/s at 50 ms;
``--write-back-ms 2 --parallel 512`` is issue #22's fast cache, where the client is the
limit). Before every run all files are made dirty again (new bytes in the cache copy) and
left alone for 1.1 s, as files written by a job are before anyone flushes them.

Runs (all in this one process tree, one after the other):

* ``hpccache flush`` as a subprocess, paths on stdin, at each ``--concurrency`` in each of
  ``--modes`` (auto, the default, and async), and at ``--sync-concurrency`` with ``--mode
  sync``; files/s is measured over the whole command, process start included.
* The yardstick: flush_file.py's documented algorithm (benchmarks/yardstick.py) as a whole
  process, swept over ``--yardstick-threads`` (4, its default, to 256), async and ``--sync``,
  on ``--baseline-files`` files (its rate, not its file count, is what compares). Users who
  flush many files raise ``--threads``, so hpccache is compared with the best setting as
  well as with the default. ``--peer DIR`` runs the public flush_file.py itself instead
  (microsoft/hpc-cache-nfsv3-client's ``download/`` directory, unchanged; its portmapper
  client is pointed at the emulator's port, loopback only).
* ``--repeat N`` rounds, each running every setting (the yardstick's too) in turn, so a busy
  moment of a shared machine slows all alike, and each round starting ``hpccache flush`` at
  the next setting; the best round of each is shown.
* ``--pin`` (``on`` or ``both``): the emulator on CPU 0, every client on CPU 1
  (benchmarks/pinning.py); ``both`` runs each setting pinned and unpinned in the same rounds.
* RPCs per file by procedure, counted by the emulator as it receives them.
* Client CPU per file: user + system time of the command's process, per file flushed.

Figures are printed, never asserted. Example::

    python benchmarks/flush_throughput.py                       # 10,000 files, 50 and 0 ms
    python benchmarks/flush_throughput.py --files 2000 --write-back-ms 50 --concurrency 128 \\
        --yardstick-threads 4 128
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pinning  # noqa: E402
from tables import print_table  # noqa: E402

ADDRESSES = ["127.0.0.211", "127.0.0.212"]
JUNCTION = "/bench"
PARALLEL = 64


# --- the emulator, in a child process -------------------------------------------------------


def free_port(address: str) -> int:
    """A TCP port free on ``address`` now (for the portmapper the public peer asks)."""
    import socket

    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def _serve(base: str, write_back_ms: float, parallel: int, conn: Any) -> None:
    import asyncio

    from hpccache_cli.emulator.config import config_from_dict
    from hpccache_cli.emulator.server import Emulator

    cfg = config_from_dict({
        "cache": {"name": "bench", "mount_addresses": ADDRESSES},
        "ports": {"portmap": free_port(ADDRESSES[0]), "mount": 0, "nfs": 0, "arm": -1},
        "writeback": {"per_file_seconds": write_back_ms / 1000.0, "parallel": parallel},
        "storage_targets": [{"name": "nas", "backend_dir": "backend",
                             "write_back_delay_seconds": -1,
                             "junctions": [{"namespace_path": JUNCTION}]}],
    }, Path(base))

    async def main() -> None:
        emu = Emulator(cfg)
        await emu.start()
        loop = asyncio.get_running_loop()
        conn.send((emu.ports.mount, emu.ports.nfs, emu.ports.portmap))
        while True:
            cmd = await loop.run_in_executor(None, conn.recv)
            if cmd == "dirty":
                conn.send(emu.namespace.dirty_count())
            elif cmd == "counts":
                conn.send(emu.rpc_counts())
            else:
                break
        await emu.stop()
        conn.send("stopped")

    asyncio.run(main())


class EmulatorProcess:
    def __init__(self, base: Path, write_back_ms: float, parallel: int = PARALLEL) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(str(base), write_back_ms, parallel, child),
                                daemon=True)
        self.proc.start()
        self.mount_port, self.nfs_port, self.portmap_port = self.conn.recv()

    @property
    def pid(self) -> int:
        assert self.proc.pid is not None  # started in __init__
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the emulator has used so far (from /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def dirty(self) -> int:
        self.conn.send("dirty")
        return int(self.conn.recv())

    def rpc_counts(self) -> Counter[str]:
        """Calls the emulator has received so far, by procedure (Emulator.rpc_counts)."""
        self.conn.send("counts")
        return Counter(self.conn.recv())

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


def bench_env() -> dict[str, str]:
    """The commands' environment: this tree on the path, and byte code cached as in an
    installed copy (pip writes it; with PYTHONDONTWRITEBYTECODE set every run would compile
    every module again, which no installed command does, and count it as client CPU)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_hpccache(emu: EmulatorProcess, rels: list[str], concurrency: int,
                 mode: str, addresses: int, pinned: bool = False) -> tuple[float, dict[str, Any]]:
    cmd = [sys.executable, "-m", "hpccache_cli", "flush", "--export", JUNCTION,
           "--mount-port", str(emu.mount_port), "--nfs-port", str(emu.nfs_port),
           "--concurrency", str(concurrency), "--mode", mode, "-q", "-o", "json"]
    for addr in ADDRESSES[:addresses]:
        cmd += ["--ip", addr]
    env = bench_env()
    data = "".join(r + "\n" for r in rels).encode()
    start = time.monotonic()
    proc = subprocess.run(cmd, input=data, capture_output=True, env=env, check=False,
                          preexec_fn=pinning.client_preexec(pinned))
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"hpccache flush failed ({proc.returncode}): {proc.stderr.decode()}")
    return seconds, json.loads(proc.stdout)


def run_yardstick(emu: EmulatorProcess, rels: list[str], threads: int,
                  sync: bool, pinned: bool = False) -> float:
    """flush_file.py's algorithm (benchmarks/yardstick.py) as a whole process."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "yardstick.py"), JUNCTION, ADDRESSES[0],
           "--threads", str(threads), "--mount-port", str(emu.mount_port),
           "--nfs-port", str(emu.nfs_port)] + (["--sync"] if sync else [])
    env = bench_env()
    data = "".join(r + "\n" for r in rels).encode()
    start = time.monotonic()
    proc = subprocess.run(cmd, input=data, capture_output=True, env=env, check=False,
                          preexec_fn=pinning.client_preexec(pinned))
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"yardstick failed ({proc.returncode}): {proc.stderr.decode()}")
    return seconds


#: Runs the public flush_file.py (microsoft/hpc-cache-nfsv3-client, ``download/``) unchanged,
#: with its portmapper client pointed at the emulator's portmapper port instead of 111.
PEER_RUNNER = """
import runpy, sys
from hpccache.nfs3py import rpc_rfc1057
rpc_rfc1057.TCPPortMapperClient._PORT = int(sys.argv.pop(1))
script = sys.argv[0] = sys.argv.pop(1)
runpy.run_path(script, run_name="__main__")
"""


def run_peer(emu: EmulatorProcess, rels: list[str], peer: Path, threads: int,
             sync: bool, pinned: bool = False) -> float:
    """The public flush_file.py as a whole process, as its README runs it (paths on stdin)."""
    cmd = [sys.executable, "-c", PEER_RUNNER, str(emu.portmap_port),
           str(peer / "examples" / "flush_file.py"), JUNCTION, ADDRESSES[0],
           "--threads", str(threads)] + (["--sync"] if sync else [])
    env = dict(bench_env(), PYTHONPATH=str(peer / "lib"))
    data = "".join("/" + r + "\n" for r in rels).encode()  # it takes paths from the export
    start = time.monotonic()
    proc = subprocess.run(cmd, input=data, capture_output=True, env=env, check=False,
                          preexec_fn=pinning.client_preexec(pinned))
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"flush_file.py failed ({proc.returncode}): {proc.stderr[-2000:]!r}")
    return seconds


# --- report -----------------------------------------------------------------------------------


PROCS = ("NFS.LOOKUP", "FLUSH.START", "FLUSH.STATUS", "FLUSH.SYNC", "MOUNT.MNT")


def per_file(counts: Counter[str], files: int) -> tuple[str, ...]:
    """RPCs per file by procedure (flush COMMITs by request) and in all."""
    total = sum(n for k, n in counts.items() if not k.startswith("FLUSH."))
    return (*(f"{counts.get(k, 0) / files:.3f}" for k in PROCS), f"{total / files:.2f}")


def scenario(args: argparse.Namespace, write_back_ms: float) -> dict[str, list[tuple[str, ...]]]:
    """Three tables: throughput, RPCs per file, and the yardstick's thread sweep; with
    ``--pin both`` a row per pinning setting, each compared with its own setting's yardstick."""
    base = Path(tempfile.mkdtemp(prefix="hpccache-bench-"))
    rels = [f"run{f % args.dirs:03d}/part-{f:05d}.dat" for f in range(args.files)]
    rows: list[tuple[str, ...]] = []
    rpc_rows: list[tuple[str, ...]] = []
    sweep_rows: list[tuple[str, ...]] = []
    limit = args.parallel / (write_back_ms / 1000.0) if write_back_ms else None
    pins = pinning.settings(args.pin)
    emu = EmulatorProcess(base, write_back_ms, args.parallel)
    seed_backend(base, rels)
    generation = 0
    try:
        sample = rels[: args.baseline_files]
        yard: dict[tuple[bool, int, bool], tuple[float, float, Counter[str]]] = {}
        runs = [(c, m) for c in args.concurrency for m in args.modes] + [
            (c, "sync") for c in args.sync_concurrency]
        Best = tuple[float, dict[str, Any], float, float, Counter[str]]
        bests: dict[tuple[bool, int, str], Best] = {}
        # Each round runs every setting, the yardstick's too (a busy moment slows each
        # alike); the best of the rounds is shown. With --pin both, each round runs all of
        # it pinned and unpinned, which goes first alternating from round to round.
        for rnd in range(args.repeat):
            for pinned in pins[rnd % len(pins):] + pins[:rnd % len(pins)]:
                if args.pin != "off":
                    pinning.pin_process(emu.pid, pinned)
                for threads in args.yardstick_threads:
                    for sync in (False, True):
                        generation += 1
                        make_dirty(base, sample, generation)
                        cpu0, calls0 = children_cpu(), emu.rpc_counts()
                        seconds = (run_peer(emu, sample, args.peer, threads, sync, pinned)
                                   if args.peer
                                   else run_yardstick(emu, sample, threads, sync, pinned))
                        cpu, calls = children_cpu() - cpu0, emu.rpc_counts() - calls0
                        assert emu.dirty() == 0, "yardstick left dirty files"
                        key = (pinned, threads, sync)
                        if key not in yard or len(sample) / seconds > yard[key][0]:
                            yard[key] = (len(sample) / seconds, cpu, calls)
                # Each round starts at a different setting: the first run after the
                # yardstick's (128 connections closing at the emulator) was seen slower.
                for concurrency, mode in runs[rnd % len(runs):] + runs[:rnd % len(runs)]:
                    best = bests.get((pinned, concurrency, mode))
                    generation += 1
                    make_dirty(base, rels, generation)
                    cpu0, emu0, calls0 = children_cpu(), emu.cpu_seconds(), emu.rpc_counts()
                    seconds, summary = run_hpccache(emu, rels, concurrency, mode,
                                                    args.addresses, pinned)
                    cpu, emu_cpu = children_cpu() - cpu0, emu.cpu_seconds() - emu0
                    calls = emu.rpc_counts() - calls0
                    assert summary["flushed"] == len(rels), summary
                    assert emu.dirty() == 0, "hpccache flush left dirty files"
                    if best is None or seconds < best[0]:
                        bests[pinned, concurrency, mode] = (seconds, summary, cpu, emu_cpu,
                                                            calls)
        for pinned in pins:
            cores = "emu 0, client 1" if pinned else "shared"
            default = yard.get((pinned, 4, False))
            best_key = max((k for k in yard if k[0] == pinned), key=lambda k: yard[k][0])
            best_rate = yard[best_key][0]
            for concurrency, mode in runs:
                seconds, summary, cpu, emu_cpu, calls = bests[pinned, concurrency, mode]
                rate = len(rels) / seconds
                name = f"hpccache flush -j {concurrency}" + (
                    f" --mode {mode}" if mode != "auto" else " (auto, the default)")
                rows.append((name, cores, f"{len(rels):,}", f"{seconds:.2f}", f"{rate:,.0f}",
                             f"{summary['files_per_second']:,.0f}",
                             f"{100 * rate / limit:.0f} %" if limit else "-",
                             f"{rate / best_rate:.2f}x",
                             f"{rate / default[0]:.0f}x" if default else "-",
                             f"{1000 * cpu / len(rels):.2f}", f"{emu_cpu:.1f}"))
                rpc_rows.append((name, cores, *per_file(calls, len(rels))))
            for (pin, threads, sync), (rate, cpu, calls) in yard.items():
                if pin != pinned:
                    continue
                name = ("flush_file.py" if args.peer else "yardstick") + (
                    f" --threads {threads}" + (" --sync" if sync else ""))
                marks = " (default)" if (threads, sync) == (4, False) else ""
                marks += " (best)" if (pin, threads, sync) == best_key else ""
                sweep_rows.append((name + marks, cores, f"{len(sample):,}", f"{rate:,.1f}",
                                   f"{100 * rate / limit:.1f} %" if limit else "-",
                                   f"{1000 * cpu / len(sample):.2f}"))
                rpc_rows.append((name, cores, *per_file(calls, len(sample))))
    finally:
        emu.stop()
        shutil.rmtree(base, ignore_errors=True)
    return {"throughput": rows, "rpcs": rpc_rows, "sweep": sweep_rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--dirs", type=int, default=200)
    parser.add_argument("--write-back-ms", type=float, nargs="+", default=[50.0, 0.0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--modes", nargs="+", default=["auto", "async"],
                        choices=["auto", "async", "sync"],
                        help="--mode settings run at each --concurrency")
    parser.add_argument("--parallel", type=int, default=PARALLEL,
                        help="write-backs the emulator runs at once (its limit: this / time)")
    parser.add_argument("--sync-concurrency", type=int, nargs="*", default=[128])
    parser.add_argument("--baseline-files", type=int, default=1000,
                        help="files per yardstick run (its rate is what compares)")
    parser.add_argument("--yardstick-threads", type=int, nargs="+", default=[4, 64, 128, 256],
                        help="flush_file.py --threads settings swept, each async and --sync")
    parser.add_argument("--addresses", type=int, choices=(1, 2), default=2,
                        help="mount addresses given to hpccache flush (--ip each)")
    parser.add_argument("--peer", type=Path, metavar="DIR",
                        help="run the public flush_file.py instead of benchmarks/yardstick.py: "
                             "DIR is the download/ directory of microsoft/hpc-cache-nfsv3-client "
                             "(e.g. git archive HEAD download | tar -x -C /tmp/peer)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per hpccache configuration; the fastest is shown")
    pinning.add_argument(parser)
    args = parser.parse_args()
    for ms in args.write_back_ms:
        limit = f"limit {args.parallel / (ms / 1000):,.0f} files/s" if ms else "no write-back wait"
        print(f"\nwrite-back {ms:g} ms per file, {args.parallel} at once ({limit}); {args.files:,} "
              f"dirty files in {args.dirs} directories; hpccache flush on {args.addresses} "
              f"mount address(es), best of {args.repeat}; {os.cpu_count()} CPUs; "
              f"load average {os.getloadavg()[0]:.1f}")
        print("CPUs column: " + "; ".join(pinning.label(p) for p in pinning.settings(args.pin)))
        tables = scenario(args, ms)
        print(f"(load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
        print_table(("run", "CPUs", "files", "seconds", "files/s", "engine files/s", "of limit",
                     "vs yardstick best", "vs yardstick default", "client CPU ms/file",
                     "emulator CPU s"), tables["throughput"])
        print("\nflush_file.py, whole process (" + ("the public script, run unchanged"
              if args.peer else "its algorithm: benchmarks/yardstick.py") + "):")
        print_table(("run", "CPUs", "files", "files/s", "of limit", "client CPU ms/file"),
                    tables["sweep"])
        print("\nRPCs per file received by the emulator (flush COMMITs by request):")
        print_table(("run", "CPUs", "LOOKUP", "START", "STATUS", "SYNC", "MNT", "all RPCs"),
                    tables["rpcs"])


if __name__ == "__main__":
    main()
