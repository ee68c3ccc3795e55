"""``examples/slurm-array.sh`` on a real Slurm (one node on loopback): ``sbatch --array=0-7
--wait`` of ``hpccache flush --shard auto`` flushes the whole list exactly once, and a list
array (whose tasks cannot know their position) is refused by its tasks, not half-flushed.

The emulator runs in this process on loopback addresses; the array's tasks run on the same
machine, as the user who submits, so they reach it like any client would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from slurm_support import SlurmCluster, slurm_cluster  # noqa: F401 - the fixture
from test_flush_support import assert_written_back, cli_env, dirty_cache, emulator

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "slurm-array.sh"
A1, A2 = "127.0.0.91", "127.0.0.92"
JUNCTION = "/NAS_12_exp5"
JOB_VARS = ("SYSTEM_", "SLURM_", "PBS_", "LSB_", "SGE_")


def _job_env(emu: object, cluster: SlurmCluster) -> dict[str, str]:
    """What sbatch passes on to the tasks (it exports the submitter's environment): the
    emulator's ports, and the venv's ``hpccache`` first on PATH."""
    env = {k: v for k, v in cli_env(emu).items() if not k.startswith(JOB_VARS)}  # type: ignore[arg-type]
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return cluster.env(env)


def _sbatch(array: str, out: Path, args: list[str], env: dict[str, str]
            ) -> subprocess.CompletedProcess[str]:
    out.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        ["sbatch", f"--array={array}", "--wait", "--chdir", str(out), "-o", str(out / "%a.out"),
         str(EXAMPLE), *args], env=env, capture_output=True, text=True, timeout=300,
        check=False)


def test_an_array_of_8_flushes_the_list_exactly_once(
        tmp_path: Path, slurm_cluster: SlurmCluster) -> None:  # noqa: F811
    names = dirty_cache(tmp_path, [f"run/part-{i:03d}.h5" for i in range(60)])
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"".join(name + b"\n" for name in names))
    reports = tmp_path / "reports"
    with emulator(tmp_path, [A1, A2]) as emu:
        done = _sbatch("0-7", tmp_path / "logs", [str(listing), str(reports), "--ip", A1,
                                                  "--ip", A2, "--export", JUNCTION],
                       _job_env(emu, slurm_cluster))
    logs = {p.name: p.read_text() for p in (tmp_path / "logs").glob("*.out")}
    assert done.returncode == 0, (done.stderr, logs)
    files = sorted(reports.glob("flush-*_*.jsonl"))
    assert len(files) == 8, logs
    seen: list[bytes] = []
    for report in files:
        records = [json.loads(line) for line in report.read_text().splitlines()]
        assert {r["outcome"] for r in records} <= {"flushed"}, records
        seen += [os.fsencode(r["path"]) for r in records]
    assert len(seen) == len(set(seen))  # no overlap between tasks
    assert set(seen) == set(names)  # and nothing missed
    assert_written_back(tmp_path, names)
    # -v said what --shard auto read, in every task's log
    positions = set()
    for text in logs.values():
        line = next(x for x in text.splitlines() if x.startswith("hpccache: --shard auto: "))
        assert "Slurm SLURM_ARRAY_TASK_ID=" in line and "COUNT=8 MIN=0 MAX=7 STEP=1" in line
        positions.add(line.rsplit("shard ", 1)[1])
    assert positions == {f"{k}/8" for k in range(1, 9)}


def test_a_list_array_is_refused_by_its_tasks(tmp_path: Path,
                                               slurm_cluster: SlurmCluster) -> None:  # noqa: F811
    names = dirty_cache(tmp_path, [f"run/f{i}" for i in range(6)])
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"".join(name + b"\n" for name in names))
    with emulator(tmp_path, [A1]) as emu:
        done = _sbatch("1,3,8", tmp_path / "logs", [str(listing), str(tmp_path / "reports"),
                                                    "--ip", A1, "--export", JUNCTION],
                       _job_env(emu, slurm_cluster))
    assert done.returncode == 2, done.stderr  # sbatch --wait: the highest task exit code
    for task in (1, 3, 8):
        lines = (tmp_path / "logs" / f"{task}.out").read_text().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hpccache: error: --shard auto: "), lines
        assert "submit a range" in lines[0] and "--shard K/N" in lines[0]
    assert not list((tmp_path / "reports").glob("*.jsonl"))  # nothing flushed by anyone
