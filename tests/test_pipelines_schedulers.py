"""--shard auto on job arrays: Slurm (the values measured on Slurm 22.05), PBS Pro, LSF, Grid
Engine. The property that matters: over all tasks of one array, the accepted positions are
distinct and, unless some task refused, cover 1..n (no file flushed twice, none missed)."""

from __future__ import annotations

import itertools
import os
import random
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hpccache_cli.errors import EXIT_USAGE, UsageError
from hpccache_cli.pipelines.schedulers import (
    ShardFound,
    detect,
    parse_range,
    read_pbs_range_with_qstat,
)
from hpccache_cli.pipelines.shard import find_shard, parse_shard

REPO = Path(__file__).resolve().parents[1]


def slurm_env(task: int, count: int, low: int, high: int, step: int) -> dict[str, str]:
    return {"SLURM_ARRAY_JOB_ID": "41", "SLURM_ARRAY_TASK_ID": str(task),
            "SLURM_ARRAY_TASK_COUNT": str(count), "SLURM_ARRAY_TASK_MIN": str(low),
            "SLURM_ARRAY_TASK_MAX": str(high), "SLURM_ARRAY_TASK_STEP": str(step)}


# --array spec: (task ids, COUNT, MIN, MAX, STEP) as Slurm 22.05 set them (measured).
MEASURED_RANGES = {
    "0-7": (range(8), 8, 0, 7, 1),
    "4-12:4": ([4, 8, 12], 3, 4, 12, 4),
    "0-7:3": ([0, 3, 6], 3, 0, 6, 3),  # MAX is the last real index, not 7
    "2-9:4": ([2, 6], 2, 2, 6, 4),
    "5": ([5], 1, 5, 5, 1),
    "0-6:3,9": ([0, 3, 6, 9], 4, 0, 9, 3),  # a list that is exactly a lattice
}
MEASURED_LISTS = {
    "1,3,8": ([1, 3, 8], 3, 1, 8, 1),
    "1-3,10-12": ([1, 2, 3, 10, 11, 12], 6, 1, 12, 1),
    "0,3,6": ([0, 3, 6], 3, 0, 6, 1),  # STEP is 1 for a plain list
    "0,3,5,9": ([0, 3, 5, 9], 4, 0, 9, 1),
    "0-6:3,7": ([0, 3, 6, 7], 4, 0, 7, 3),  # STEP is the first range's
    "2,4,6": ([2, 4, 6], 3, 2, 6, 1),
}


@pytest.mark.parametrize("spec", MEASURED_RANGES)
def test_slurm_ranges_give_each_task_its_own_position(spec: str) -> None:
    tasks, count, low, high, step = MEASURED_RANGES[spec]
    found = [detect(slurm_env(t, count, low, high, step)) for t in tasks]
    assert sorted(f.k for f in found) == list(range(1, count + 1))
    assert {f.n for f in found} == {count}
    assert {f.source for f in found} == {"Slurm"}


@pytest.mark.parametrize("spec", MEASURED_LISTS)
def test_slurm_lists_are_refused_by_every_task(spec: str) -> None:
    tasks, count, low, high, step = MEASURED_LISTS[spec]
    for task in tasks:
        with pytest.raises(UsageError) as info:
            detect(slurm_env(task, count, low, high, step))
        message = str(info.value)
        assert info.value.exit_code == EXIT_USAGE and "\n" not in message
        assert "submit a range" in message and "--shard K/N" in message


def _slurm_model(indices: list[int], first_step: int) -> tuple[int, int, int, int]:
    """COUNT, MIN, MAX, STEP as Slurm sets them: STEP is the first range's step."""
    return len(indices), min(indices), max(indices), first_step


def test_no_slurm_array_overlaps_or_misses_silently() -> None:
    """Random arrays (ranges and lists) under the measured model: accepted positions never
    collide, and a position missing from 1..n always comes with a refusing task."""
    rng = random.Random(21)
    for _ in range(3000):
        parts, first_step = [], 1
        for i in range(rng.randint(1, 3)):
            a = rng.randint(0, 30)
            b = a + rng.randint(0, 12)
            s = rng.randint(1, 4)
            parts.append(list(range(a, b + 1, s)))
            if i == 0:
                first_step = s if b > a else 1
        indices = sorted(set(itertools.chain(*parts)))
        count, low, high, step = _slurm_model(indices, first_step)
        accepted, refused = [], 0
        for task in indices:
            try:
                found = detect(slurm_env(task, count, low, high, step))
            except UsageError:
                refused += 1
            else:
                accepted.append(found.k)
                assert found.n == count
        assert len(accepted) == len(set(accepted)), indices
        if set(accepted) != set(range(1, count + 1)):
            assert refused, indices


