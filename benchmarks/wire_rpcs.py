"""RPC calls per file on the wire: ``hpccache flush`` captured on lo by tshark (issue #22).

Setup as in flush_throughput.py (emulator in a child process, 50 ms write-backs, 64 at once,
two mount addresses, every file dirty with an older copy on the back end), ``--files`` files in
``--dirs`` directories. Each ``--modes`` setting runs as a whole ``hpccache flush`` command
while ``tshark -i lo`` captures the emulator's ports; the calls are then counted from the
capture as Wireshark's RPC dissector reads them (every call of every connection: MNT, LOOKUP,
COMMIT, and anything else the command sends), next to what the emulator counted, whose
``overdue`` STATUS are the polls its own lateness caused (the emulator shares the two cores
with the client and with whatever else runs on the machine). Rounds interleave the settings.

Needs tshark and root (capturing on lo). Printed, never asserted::

    python benchmarks/wire_rpcs.py --files 1000 --dirs 100 --rounds 2
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from flush_throughput import (
    ADDRESSES,
    EmulatorProcess,
    make_dirty,
    run_hpccache,
    seed_backend,
)
from tables import print_table

NAMES = {("100005", "1"): "MNT", ("100003", "3"): "LOOKUP", ("100003", "21"): "COMMIT",
         ("100003", "0"): "NULL", ("100003", "1"): "GETATTR"}


def capture(tshark: str, path: Path, ports: tuple[int, int]) -> subprocess.Popen[str]:
    """tshark writing the emulator's traffic to ``path``, returned once it captures."""
    bpf = f"tcp port {ports[0]} or tcp port {ports[1]}"
    proc = subprocess.Popen([tshark, "-i", "lo", "-f", bpf, "-w", str(path), "-q"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    for line in proc.stderr:  # "Capturing on 'Loopback: lo'" comes before any packet is lost
        if "Capturing on" in line or time.monotonic() > deadline:
            break
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    time.sleep(1.0)  # packets in flight reach the capture file (a benchmark, not a test)
    proc.send_signal(signal.SIGINT)
    proc.wait(30)


def count_calls(tshark: str, path: Path, ports: tuple[int, int]) -> Counter[str]:
    cmd = [tshark, "-r", str(path), "-o", "rpc.desegment_rpc_over_tcp:TRUE",
           "-o", "tcp.desegment_tcp_streams:TRUE"]
    for port in ports:
        cmd += ["-d", f"tcp.port=={port},rpc"]
    cmd += ["-Y", "rpc.msgtyp == 0", "-T", "fields", "-E", "occurrence=a",
            "-E", "aggregator=|", "-e", "rpc.msgtyp", "-e", "rpc.program", "-e", "rpc.procedure"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600).stdout
    calls: Counter[str] = Counter()
    for line in out.splitlines():
        kinds, programs, procs = (f.split("|") for f in line.split("\t"))
        # a frame may carry calls and replies: the replies have no program field
        calls_in = [k for k in kinds if k == "0"]
        for program, proc in zip(programs[: len(calls_in)], procs[: len(calls_in)],
                                 strict=True):
            calls[NAMES.get((program, proc), f"{program}.{proc}")] += 1
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--dirs", type=int, default=100)
    parser.add_argument("--write-back-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--modes", nargs="+", default=["auto", "async", "sync"],
                        choices=["auto", "async", "sync"])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    tshark = shutil.which("tshark")
    if tshark is None:
        raise SystemExit("tshark is missing (apt-get install -y tshark)")
    base = Path(tempfile.mkdtemp(prefix="hpccache-wire-"))
    rels = [f"run{f % args.dirs:03d}/part-{f:05d}.dat" for f in range(args.files)]
    emu = EmulatorProcess(base, args.write_back_ms)
    ports = (emu.mount_port, emu.nfs_port)
    seed_backend(base, rels)
    rows: list[tuple[str, ...]] = []
    generation = 0
    try:
        for rnd in range(args.rounds):
            for mode in args.modes:
                generation += 1
                make_dirty(base, rels, generation)
                path = base / f"wire-{rnd}-{mode}.pcapng"
                before = emu.rpc_counts()
                proc = capture(tshark, path, ports)
                _, summary = run_hpccache(emu, rels, args.concurrency, mode, len(ADDRESSES))
                stop(proc)
                counted = emu.rpc_counts() - before
                assert summary["flushed"] == len(rels), summary
                wire = count_calls(tshark, path, ports)
                n = len(rels)
                total = sum(wire.values())
                emu_total = sum(v for k, v in counted.items() if not k.startswith("FLUSH."))
                rows.append((f"round {rnd + 1}: --mode {mode}", f"{wire['LOOKUP'] / n:.3f}",
                             f"{wire['COMMIT'] / n:.3f}", f"{wire['MNT']}",
                             f"{total - wire['LOOKUP'] - wire['COMMIT'] - wire['MNT']}",
                             f"{total / n:.2f}", f"{emu_total / n:.2f}",
                             f"{counted.get('FLUSH.SYNC', 0) / n:.2f}",
                             f"{counted.get('FLUSH.STATUS_OVERDUE', 0) / n:.3f}"))
    finally:
        emu.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(f"\n{args.files:,} dirty files in {args.dirs} directories, {args.write_back_ms:g} ms "
          f"write-back, 64 at once, -j {args.concurrency}, 2 mount addresses; the emulator "
          "shares the 2 cores with the client (and other work on this machine)")
    print_table(("run", "LOOKUP/file", "COMMIT/file", "MNT", "other calls", "wire calls/file",
                 "emulator-counted/file", "SYNC/file", "overdue STATUS/file"), rows)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
