"""What an AMLFS wait costs Azure, and how fast ``amlfs show`` starts (issue #20).

1. A wait adds no more than one status GET per poll interval: ``hpccache amlfs archive`` and
   ``hpccache amlfs import create`` run as a user runs them, against the fake ARM with an
   emulated file system slowed down (``per_file_seconds``) so that the wait lasts a few
   seconds; the fake ARM counts the requests. Printed: the interval chosen
   (``HPCCACHE_POLL_INTERVAL``), how long the wait lasted (the CLI's own figure), the status
   GETs, the most one-per-interval allows (the first reading at 0 s, then one per interval),
   and the GETs per interval after the first.
2. ``amlfs show`` against ``cache show``: whole-process wall and CPU time, interleaved rounds
   against the same fake ARM (median and 10th-90th percentile).

Needs Azurite (scripts/test.sh installs it). Only loopback; figures printed, never asserted::

    python benchmarks/amlfs_wait.py --interval 0.25 --rounds 15
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from aml_support import FS, RG, running_aml  # noqa: E402
from tables import print_table  # noqa: E402

from hpccache_cli.emulator.aml.config import AmlFaults  # noqa: E402


def hpccache(env: dict[str, str], *args: str) -> tuple[float, float, int, str]:
    """Wall and CPU seconds of one whole ``hpccache`` process, its exit code and stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "hpccache_cli", *args], env=env, cwd=ROOT,
                          capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    err = proc.stderr.decode()
    if proc.returncode:
        sys.stderr.write(err[-500:])
    return wall, cpu, proc.returncode, err


def exact_gets(arm: object, path: str) -> int:
    """GETs of exactly ``path`` (not of its children, such as the job lists)."""
    return sum(1 for r in arm.requests  # type: ignore[attr-defined]
               if r.method == "GET" and r.path.rstrip("/").lower() == path.lower())


def waits(world: object, env: dict[str, str], interval: float, files: int) -> list[list[str]]:
    aml = world
    rows = []
    for i in range(files):
        aml.write(f"bench/f{i:04d}.dat", b"x" * 1000)  # type: ignore[attr-defined]
    arm = aml.world.arm  # type: ignore[attr-defined]
    fs_path = aml.fs.resource_id()  # type: ignore[attr-defined]
    before = exact_gets(arm, fs_path)
    _, _, code, err = hpccache(env, "amlfs", "archive", FS, "-g", RG)
    # start_archive reads the file system once before its POST; the rest is the wait
    rows.append(_row("amlfs archive", interval, err, exact_gets(arm, fs_path) - before - 1,
                     code))
    container = aml.container  # type: ignore[attr-defined]
    for i in range(files):
        container.upload_blob(f"in/b{i:04d}", b"y" * 100, overwrite=True)
    job = "bench-import"
    job_path = aml.fs.job_id("importJobs", job).replace(  # type: ignore[attr-defined]
        "/amlfilesystems/", "/amlFilesystems/")
    _, _, code, err = hpccache(env, "amlfs", "import", "create", "-n", job, "--amlfs-name",
                               FS, "-g", RG, "--import-prefixes", "/in", "-o", "none")
    # the create operation's final GET of the job and the one after the wait are not polls
    rows.append(_row("amlfs import create", interval, err, exact_gets(arm, job_path) - 2,
                     code))
    return rows


def _row(label: str, interval: float, err: str, gets: int, code: int) -> list[str]:
    """The wait's own length is the CLI's ("... after 2.3 s"); its first reading is at 0 s."""
    found = re.search(r"after ([0-9.]+) s", err)
    waited = float(found.group(1)) if found else float("nan")
    allowed = int(waited // interval) + 1
    return [label, f"{interval:g}", f"{waited:.2f}", str(gets), str(allowed),
            f"{(gets - 1) / max(waited / interval, 1e-9):.2f}", str(code)]


def startup(env: dict[str, str], rounds: int) -> list[list[str]]:
    commands = {"hpccache amlfs show": ["amlfs", "show", FS, "-g", RG, "-o", "json"],
                "hpccache cache show": ["cache", "show", "emu", "-g", "emu-rg", "-o", "json"]}
    walls: dict[str, list[float]] = {k: [] for k in commands}
    cpus: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(rounds):
        for label, args in commands.items():
            wall, cpu, _, _ = hpccache(env, *args)
            walls[label].append(wall)
            cpus[label].append(cpu)
    rows = []
    for label in commands:
        w, c = sorted(walls[label]), sorted(cpus[label])
        p10, p90 = w[len(w) // 10], w[(len(w) * 9) // 10 - (1 if len(w) >= 10 else 0)]
        rows.append([label, f"{statistics.median(w):.3f}", f"{p10:.3f}-{p90:.3f}",
                     f"{statistics.median(c):.3f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=0.25,
                        help="HPCCACHE_POLL_INTERVAL for the waits (seconds)")
    parser.add_argument("--files", type=int, default=40, help="files / blobs to move")
    parser.add_argument("--per-file", type=float, default=0.05,
                        help="emulated seconds per file (makes the wait last)")
    parser.add_argument("--rounds", type=int, default=15, help="start-up rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hpccache-bench-aml-") as tmp, \
            running_aml(Path(tmp), AmlFaults(per_file_seconds=args.per_file)) as world:
        env = {**os.environ, **world.world.env(), "PYTHONPATH": str(ROOT),
               "HPCCACHE_POLL_INTERVAL": f"{args.interval:g}",
               "XDG_CACHE_HOME": str(Path(tmp) / "xdg")}
        env.pop("TF_BUILD", None)
        print(f"waits: {args.files} files at {args.per_file:g} s each, poll interval "
              f"{args.interval:g} s")
        print_table(["wait", "interval s", "wait s", "status GETs", "at most (1 + wait/interval)",
                     "GETs/interval after the first", "exit"],
                    waits(world, env, args.interval, args.files))
        print(f"\nstart-up, {args.rounds} interleaved rounds against the fake ARM")
        print_table(["command", "median wall s", "p10-p90 wall s", "median CPU s"],
                    startup(env, args.rounds))


if __name__ == "__main__":
    main()
