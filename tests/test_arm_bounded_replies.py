"""What ARM sends is bounded before anything parses it (issue 19, "one line, never a
traceback"): a reply nested thousands of levels deep, or larger than hpccache reads, ends in
one ``hpccache: error:`` line with exit 3, whichever command and whichever reply (a resource,
an error body, an operation status); a reply at the bound is still read. Files holding JSON
(the resolution cache, the Azure CLI profile, a ``--layout`` file) are read with the same
bounds. Through the real SDK against the HTTPS fake ARM, as the user sees it (a subprocess).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from arm_support import ArmWorld, error_line, run_hpccache

from hpccache_cli.control import json_bounds
from hpccache_cli.errors import EXIT_AZURE, EXIT_USAGE

MOUNTINFO = Path(__file__).parent / "fixtures" / "mountinfo"
SHOW = ("cache", "show", "emu", "-g", "emu-rg", "-o", "json")
TOO_DEEP = f"it nests more than {json_bounds.MAX_DEPTH} levels deep"


def test_a_cache_nested_3000_levels_is_one_line(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_nested(3000, path_contains="/caches/emu")
    line = error_line(run_hpccache(env, *SHOW), EXIT_AZURE)
    assert "Azure Resource Manager sent a reply hpccache will not read (HTTP 200 to" in line
    assert TOO_DEEP in line and "RecursionError" not in line


def test_flush_cache_on_a_nested_reply_is_an_azure_error(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_nested(3000, path_contains="/caches/emu")
    proc = run_hpccache(env, "flush", "--cache", "emu", "-g", "emu-rg", "/proj/a")
    line = error_line(proc, EXIT_AZURE)  # not exit 1 "files failed": no file was tried
    assert TOO_DEEP in line and "cache 'emu'" in line


def test_a_nested_error_body_is_refused_before_it_is_parsed(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_nested(5000, status=500, path_contains="/caches/emu")
    line = error_line(run_hpccache(env, *SHOW), EXIT_AZURE)
    assert "(HTTP 500 to" in line and TOO_DEEP in line


def test_a_nested_operation_status_is_one_line(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_nested(3000, path_contains="/ascOperations/")
    proc = run_hpccache(env, "target", "flush", "emu", "-g", "emu-rg", "-t", "nas1", "--yes")
    line = error_line(proc, EXIT_AZURE)
    assert "was accepted by Azure and may still be running" in line
    assert f"sent an operation status hpccache will not read (HTTP 200: {TOO_DEEP})" in line


def test_a_reply_larger_than_the_bound_is_refused(world: ArmWorld, env: dict) -> None:
    big = json.dumps({"id": "/big", "name": "big", "properties": {},
                      "extra": "x" * json_bounds.MAX_BYTES}).encode()
    world.arm.faults.next_body(big, content_type="application/json", path_contains="/caches/emu")
    line = error_line(run_hpccache(env, *SHOW), EXIT_AZURE)
    assert f"more than the {json_bounds.MAX_BYTES:,} accepted" in line


def test_a_reply_at_the_bound_is_read(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_nested(json_bounds.MAX_DEPTH, path_contains="/caches/emu")
    proc = run_hpccache(env, *SHOW)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["name"] == "nested"


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b'{"a": "[[[[{{{{", "b": [[1]]}', 3),  # brackets in strings do not count
        (b'{"a": "x\\"[[[[", "b": [[1]]}', 3),  # nor after an escaped quote
        (b'"unterminated \\', 0),
        (b"]]]][[", 2),
    ],
)
def test_nesting_is_counted_outside_strings(text: bytes, depth: int) -> None:
    assert json_bounds.nesting_depth(text) == depth


def test_bounded_loads_is_a_value_error_not_a_recursion_error() -> None:
    with pytest.raises(json_bounds.JsonBoundsError, match="more than 64 levels"):
        json_bounds.loads("[" * 100_000 + "]" * 100_000)
    assert isinstance(json_bounds.JsonBoundsError("x"), ValueError)
    assert json_bounds.loads('{"a": [[1]]}') == {"a": [[1]]}



def test_a_nested_resolution_cache_file_is_ignored(tmp_path: Path) -> None:
    """The resolution cache holds what ARM said: a damaged (or planted) entry nested 3,000
    levels deep is treated as absent, not parsed into a RecursionError."""
    entry = tmp_path / "xdg" / "hpccache" / "layouts" / "mycache-0123456789abcdef.json"
    entry.parent.mkdir(parents=True)
    entry.write_text("[" * 3000 + "]" * 3000)
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"),
           "HPCCACHE_MOUNTINFO": str(MOUNTINFO / "two_caches.mountinfo")}
    proc = run_hpccache(env, "path", "/mnt/cache/NAS_12_exp5/result/output3.txt", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads(proc.stdout)
    assert record["namespace_path"] == "/NAS_12_exp5/result/output3.txt"
    assert record["storage_target"] is None  # no layout known: the entry was not used


def test_a_nested_azure_cli_profile_is_no_profile(env: dict, tmp_path: Path) -> None:
    """The Azure CLI's azureProfile.json is read for the default subscription: one nested
    3,000 levels deep is an unreadable profile (the "no subscription chosen" line)."""
    profile = tmp_path / "az" / "azureProfile.json"
    profile.parent.mkdir()
    profile.write_text('{"subscriptions": ' + "[" * 3000 + "]" * 3000 + "}")
    cli = {**env, "AZURE_SUBSCRIPTION_ID": None, "AZURE_CONFIG_DIR": str(profile.parent)}
    line = error_line(run_hpccache(cli, *SHOW), EXIT_AZURE)
    assert "no subscription chosen" in line and str(profile) in line


def test_a_nested_layout_file_is_one_line(tmp_path: Path) -> None:
    layout = tmp_path / "layout.json"
    layout.write_text("[" * 3000 + "]" * 3000)
    proc = run_hpccache({"HPCCACHE_MOUNTINFO": str(MOUNTINFO / "two_caches.mountinfo")}, "path",
                        "/mnt/cache/NAS_12_exp5/result/output3.txt", "--layout", str(layout))
    line = error_line(proc, EXIT_USAGE)
    assert f"{layout} is not a cache layout" in line and TOO_DEEP in line


@pytest.mark.parametrize(("body", "why"), [
    (b'{"id": "/c", "name": "emu", "properties": [[1]]}', "'properties' is a list, not an object"),
    (b'{"id": ["/c"], "name": "emu", "properties": {}}', "'id' is a list, not a string"),
    (b'{"error": "disk full"}', "'error' is a string, not an object"),
])
def test_a_reply_not_shaped_as_a_resource_is_one_line(
    world: ArmWorld, env: dict, body: bytes, why: str
) -> None:
    """Valid JSON, not ARM's resource envelope: named, not an AttributeError traceback."""
    world.arm.faults.next_body(body, content_type="application/json", path_contains="/caches/emu")
    line = error_line(run_hpccache(env, *SHOW), EXIT_AZURE)
    assert why in line and "will not read (HTTP 200 to cache 'emu'" in line
    world.arm.faults.next_body(body, content_type="application/json", path_contains="/caches/emu")
    proc = run_hpccache(env, "flush", "--cache", "emu", "-g", "emu-rg", "/proj/a")
    assert why in error_line(proc, EXIT_AZURE)


def test_a_list_page_item_that_is_not_an_object_is_named(world: ArmWorld, env: dict) -> None:
    world.arm.faults.next_body(b'{"value": [{"id": "/t", "name": "nas1"}, 7]}',
                               content_type="application/json", path_contains="/storageTargets")
    proc = run_hpccache(env, "target", "list", "emu", "-g", "emu-rg", "-o", "json")
    assert "item 1 of 'value' is a number, not an object" in error_line(proc, EXIT_AZURE)
