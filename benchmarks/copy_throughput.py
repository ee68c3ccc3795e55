"""``hpccache copy`` against the copies a user would run instead, on the emulator.

The peers (issue #21): ``nfs-cp`` from libnfs-utils (a user-space NFS copy, one process per
file) driven by ``xargs -P``, and a plain single-stream copy (the same nfs-cp, one file after
the other: ``xargs -P 1``). Two workloads:

- many small files (``--small``, 1 KiB each in 100 directories): files per second;
- a few large files (``--large`` of ``--large-mb`` MiB): MB/s, against the emulator's write
  bandwidth, taken as the fastest any writer reached in the same run: the contenders, and a
  lean in-process writer (1 MiB WRITEs of one buffer, no file reads, 16 in flight over both
  mount addresses, then COMMIT). No client is faster than the server takes data, so the
  fastest observed is a lower bound of what the emulator can take.

Runs are interleaved (each round runs every contender once, in turn) so that the load of a
shared machine spreads over all of them; the table shows each contender's median round.
``hpccache copy`` runs with ``--no-flush`` beside the peers (they do not write back) and with
``--flush`` (each file written back before it is reported; the emulator's write-back costs no
time here). Peak RSS of each hpccache run is its ``ru_maxrss``. Printed, never asserted::

    python benchmarks/copy_throughput.py                       # 10,000 small, 4 x 128 MiB
    python benchmarks/copy_throughput.py --small 2000 --large 2 --large-mb 64 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flush_throughput import ADDRESSES, JUNCTION, EmulatorProcess, bench_env  # noqa: E402
from tables import print_table  # noqa: E402


def make_small(src: Path, files: int) -> None:
    for i in range(files):
        d = src / f"d{i % 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.dat").write_bytes(os.urandom(1024))


def make_large(src: Path, count: int, mib: int) -> None:
    src.mkdir(parents=True, exist_ok=True)
    block = os.urandom(1 << 20)
    for i in range(count):
        with open(src / f"big{i}.bin", "wb") as f:
            for _ in range(mib):
                f.write(block)


def hpccache_copy(emu: EmulatorProcess, src: Path, dest: str, flush: bool
                  ) -> tuple[float, float]:
    """Seconds and peak RSS (MiB, the child's own ``ru_maxrss``) of one ``hpccache copy``."""
    ips = [x for addr in ADDRESSES for x in ("--ip", addr)]
    cmd = [sys.executable, "-m", "hpccache_cli", "copy", *ips, "--export", JUNCTION,
           "--mount-port", str(emu.mount_port), "--nfs-port", str(emu.nfs_port),
           "-q", "-o", "json", "--flush" if flush else "--no-flush", f"{src}/", dest]
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=bench_env())
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    data = json.loads(out) if out else {}
    if proc.returncode != 0 or data.get("failed"):
        raise SystemExit(f"hpccache copy failed ({proc.returncode}): {out.decode()[-500:]}")
    return seconds, usage.ru_maxrss / 1024


def nfs_cp(emu: EmulatorProcess, base: Path, src: Path, dest: str, parallel: int) -> float:
    """Seconds of ``xargs -P parallel -n 2 nfs-cp SRC URL`` over every file of ``src`` (the
    destination directories made first on the back end: nfs-cp makes none)."""
    pairs: list[str] = []
    for i, path in enumerate(sorted(p for p in src.rglob("*") if p.is_file())):
        rel = path.relative_to(src).as_posix()
        (base / "backend" / dest / rel).parent.mkdir(parents=True, exist_ok=True)
        host = ADDRESSES[i % len(ADDRESSES)]
        pairs += [str(path), f"nfs://{host}{JUNCTION}/{dest}/{rel}?version=3"
                             f"&nfsport={emu.nfs_port}&mountport={emu.mount_port}"]
    start = time.monotonic()
    proc = subprocess.run(["xargs", "-0", "-P", str(parallel), "-n", "2", "nfs-cp"],
                          input="\0".join(pairs).encode(), capture_output=True, check=False)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"nfs-cp failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return seconds