@pytest.mark.parametrize(
    ("missing", "variable"),
    [("SLURM_ARRAY_TASK_COUNT", "number of tasks"), ("SLURM_ARRAY_TASK_MIN", "first index"),
     ("SLURM_ARRAY_TASK_MAX", "last index"), ("SLURM_ARRAY_TASK_STEP", "the step")],
)
def test_slurm_missing_variable_is_named(missing: str, variable: str) -> None:
    env = slurm_env(2, 8, 0, 7, 1)
    del env[missing]
    with pytest.raises(UsageError) as info:
        detect(env)
    assert f"set {missing}" in str(info.value) and variable in str(info.value)


def test_no_scheduler_means_the_whole_list_and_says_so() -> None:
    found = detect({"SGE_TASK_ID": "undefined", "LSB_JOBINDEX": "0"})
    assert (found.k, found.n, found.source) == (1, 1, "")
    assert "shard 1/1" in found.describe() and "Slurm" in found.describe()


def test_a_pipeline_1_of_1_exported_into_a_slurm_task_is_not_a_conflict() -> None:
    env = slurm_env(3, 8, 0, 7, 1) | {"SYSTEM_JOBPOSITIONINPHASE": "1",
                                        "SYSTEM_TOTALJOBSINPHASE": "1"}
    assert (detect(env).k, detect(env).n, detect(env).source) == (4, 8, "Slurm")
    env |= {"SYSTEM_JOBPOSITIONINPHASE": "2", "SYSTEM_TOTALJOBSINPHASE": "3"}
    with pytest.raises(UsageError, match="both split the list"):
        detect(env)


def test_the_verbose_line_names_what_was_read() -> None:
    text = find_shard("auto", slurm_env(6, 3, 0, 6, 3)).describe()
    assert text == ("--shard auto: Slurm SLURM_ARRAY_TASK_ID=6 COUNT=3 MIN=0 MAX=6 STEP=3: "
                    "shard 3/3")


# -- PBS Pro --------------------------------------------------------------------------------------


def pbs_reader(answer: str | Exception):
    seen: list[str] = []

    def read(array_id: str) -> str:
        seen.append(array_id)
        if isinstance(answer, Exception):
            raise answer
        return answer

    read.seen = seen  # type: ignore[attr-defined]
    return read


@pytest.mark.parametrize(
    ("submitted", "indices"),
    [("0-7", range(8)), ("1-10", range(1, 11)), ("0-7:3", [0, 3, 6]), ("4-12:4", [4, 8, 12])],
)
def test_pbs_reads_the_range_of_the_array(submitted: str, indices: list[int]) -> None:
    reader = pbs_reader(submitted)
    found = [detect({"PBS_ARRAY_INDEX": str(i), "PBS_ARRAY_ID": "77[].pbs1"}, reader)
             for i in indices]
    assert sorted(f.k for f in found) == list(range(1, len(found) + 1))
    assert {f.n for f in found} == {len(found)} and {f.source for f in found} == {"PBS Pro"}
    assert set(reader.seen) == {"77[].pbs1"}  # type: ignore[attr-defined]


def test_pbs_without_a_readable_range_is_refused_in_one_line() -> None:
    env = {"PBS_ARRAY_INDEX": "3", "PBS_ARRAY_ID": "77[].pbs1"}
    with pytest.raises(UsageError, match=r"qstat -f: qstat not found.*--shard K/N"):
        detect(env, pbs_reader(OSError("qstat not found on PATH")))
    with pytest.raises(UsageError, match="not X-Y"):
        detect(env, pbs_reader("1,3,5"))
    with pytest.raises(UsageError, match="set PBS_ARRAY_ID"):
        detect({"PBS_ARRAY_INDEX": "3"}, pbs_reader("0-7"))


QSTAT_F = """\
Job Id: 77[].pbs1
    Job_Name = flush
    job_state = B
    array = True
    array_state_count = Queued:0 Running:2 Exiting:0 Expired:0
    array_indices_submitted = 0-7:3
    array_indices_remaining = -
"""


def _fake_qstat(tmp_path: Path, body: str, rc: int = 0) -> dict[str, str]:
    """A stand-in `qstat` on PATH printing the shape PBS Pro documents for `qstat -f`
    (no PBS Pro server can run here): it checks our subprocess handling, not PBS."""
    script = tmp_path / "qstat"
    script.write_text(f"#!/bin/sh\n[ \"$1\" = -f ] || exit 9\ncat <<'EOF'\n{body}EOF\nexit {rc}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_qstat_f_output_is_parsed_for_the_one_attribute(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _fake_qstat(tmp_path, QSTAT_F)["PATH"])
    assert read_pbs_range_with_qstat("77[].pbs1") == "0-7:3"
    with pytest.raises(OSError, match="not an array id"):
        read_pbs_range_with_qstat("77;rm -rf /")
    monkeypatch.setenv("PATH", _fake_qstat(tmp_path, "Job Id: 77[].pbs1\n")["PATH"])
    with pytest.raises(OSError, match="no array_indices_submitted"):
        read_pbs_range_with_qstat("77[].pbs1")


def test_pbs_auto_through_the_cli_prints_what_it_found(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HPCCACHE_", "AZURE_", "SLURM_", "SYSTEM_", "PBS_", "LSB_",
                                "SGE_"))}
    env |= _fake_qstat(tmp_path, QSTAT_F) | {"PBS_ARRAY_INDEX": "6",
                                              "PBS_ARRAY_ID": "77[].pbs1"}
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "hpccache_cli", "flush", "--ip", "127.0.0.1", "--export", "/x",
         "--shard", "auto", "-v", "-o", "json", "--from-file", str(empty)],
        env=env, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert ("hpccache: --shard auto: PBS Pro PBS_ARRAY_INDEX=6 array_indices_submitted=0-7:3: "
            "shard 3/3") in done.stderr


