"""--shard: parsing (K/N and auto), and a disjoint, covering, stable split of the input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from hpccache_cli.errors import EXIT_USAGE, UsageError
from hpccache_cli.pipelines.shard import (
    POSITION_VAR,
    TOTAL_VAR,
    in_shard,
    parse_shard,
    shard_of,
)

REPO = Path(__file__).resolve().parents[1]

PATHS = [f"/data/out/run{r}/part-{i:05d}.h5".encode() for r in range(7) for i in range(300)]
PATHS += [b"/", b"/data/\xff\xfe", b"/scratch/job 42/result.h5", "/caf\u00e9".encode()]


@pytest.mark.parametrize("n", range(1, 8))
def test_shards_are_disjoint_and_cover_the_input(n: int) -> None:
    owners = {p: [k for k in range(1, n + 1) if in_shard(p, k, n)] for p in PATHS}
    assert all(len(ks) == 1 for ks in owners.values())  # disjoint and covering
    union = {p for k in range(1, n + 1) for p in PATHS if in_shard(p, k, n)}
    assert union == set(PATHS)
    sizes = Counter(ks[0] for ks in owners.values())
    assert set(sizes) == set(range(1, n + 1))  # no shard left empty
    mean = len(PATHS) / n
    # ~2100 paths: a fair split stays well within +-15% of the mean (> 4 sigma at n=7).
    assert all(abs(size - mean) <= 0.15 * mean for size in sizes.values()), sizes


def test_pinned_values_keep_the_formula_a_contract() -> None:
    # Jobs of one run may run different hpccache versions; a changed hash would flush some files
    # twice and others never. These values come from the documented blake2b formula.
    cases = {
        b"/": [1, 2, 3, 2, 713],
        b"/data/out/run1/part-00000": [2, 2, 3, 7, 828],
        b"/data/\xff\xfe": [2, 2, 2, 3, 922],
        b"/scratch/job 42/result.h5": [2, 1, 5, 6, 550],
    }
    for path, expected in cases.items():
        assert [shard_of(path, n) for n in (2, 3, 5, 7, 1000)] == expected


def test_str_is_taken_as_its_fsencoded_bytes() -> None:
    for raw in (b"/data/\xff\xfe", "/caf\u00e9".encode()):
        assert shard_of(os.fsdecode(raw), 7) == shard_of(raw, 7)


def test_stable_across_processes_with_different_hash_seeds() -> None:
    sample = [p.decode("utf-8", "surrogateescape") for p in PATHS[::37]]
    here = [shard_of(p, 5) for p in sample]
    code = (
        "import json, sys; from hpccache_cli.pipelines.shard import shard_of; "
        "print(json.dumps([shard_of(p, 5) for p in json.load(sys.stdin)]))"
    )
    for seed in ("0", "12345", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        proc = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(sample),  # json keeps lone surrogates as \udcXX escapes
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        assert json.loads(proc.stdout) == here


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1/1", (1, 1)), ("3/7", (3, 7)), (" 2/4 ", (2, 4)), ("4/4", (4, 4)), ("12/100", (12, 100))],
)
def test_parse_k_of_n(text: str, expected: tuple[int, int]) -> None:
    assert parse_shard(text, {}) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "is not K/N"),
        ("3", "is not K/N"),
        ("0/3", "whole numbers from 1 up"),
        ("4/3", "between 1 and N=3"),
        ("1/0", "whole numbers from 1 up"),
        ("-1/2", "whole numbers from 1 up"),
        ("+1/2", "whole numbers from 1 up"),
        ("a/b", "whole numbers from 1 up"),
        ("1/2/3", "whole numbers from 1 up"),
        ("1.5/2", "whole numbers from 1 up"),
        ("\u0661/2", "whole numbers from 1 up"),  # Arabic-Indic digit: isdigit() but not ASCII
        ("autox", "is not K/N"),
    ],
)
def test_bad_shard_is_a_one_line_usage_error(text: str, hint: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_shard(text, {})
    message = str(info.value)
    assert info.value.exit_code == EXIT_USAGE
    assert hint in message and "--shard" in message and "\n" not in message


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({POSITION_VAR: "3", TOTAL_VAR: "4"}, (3, 4)),
        ({POSITION_VAR: "1", TOTAL_VAR: "1"}, (1, 1)),  # a non-parallel pipeline job
        ({}, (1, 1)),  # outside a pipeline: everything
        ({POSITION_VAR: "", TOTAL_VAR: ""}, (1, 1)),
        ({"TF_BUILD": "True", POSITION_VAR: "2", TOTAL_VAR: "7"}, (2, 7)),
    ],
)
def test_auto_reads_the_agent_variables(env: dict[str, str], expected: tuple[int, int]) -> None:
    assert parse_shard("auto", env) == expected
    assert parse_shard("AUTO", env) == expected


@pytest.mark.parametrize(
    ("env", "hint"),
    [
        ({POSITION_VAR: "2"}, f"{POSITION_VAR} is set but {TOTAL_VAR} is not"),
        ({TOTAL_VAR: "4"}, f"{TOTAL_VAR} is set but {POSITION_VAR} is not"),
        ({POSITION_VAR: "5", TOTAL_VAR: "4"}, "is larger than"),
        ({POSITION_VAR: "0", TOTAL_VAR: "4"}, f"{POSITION_VAR}='0' is not a whole number"),
        ({POSITION_VAR: "1", TOTAL_VAR: "x"}, f"{TOTAL_VAR}='x' is not a whole number"),
    ],
)
def test_auto_with_broken_variables_is_a_usage_error(env: dict[str, str], hint: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_shard("auto", env)
    assert hint in str(info.value)


def test_in_shard_rejects_an_impossible_shard() -> None:
    with pytest.raises(ValueError):
        in_shard(b"/x", 0, 3)
    with pytest.raises(ValueError):
        in_shard(b"/x", 4, 3)
    with pytest.raises(ValueError):
        shard_of(b"/x", 0)
