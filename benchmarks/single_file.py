"""One file, whole process: what a Slurm epilogue or a pipeline step waits for.

Each command flushes one dirty file from the emulator (write-back 0 ms and 50 ms per file)
as its own process, round after round, interleaved with ``python -c pass`` and with the
yardstick (flush_file.py's algorithm, benchmarks/yardstick.py, its default 4 threads), so a
busy machine slows all alike. Every run flushes a different file; every command must exit 0.

* ``flush-file``: ``hpccache flush-file EXPORT IP``, the path on stdin;
* ``flush --ip``: ``hpccache flush --ip IP --export EXPORT PATH``;
* ``flush --cache``: ``hpccache flush --cache NAME -g RG /JUNCTION/PATH`` through the fake
  ARM, its resolution cache warm (one run before the rounds), so no ARM call is made;
* client path: ``hpccache flush /mnt/nas/PATH`` with a mount table (HPCCACHE_MOUNTINFO)
  naming the cache's junction mount: no Azure, the mount gives address and namespace.

The emulator and fake ARM run in this process (tests/flush_cache_support.world), on
loopback. Printed: median whole-process seconds, 10th-90th percentile, the median over
``python -c pass``, the ratio to the yardstick, the median CPU seconds of the process (user +
system: steadier than wall time on a busy machine) and the calls the emulator received per
run.

With ``--compare TREE`` (another checkout, e.g. ``git archive OLD | tar -x -C TREE``) the
``flush-file`` and ``flush --ip`` rows also run from that tree, interleaved: before/after on
one machine in one run.

Example::

    python benchmarks/single_file.py --rounds 15
    python benchmarks/single_file.py --rounds 15 --write-back-ms 50 --compare /tmp/old
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from flush_cache_support import A_JUNCTION, BY_NAME, World, mountinfo, world  # noqa: E402
from tables import print_table  # noqa: E402

JUNCTION = "/NAS_12_exp5"
GOAL = 0.20  # issue #14: one file, 50 ms write-back, whole flush-file / flush --ip command


def commands(w: World, nas: Path) -> list[tuple[str, list[str], bool]]:
    """(label, argv after the interpreter, path on stdin?); "{rel}" is the file's path."""
    ports = ["--mount-port", str(w.emu.ports.mount), "--nfs-port", str(w.emu.ports.nfs)]
    cli = ["-m", "hpccache_cli"]
    return [
        ("python -c pass", ["-c", "pass"], False),
        ("yardstick: flush_file.py algorithm", [str(ROOT / "benchmarks" / "yardstick.py"),
                                                JUNCTION, A_JUNCTION, *ports], True),
        ("hpccache flush-file EXPORT IP", [*cli, "flush-file", JUNCTION, A_JUNCTION], True),
        ("hpccache flush --ip", [*cli, "flush", "--ip", A_JUNCTION, "--export", JUNCTION,
                                 "-q", "{rel}"], False),
        ("hpccache flush --cache (warm)", [*cli, "flush", *BY_NAME, "-q",
                                           JUNCTION + "/{rel}"], False),
        ("hpccache flush CLIENT_PATH", [*cli, "flush", "-q", str(nas) + "/{rel}"], False),
    ]


def run_once(argv: list[str], stdin: bool, rel: str, env: dict[str, str],
             tree: Path | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system: steadier on a busy machine) of one whole
    process; ``tree``: run that checkout's code instead of this one's."""
    args = [a.replace("{rel}", rel) for a in argv]
    data = (rel + "\n").encode() if stdin else b""
    if tree is not None:  # (`-m` puts the working directory first on sys.path)
        env = dict(env, PYTHONPATH=str(tree))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], input=data, capture_output=True, env=env,
                          timeout=120, check=False, cwd=tree)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # (this child alone: waited for)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: exit {proc.returncode}\n{proc.stderr.decode()}")
    return seconds, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def scenario(write_back_ms: float, rounds: int,
             compare: Path | None = None) -> list[tuple[str, ...]]:
    base = Path(tempfile.mkdtemp(prefix="hpccache-one-file-"))
    table, _, nas = mountinfo(base)
    writeback = {"per_file_seconds": write_back_ms / 1000.0, "parallel": 64}
    with world(base, writeback=writeback) as w:
        env = w.env(HPCCACHE_MOUNTINFO=str(table))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: byte code cached
        cmds = [(label, argv, stdin, None) for label, argv, stdin in commands(w, nas)]
        if compare is not None:
            cmds += [(f"{label} [{compare.name}]", argv, stdin, compare)
                     for label, argv, stdin, _ in cmds[2:4]]  # flush-file, flush --ip
        files = iter(f"d{i // 100:02d}/f{i:04d}" for i in range(10_000))
        times: dict[str, list[float]] = {label: [] for label, _, _, _ in cmds}
        cpu: dict[str, list[float]] = {label: [] for label, _, _, _ in cmds}
        calls: dict[str, Counter[str]] = {label: Counter() for label, _, _, _ in cmds}
        flushed: list[str] = []
        for round_ in range(rounds + 1):  # round 0 warms byte code and the resolution cache
            for label, argv, stdin, tree in cmds:
                rel = next(files)
                w.dirty(f"{JUNCTION}/{rel}")
                before = Counter(w.emu.emulator.rpc_counts())
                seconds, cpu_seconds = run_once(argv, stdin, rel, env, tree)
                if label != "python -c pass":
                    flushed.append(f"{JUNCTION}/{rel}")
                if round_:
                    times[label].append(seconds)
                    cpu[label].append(cpu_seconds)
                    calls[label].update(Counter(w.emu.emulator.rpc_counts()) - before)
        w.assert_written_back(*flushed)  # every command really flushed its file
    base_median = statistics.median(times["python -c pass"])
    yard = statistics.median(times[cmds[1][0]])
    rows = []
    for label, _, _, _ in cmds:
        values = sorted(times[label])
        median = statistics.median(values)
        lo, hi = values[len(values) // 10], values[(len(values) * 9) // 10]
        rpcs = sum(n for k, n in calls[label].items() if not k.startswith("FLUSH."))
        rows.append((label, f"{median:.3f}", f"{lo:.3f}-{hi:.3f}",
                     f"{median - base_median:.3f}" if label != "python -c pass" else "-",
                     f"{median / yard:.2f}" if label != "python -c pass" else "-",
                     f"{statistics.median(cpu[label]):.3f}",
                     f"{rpcs / rounds:.1f}" if rpcs else "-"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--write-back-ms", type=float, nargs="+", default=[50.0, 0.0])
    parser.add_argument("--compare", type=Path, metavar="TREE",
                        help="also run flush-file and flush --ip from another checkout, "
                             "interleaved: before/after on one machine")
    args = parser.parse_args()
    header = ("command (one file)", "median s", "spread s", "over python -c pass",
              "x yardstick", "CPU s", "RPCs")
    for ms in args.write_back_ms:
        print(f"\nwrite-back {ms:g} ms; {args.rounds} interleaved rounds; {os.cpu_count()} CPUs"
              f"; goal at 50 ms: flush-file / flush --ip <= {GOAL:.2f} s whole process")
        print_table(header, scenario(ms, args.rounds, args.compare))


if __name__ == "__main__":
    main()