def lean_writer(emu: EmulatorProcess, total_mib: int) -> float:
    """Seconds for the emulator to take ``total_mib`` MiB of 1 MiB WRITEs, 16 in flight over
    both addresses, one buffer (no file reads): its write bandwidth, as near as a client gets."""
    from hpccache_cli.nfs.client import ClientOptions, NfsClient
    from hpccache_cli.nfs.nfs3_write import StableHow

    async def run() -> float:
        opts = ClientOptions(mount_port=emu.mount_port, nfs_port=emu.nfs_port, connections=2)
        clients = [NfsClient(a, opts) for a in ADDRESSES]
        for c in clients:
            await c.connect()
        root = await clients[0].mount(JUNCTION.encode())
        fh = (await clients[0].create(root, b"lean-writer.bin")).obj
        assert fh is not None
        block = os.urandom(1 << 20)
        queue = list(range(total_mib))
        start = time.monotonic()

        async def worker(k: int) -> None:
            c = clients[k % len(clients)]
            while queue:
                i = queue.pop()
                await c.write(fh, i << 20, block, StableHow.UNSTABLE)

        await asyncio.gather(*(worker(k) for k in range(16)))
        await clients[0].commit(fh)
        seconds = time.monotonic() - start
        await clients[0].remove(root, b"lean-writer.bin")
        for c in clients:
            await c.close()
        return seconds

    return asyncio.run(run())


def rounds(n: int, contenders: dict[str, Callable[[int], float]]) -> dict[str, float]:
    """Median seconds of each contender over ``n`` interleaved rounds."""
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for r in range(n):
        for name, fn in contenders.items():
            times[name].append(fn(r))
            print(f"  round {r + 1}: {name}: {times[name][-1]:.2f} s", file=sys.stderr)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=4)
    parser.add_argument("--large-mb", type=int, default=128)
    parser.add_argument("--parallel", type=int, default=16, help="xargs -P for nfs-cp")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("nfs-cp") is None:
        raise SystemExit("nfs-cp not found: apt-get install libnfs-utils")
    base = Path(tempfile.mkdtemp(prefix="hpccache-copy-bench-"))
    small, large = base / "src-small", base / "src-large"
    make_small(small, args.small)
    make_large(large, args.large, args.large_mb)
    emu = EmulatorProcess(base / "emu", 0.0)
    rss: dict[str, float] = {}
    try:
        def ours(src: Path, label: str, flush: bool) -> Callable[[int], float]:
            def run(r: int) -> float:
                seconds, peak = hpccache_copy(emu, src, f"{label}{r}", flush)
                rss[label] = max(rss.get(label, 0.0), peak)
                return seconds
            return run

        print(f"small: {args.small:,} files of 1 KiB", file=sys.stderr)
        small_t = rounds(args.rounds, {
            "hpccache copy --no-flush": ours(small, "s-noflush", False),
            "hpccache copy (--flush)": ours(small, "s-flush", True),
            f"xargs -P {args.parallel} nfs-cp": lambda r: nfs_cp(
                emu, base / "emu", small, f"s-nfscp{r}", args.parallel),
            "single stream (xargs -P 1 nfs-cp)": lambda r: nfs_cp(
                emu, base / "emu", small, f"s-single{r}", 1),
        })
        total_mib = args.large * args.large_mb
        print(f"large: {args.large} files of {args.large_mb} MiB", file=sys.stderr)
        large_t = rounds(args.rounds, {
            "lean writer (in-process, 16 WRITEs in flight)": lambda r: lean_writer(emu, total_mib),
            "hpccache copy --no-flush": ours(large, "l-noflush", False),
            "hpccache copy (--flush)": ours(large, "l-flush", True),
            f"xargs -P {args.parallel} nfs-cp": lambda r: nfs_cp(
                emu, base / "emu", large, f"l-nfscp{r}", args.parallel),
            "single stream (nfs-cp, one file at a time)": lambda r: nfs_cp(
                emu, base / "emu", large, f"l-single{r}", 1),
        })
    finally:
        emu.stop()
        shutil.rmtree(base, ignore_errors=True)
    peer = small_t[f"xargs -P {args.parallel} nfs-cp"]
    print(f"\n{args.small:,} small files (1 KiB), median of {args.rounds} interleaved rounds\n")
    print_table(("copy", "seconds", "files/s", "vs parallel nfs-cp"), [
        (k, f"{v:.2f}", f"{args.small / v:,.0f}", f"{peer / v:.1f}x")
        for k, v in small_t.items()])
    top = min(large_t.values())  # the fastest writer: the emulator took at least that
    print(f"\n{args.large} large files ({args.large_mb} MiB each), median of {args.rounds} "
          "interleaved rounds\n")
    print_table(("copy", "seconds", "MB/s", "of the fastest"), [
        (k, f"{v:.2f}", f"{total_mib * 1.048576 / v:,.0f}", f"{top / v:.0%}")
        for k, v in large_t.items()])
    print("\npeak RSS of hpccache copy (MiB, ru_maxrss, the largest of its rounds): "
          + ", ".join(f"{k} {v:.0f}" for k, v in rss.items()))
    print(f"\n(the emulator, the copies and nfs-cp share this machine's {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
