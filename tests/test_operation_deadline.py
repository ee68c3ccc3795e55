"""One deadline for a whole operation (#18): ``--timeout`` bounds the request that starts it
too. Before, a POST that hung took the SDK's read timeout times its attempts (20.5 s with
``--timeout 5``); a subprocess as a user runs it, with a read timeout far beyond the limit."""

from __future__ import annotations

import subprocess

import pytest
from arm_support import ArmWorld, error_line, run_hpccache

from hpccache_cli.errors import EXIT_AZURE

FLUSH = ("target", "flush", "emu", "-g", "emu-rg", "-t", "nas1", "--yes", "--timeout", "1")


def test_a_hanging_first_post_ends_at_the_operation_s_deadline(
    world: ArmWorld, env: dict[str, str]
) -> None:
    world.arm.faults.next_hang(method="POST", path_contains="storageTargets/nas1/flush", count=5)
    slow = {**env, "HPCCACHE_ARM_READ_TIMEOUT": "60", "HPCCACHE_ARM_RETRIES": "3"}
    try:
        proc = run_hpccache(slow, *FLUSH, timeout=40)  # the old code waited 60 s and more
    except subprocess.TimeoutExpired:
        pytest.fail("--timeout 1 did not bound the request that starts the operation")
    line = error_line(proc, EXIT_AZURE)
    assert "flush of storage target 'nas1' of cache 'emu'" in line
    assert "did not start within 1 s (--timeout)" in line
    assert "had not answered the request that starts it" in line  # what it last heard
    assert "check with: hpccache target show" in line


def test_a_missing_cache_costs_one_get_and_a_bounded_courtesy_list(
    world: ArmWorld, env: dict[str, str]
) -> None:
    """#18: the list that suggests names hung the answer (62 s); now one GET answers, and the
    list is one attempt of a few seconds, dropped when it does not come."""
    group_list = "emu-rg/providers/Microsoft.StorageCache/caches"
    world.arm.faults.next_hang(method="GET", path_suffix=group_list)
    slow = {**env, "HPCCACHE_ARM_READ_TIMEOUT": "60", "HPCCACHE_ARM_RETRIES": "3"}
    try:
        proc = run_hpccache(slow, "cache", "show", "nope", "-g", "emu-rg", "-o", "json",
                            timeout=40)
    except subprocess.TimeoutExpired:
        pytest.fail("the name-suggesting list held the not-found answer")
    line = error_line(proc, EXIT_AZURE)
    assert "cache 'nope' in resource group 'emu-rg'" in line and "not found" in line
    assert "caches in" not in line  # no hint: the list did not come in time
    assert world.arm.request_count("GET", "/caches/nope") == 1
    listed = [r for r in world.arm.requests if r.method == "GET" and r.path.endswith("/caches")]
    assert len(listed) == 1  # one attempt, no retries

    ok = run_hpccache(env, "cache", "show", "nope", "-g", "emu-rg", "-o", "json")
    assert "caches in emu-rg: emu" in error_line(ok, EXIT_AZURE)  # cheap: the hint is there
