"""``--only-show-errors`` silences every warning of ``hpccache flush`` (#18), as az's flag does:
the run's own warnings (a failed name only ``--report`` can hold) and the Azure side's (mount
addresses Azure lists that are not IP addresses). Errors and exit codes stay as they were.

Before #18 the flush printed both whatever the flag said; each test runs the same flush with
and without the flag, so it shows the warning exists and is silenced.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from arm_support import SUB, ArmWorld, run_hpccache, running_world
from test_flush_support import cli_env, dirty_cache, emulator
from test_flush_support import run_cli as run

from hpccache_cli.errors import EXIT_SOME_FAILED

A1 = "127.0.0.58"
FLUSH = ["flush", "--ip", A1, "--export", "/NAS_12_exp5"]


def test_a_name_only_the_report_holds_is_no_warning_with_only_show_errors(
    tmp_path: Path,
) -> None:
    dirty_cache(tmp_path, [b"nl/bad\nname", b"nl/fine"])
    faults = {"failing_paths": ["/NAS_12_exp5/nl/bad\nname"]}
    args = [*FLUSH, "--recursive", "--mode", "sync", "--report", str(tmp_path / "r.jsonl"),
            "--failed-to", str(tmp_path / "failed.lst")]
    with emulator(tmp_path, [A1], faults=faults) as emu:
        env = cli_env(emu)
        loud = run(args, env, b"nl\n")
        quiet = run([*args, "--only-show-errors"], env, b"nl\n")
    assert loud.returncode == quiet.returncode == EXIT_SOME_FAILED, quiet.stderr
    assert "hpccache: warning: 1 failed or unfinished path has a newline" in loud.stderr.decode()
    assert "warning" not in quiet.stderr.decode(), quiet.stderr
    assert (tmp_path / "failed.lst").read_bytes() == b""  # the run itself is the same


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmWorld]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with running_world(tmp_path / "emu") as w:
        yield w


def test_addresses_azure_lists_wrongly_are_no_warning_with_only_show_errors(
    world: ArmWorld, tmp_path: Path
) -> None:
    record = world.arm.store.find(SUB, "emu-rg", "emu")
    assert record is not None
    record.body["properties"]["mountAddresses"] = ["not an ip", "127.0.0.11"]
    env = {**world.env(), "XDG_CACHE_HOME": str(tmp_path / "xdg2"), "HPCCACHE_LAYOUT_TTL": "0"}
    args = ["flush", "--cache", "emu", "-g", "emu-rg", "/proj/a", "--path-kind", "namespace",
            "--timeout", "5", "--mount-port", "9", "--nfs-port", "9"]
    loud = run_hpccache(env, *args)
    quiet = run_hpccache(env, *args, "--only-show-errors")
    assert "Traceback" not in loud.stderr + quiet.stderr
    assert loud.returncode == quiet.returncode, (loud.stderr, quiet.stderr)
    assert "hpccache: warning: Azure lists mount addresses of cache emu" in loud.stderr
    assert "warning" not in quiet.stderr, quiet.stderr
