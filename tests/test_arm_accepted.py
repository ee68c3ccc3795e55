"""After Azure accepted an operation (202), every later failure says so (issue 13 §1, §3).

The operation runs in Azure whatever happens to the polling: a status URL that answers 404,
a status that is not JSON, a status URL in plain HTTP, or a wait that runs out must each say
that the operation was accepted and may still be running, and how to check on it; never that
the (existing) target is "not found". All through the real SDK against the HTTPS fake ARM,
as the user sees it (a subprocess).
"""

from __future__ import annotations

import pytest
from arm_support import ArmWorld, error_line, run_hpccache

from hpccache_cli.cli.target_cmd import DEFAULT_TIMEOUT
from hpccache_cli.control.client import DEFAULT_OPERATION_TIMEOUT
from hpccache_cli.control.operations import flush_cache, run_target_operation
from hpccache_cli.errors import EXIT_AZURE, EXIT_USAGE, AzureError

FLUSH = ("target", "flush", "emu", "-g", "emu-rg", "-t", "nas1", "--yes")
SHOW_TARGET = "check with: hpccache target show --cache emu -g emu-rg -n nas1"
ACCEPTED = "was accepted by Azure and may still be running, but following it failed: "


def test_404_on_the_status_url_is_not_a_missing_target(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_status(404, path_contains="/ascOperations/", count=10)
    line = error_line(run_hpccache(env, *FLUSH), EXIT_AZURE)
    assert "flush of storage target 'nas1' of cache 'emu'" in line and ACCEPTED in line
    assert "its status URL answered HTTP 404 ResourceNotFound" in line
    assert line.endswith(SHOW_TARGET)
    assert "storage targets of" not in line and "not found in subscription" not in line
    assert world.arm.request_count("POST") == 1


def test_a_status_that_is_not_json_could_not_be_read(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_body(b"<html>proxy says hi</html>", path_contains="/ascOperations/")
    line = error_line(run_hpccache(env, *FLUSH), EXIT_AZURE)
    assert ACCEPTED in line and "sent an operation status that could not be read" in line
    assert "refused" not in line and line.endswith(SHOW_TARGET)


def test_a_plain_http_status_url_is_refused(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_lro_urls(scheme="http")
    line = error_line(run_hpccache(env, *FLUSH), EXIT_AZURE)
    assert ACCEPTED in line and "URL in plain HTTP (http://127.0.0.1:" in line
    assert "cannot reach" not in line and line.endswith(SHOW_TARGET)


def test_cache_flush_and_suspend_say_the_same(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_status(404, path_contains="/ascOperations/", count=10)
    line = error_line(
        run_hpccache(env, "cache", "flush", "emu", "-g", "emu-rg", "--yes"), EXIT_AZURE
    )
    assert "flush of cache 'emu'" in line and ACCEPTED in line
    assert line.endswith("check with: hpccache cache show emu -g emu-rg")
    world.arm.faults.clear()
    world.arm.faults.next_body(b"not json", path_contains="/ascOperations/")
    settings = world.settings()
    with pytest.raises(AzureError, match="suspend of storage target 'ro1'.*was accepted"):
        run_target_operation(settings, "emu-rg", "emu", "ro1", "suspend")


def test_an_operation_that_stays_in_progress_ends_at_the_timeout(
    world: ArmWorld, env: dict
) -> None:
    world.arm.faults.hold_next_lro()
    line = error_line(run_hpccache(env, *FLUSH, "--timeout", "0.5"), EXIT_AZURE)
    assert "flush of storage target 'nas1' of cache 'emu'" in line
    assert "did not finish within 0.5 s (--timeout; last status: InProgress)" in line
    assert line.endswith(f"still running in Azure; {SHOW_TARGET}")

    world.arm.faults.hold_next_lro()
    line = error_line(
        run_hpccache(env, "cache", "flush", "emu", "-g", "emu-rg", "--yes", "--timeout", "0.3"),
        EXIT_AZURE,
    )
    assert line.endswith("still running in Azure; check with: hpccache cache show emu -g emu-rg")

    world.arm.faults.hold_next_lro()
    with pytest.raises(AzureError, match="did not finish within 0.2 s"):
        flush_cache(world.settings(), "emu-rg", "emu", timeout=0.2)

    posts = world.arm.request_count("POST")
    line = error_line(run_hpccache(env, *FLUSH, "--timeout", "0"), EXIT_USAGE)
    assert "--timeout must be a positive number of seconds" in line
    assert world.arm.request_count("POST") == posts


def test_the_documented_default_is_the_librarys() -> None:
    """--timeout's default (declared without importing Azure code) is the library's."""
    assert DEFAULT_TIMEOUT == DEFAULT_OPERATION_TIMEOUT == 3600
