"""The fault cliff: files/s under dropped connections, with -j backing off (AIMD) or fixed.

The emulator (in this process, on its own thread) adds ``--latency-ms`` to every NFS reply
and closes the connection on every Nth NFS call; the flush engine flushes ``--files`` dirty
files at ``--concurrency`` once with the adaptive limit (the default) and once with it pinned
at -j (``Policies(backoff_floor=-j)``). Each run is bounded by ``--limit`` seconds; a run cut
off there reports how many files it finished. Figures are printed, never asserted::

    python benchmarks/fault_cliff.py                      # drops every 0/20/10/5 calls
    python benchmarks/fault_cliff.py --files 1000 --latency-ms 50 --drop-every 5 --limit 120
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

ADDRESS = "127.0.0.213"


def one_run(files: int, concurrency: int, drop_every: int, latency_ms: float, adaptive: bool,
            limit: float) -> tuple[int, float, int]:
    """(files flushed, seconds, lowest limit reached) for one configuration."""
    from emulator_support import JUNCTION, make_config, put

    from hpccache_cli.emulator.server import EmulatorThread
    from hpccache_cli.flush.api import make_options
    from hpccache_cli.flush.engine import FlushEngine
    from hpccache_cli.flush.inputs import IterableSource
    from hpccache_cli.flush.options import Policies
    from hpccache_cli.flush.resolve import ExportResolver

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        names = [f"d/f{i}".encode() for i in range(files)]
        for name in names:
            put(base / "cache" / JUNCTION.lstrip("/") / name.decode(), "dirty\n")
        faults = {"drop_connection_every": drop_every, "latency_ms": latency_ms}
        with EmulatorThread(make_config(base, [ADDRESS], faults=faults)) as emu:
            policies = Policies() if adaptive else replace(Policies(), backoff_floor=concurrency)
            options = make_options(concurrency=concurrency, policies=policies,
                                   mount_port=emu.ports.mount, nfs_port=emu.ports.nfs)
            engine = FlushEngine(ExportResolver([ADDRESS], JUNCTION), options)

            async def run() -> None:
                task = asyncio.ensure_future(engine.run(IterableSource(names)))
                done, _ = await asyncio.wait({task}, timeout=limit)
                if not done:
                    engine.request_stop()
                    engine.request_stop()
                    await task

            started = time.monotonic()
            asyncio.run(run())
            seconds = time.monotonic() - started
        return engine.summary.counts.get("flushed", 0), seconds, engine.throttle.lowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--drop-every", type=int, action="append")
    parser.add_argument("--limit", type=float, default=60.0)
    args = parser.parse_args()
    drops = args.drop_every or [0, 20, 10, 5]
    print(f"{args.files} files, -j {args.concurrency}, {args.latency_ms:g} ms latency, "
          f"each run cut off after {args.limit:g} s")
    print(f"{'drop every':>10}  {'mode':>8}  {'flushed':>8}  {'seconds':>8}  {'files/s':>8}  "
          f"{'lowest -j':>9}")
    for every in drops:
        for adaptive in (True, False):
            flushed, seconds, lowest = one_run(args.files, args.concurrency, every,
                                               args.latency_ms, adaptive, args.limit)
            mode = "adaptive" if adaptive else "fixed"
            print(f"{every or 'never':>10}  {mode:>8}  {flushed:>8}  {seconds:>8.1f}  "
                  f"{flushed / seconds:>8.1f}  {lowest:>9}", flush=True)


if __name__ == "__main__":
    main()
