"""Retries that do what they say, and bounded time (issue 13 §2, §3).

``HPCCACHE_ARM_RETRIES`` governs 429/5xx retries (the SDK's status limit, not just its total),
error messages quote the attempts really made, a long Retry-After is announced, and a server
that never answers (or never starts TLS) costs a bounded, configurable time. Through the real
SDK against the HTTPS fake ARM; small timeouts from the environment keep the tests fast.
"""

from __future__ import annotations

import socket

from arm_support import ArmWorld, error_line, run_cli, run_hpccache

from hpccache_cli.errors import EXIT_AZURE, EXIT_USAGE

SHOW = ("cache", "show", "emu", "-g", "emu-rg", "-o", "json")
CACHE = "/caches/emu"


def in_process_error(env: dict, *args: str, code: int = EXIT_AZURE) -> str:
    r = run_cli(env, *args)
    assert r.exit_code == code and "Traceback" not in r.output, r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpccache: error: "), r.stderr
    return lines[0]


def test_retries_govern_throttling_and_server_errors(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_status(429, count=50, retry_after_ms=10, path_contains=CACHE)
    line = in_process_error({**env, "HPCCACHE_ARM_RETRIES": "8"}, *SHOW)
    assert world.arm.request_count("GET", CACHE) == 9  # 1 + 8 retries, not the SDK's 1 + 3
    assert "Azure is throttling requests for cache 'emu'" in line and "after 9 attempts" in line

    world.arm.faults.clear()
    before = world.arm.request_count("GET", CACHE)
    world.arm.faults.next_status(503, count=50, retry_after_ms=10, path_contains=CACHE)
    line = in_process_error({**env, "HPCCACHE_ARM_RETRIES": "2"}, *SHOW)
    assert world.arm.request_count("GET", CACHE) - before == 3
    assert "HTTP 503 ServiceUnavailable" in line and "after 3 attempts" in line


def test_a_long_retry_after_is_announced_a_short_one_is_not(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_status(429, retry_after_ms=10, path_contains=CACHE)
    quiet = run_hpccache(env, *SHOW)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    world.arm.faults.next_status(429, retry_after_ms=2000, path_contains=CACHE)
    loud = run_hpccache(env, *SHOW)
    assert loud.returncode == 0, loud.stderr
    assert loud.stderr.splitlines() == [
        "hpccache: Azure Resource Manager is throttling (HTTP 429); waiting 2 s as it asked "
        "(Retry-After), then attempt 2 of 2"
    ]


def test_a_request_never_answered_ends_at_the_read_timeout(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_hang(path_contains=CACHE, count=10)
    slow = {**env, "HPCCACHE_ARM_READ_TIMEOUT": "0.3", "HPCCACHE_ARM_RETRIES": "5"}
    line = error_line(run_hpccache(slow, *SHOW), EXIT_AZURE)
    assert "did not answer cache 'emu' in resource group 'emu-rg' within 0.3 s" in line
    assert "(HPCCACHE_ARM_READ_TIMEOUT) after 3 attempts" in line  # timeouts: 2 retries at most
    assert world.arm.request_count("GET", CACHE) == 3


def test_a_server_that_never_starts_tls_ends_at_the_connect_timeout(env: dict) -> None:
    with socket.socket() as silent:  # accepts TCP (the backlog) and never says anything
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"https://127.0.0.1:{silent.getsockname()[1]}"
        slow = {
            **env,
            "HPCCACHE_ARM_ENDPOINT": url,
            "HPCCACHE_ARM_CONNECT_TIMEOUT": "0.3",
            "HPCCACHE_ARM_READ_TIMEOUT": "30",
        }
        line = error_line(run_hpccache(slow, *SHOW), EXIT_AZURE)
    assert f"could not connect to Azure Resource Manager at {url} (TCP and TLS)" in line
    assert "within 0.3 s (HPCCACHE_ARM_CONNECT_TIMEOUT)" in line


def test_timeout_settings_are_checked(world: ArmWorld, env: dict) -> None:
    line = in_process_error({**env, "HPCCACHE_ARM_READ_TIMEOUT": "0"}, *SHOW, code=EXIT_USAGE)
    assert "HPCCACHE_ARM_READ_TIMEOUT must be a positive number of seconds" in line
    line = in_process_error({**env, "HPCCACHE_ARM_CONNECT_TIMEOUT": "soon"}, *SHOW, code=2)
    assert "HPCCACHE_ARM_CONNECT_TIMEOUT='soon' is not a number" in line
    assert world.arm.request_count() == 0


def test_only_show_errors_silences_the_throttling_notice(world: ArmWorld, env: dict) -> None:
    """#18: --only-show-errors printed the wait before a retry all the same."""
    world.arm.faults.next_status(429, retry_after_ms=2000, path_contains=CACHE)
    quiet = run_hpccache(env, *SHOW, "--only-show-errors")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    # it was throttled and waited: the cache GET twice, then the storage-target list
    assert world.arm.request_count("GET", CACHE) == 3
