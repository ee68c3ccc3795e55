"""Start-up cost of ``hpccache`` commands, over a bare ``python -c pass``.

Most real calls flush a few files (a Slurm or PBS epilogue, one pipeline step), so the
process start is most of their time. Each command below runs as its own process, interleaved
with ``python -c pass`` round after round (so a busy machine slows both alike); the table
shows the median whole-process time, its spread (10th-90th percentile), the median *over*
``python -c pass`` (what the command adds), the goal for that figure (issue #14), the same
for CPU time (user + system: steadier on a busy machine, as it leaves out waiting for a
core), and the process's peak RSS. Nothing talks to a network: ``flush-file`` gets empty
input, ``path`` reads a mountinfo file from tests/fixtures.

Figures are printed, never asserted. Example::

    python benchmarks/startup.py               # 30 rounds
    python benchmarks/startup.py --rounds 60 --importtime   # plus the largest imports
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tables import print_table

ROOT = Path(__file__).resolve().parents[1]
MOUNTINFO = ROOT / "tests" / "fixtures" / "mountinfo" / "docs_junction.mountinfo"

#: (label, argv after the interpreter, goal over `python -c pass` in seconds or None)
COMMANDS: list[tuple[str, list[str], float | None]] = [
    ("python -c pass", ["-c", "pass"], None),
    ("hpccache --version", ["-m", "hpccache_cli", "--version"], 0.03),
    ("hpccache --help", ["-m", "hpccache_cli", "--help"], 0.10),
    ("hpccache flush-file EXPORT IP (empty input)",
     ["-m", "hpccache_cli", "flush-file", "/NAS_12_exp5", "127.0.0.1"], 0.08),
    ("hpccache path P --mountinfo F",
     ["-m", "hpccache_cli", "path", "/mnt/cache/NAS_12_exp5/a/b.txt", "--mountinfo",
      str(MOUNTINFO), "-o", "json"], 0.08),
]


def child_env(tree: Path = ROOT) -> dict[str, str]:
    """As an installed copy runs: byte code cached (pip writes it; a PYTHONDONTWRITEBYTECODE
    left in the environment would add compiling every module to every run)."""
    env = dict(os.environ, PYTHONPATH=str(tree), COLUMNS="100")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_once(argv: list[str], tree: Path = ROOT) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (KiB) of one whole process,
    stdin empty, output discarded. CPU time is the steadier figure on a busy machine: it
    leaves out the time spent waiting for a core."""
    env = child_env(tree)
    start = time.perf_counter()
    # cwd: `-m` puts the working directory first on sys.path, before PYTHONPATH.
    proc = subprocess.Popen([sys.executable, *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            cwd=tree)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0,):
        raise SystemExit(f"{' '.join(argv)}: exit {proc.returncode}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def largest_imports(argv: list[str], top: int) -> list[tuple[int, str]]:
    """The top-level imports of one run by cumulative microseconds (``-X importtime``)."""
    env = child_env()
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=env, check=False)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if not name.startswith("  "):  # top level only
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--importtime", action="store_true",
                        help="also print each command's largest top-level imports")
    parser.add_argument("--compare", type=Path, metavar="TREE",
                        help="also run each command from another checkout (e.g. `git archive "
                             "OLD | tar -x -C TREE`), interleaved: before/after on one machine")
    args = parser.parse_args()
    commands = [(label, argv, goal, ROOT) for label, argv, goal in COMMANDS]
    if args.compare:
        commands += [(f"{label} [{args.compare.name}]", argv, goal, args.compare)
                     for label, argv, goal in COMMANDS[1:]]
    times: dict[str, list[float]] = {label: [] for label, _, _, _ in commands}
    cpu: dict[str, list[float]] = {label: [] for label, _, _, _ in commands}
    rss: dict[str, int] = dict.fromkeys(times, 0)
    for _label, argv, _, tree in commands:  # warm the file cache and .pyc files
        run_once(argv, tree)
    for _ in range(args.rounds):
        for label, argv, _, tree in commands:
            seconds, cpu_seconds, peak = run_once(argv, tree)
            times[label].append(seconds)
            cpu[label].append(cpu_seconds)
            rss[label] = max(rss[label], peak)
    base = statistics.median(times["python -c pass"])
    base_cpu = statistics.median(cpu["python -c pass"])
    print(f"{args.rounds} interleaved rounds, {os.cpu_count()} CPUs, Python "
          f"{sys.version.split()[0]}; median whole process, spread = 10th-90th percentile")
    header = ("command", "median s", "spread s", "over python -c pass", "goal", "CPU s",
              "CPU over python -c pass", "peak RSS MiB")
    rows = [header]
    for label, _, goal, _ in commands:
        values = times[label]
        median = statistics.median(values)
        spread = f"{percentile(values, 0.1):.3f}-{percentile(values, 0.9):.3f}"
        over = "-" if goal is None else f"{median - base:.3f} s"
        goal_text = "-" if goal is None else f"<= {goal:.2f} s"
        cpu_median = statistics.median(cpu[label])
        cpu_over = "-" if goal is None else f"{cpu_median - base_cpu:.3f} s"
        rows.append((label, f"{median:.3f}", spread, over, goal_text, f"{cpu_median:.3f}",
                     cpu_over, f"{rss[label] / 1024:.1f}"))
    print_table(rows[0], rows[1:])
    if args.importtime:
        for label, argv, _ in COMMANDS[1:]:
            print(f"\n{label}: largest top-level imports (cumulative ms, one run)")
            for micros, name in largest_imports(argv, 8):
                print(f"  {micros / 1000:7.1f}  {name}")


if __name__ == "__main__":
    main()