# -- LSF ------------------------------------------------------------------------------------------


def lsf_env(index: int, name: str, end: int, step: int) -> dict[str, str]:
    return {"LSB_JOBINDEX": str(index), "LSB_JOBNAME": name, "LSB_JOBINDEX_END": str(end),
            "LSB_JOBINDEX_STEP": str(step)}


@pytest.mark.parametrize(
    ("name", "indices", "end", "step"),
    [("flush[1-8]", range(1, 9), 8, 1), ("flush[1-10:3]%2", [1, 4, 7, 10], 10, 3),
     ("flush[2-8:3]", [2, 5, 8], 8, 3), ("flush[3]", [3], 3, 1)],
)
def test_lsf_ranges(name: str, indices: list[int], end: int, step: int) -> None:
    found = [detect(lsf_env(i, name, end, step)) for i in indices]
    assert sorted(f.k for f in found) == list(range(1, len(found) + 1))
    assert {f.n for f in found} == {len(found)} and {f.source for f in found} == {"LSF"}


@pytest.mark.parametrize(
    ("env", "hint"),
    [(lsf_env(3, "flush[1,3,5-10]", 10, 1), "is a list of indices"),
     (lsf_env(3, "flush[3]", 10, 1), "first index is unknown"),
     (lsf_env(3, "flush", 10, 1), "first index is unknown"),
     (lsf_env(3, "flush[1-10:2]", 10, 1), "disagrees"),
     ({"LSB_JOBINDEX": "3", "LSB_JOBNAME": "f[1-8]"}, "set LSB_JOBINDEX_END")],
)
def test_lsf_refusals(env: dict[str, str], hint: str) -> None:
    with pytest.raises(UsageError, match=hint):
        detect(env)


def test_lsf_index_0_is_not_an_array() -> None:
    assert detect({"LSB_JOBINDEX": "0", "LSB_JOBNAME": "x"}).source == ""


# -- Grid Engine ----------------------------------------------------------------------------------


def sge_env(task: int, first: int, last: int, step: int) -> dict[str, str]:
    return {"SGE_TASK_ID": str(task), "SGE_TASK_FIRST": str(first),
            "SGE_TASK_LAST": str(last), "SGE_TASK_STEPSIZE": str(step)}


@pytest.mark.parametrize(
    ("first", "last", "step", "tasks"),
    [(1, 8, 1, range(1, 9)), (1, 10, 3, [1, 4, 7, 10]), (1, 8, 3, [1, 4, 7]), (5, 5, 1, [5])],
)
def test_grid_engine_ranges(first: int, last: int, step: int, tasks: list[int]) -> None:
    found = [detect(sge_env(t, first, last, step)) for t in tasks]
    assert sorted(f.k for f in found) == list(range(1, len(found) + 1))
    assert {f.n for f in found} == {len(found)} and {f.source for f in found} == {"Grid Engine"}


def test_grid_engine_refusals() -> None:
    with pytest.raises(UsageError, match="not in 1-7:3"):
        detect(sge_env(2, 1, 8, 3))
    with pytest.raises(UsageError, match="SGE_TASK_STEPSIZE is undefined"):
        detect(sge_env(2, 1, 8, 3) | {"SGE_TASK_STEPSIZE": "undefined"})
    with pytest.raises(UsageError, match="not a whole number"):
        detect(sge_env(2, 1, 8, 3) | {"SGE_TASK_LAST": "9" * 40})


def test_parse_range_forms() -> None:
    assert parse_range("0-7:3") == (0, 7, 3)
    assert parse_range("4") == (4, 4, 1)
    assert parse_range("1-10") == (1, 10, 1)
    assert parse_range("1,3") is None and parse_range("a-b") is None


def test_explicit_k_of_n_ignores_the_environment() -> None:
    assert parse_shard("2/5", slurm_env(0, 3, 1, 8, 1)) == (2, 5)
    assert isinstance(find_shard("2/5", {}), ShardFound)
