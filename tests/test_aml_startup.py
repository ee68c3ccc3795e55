"""Start-up of ``hpccache amlfs``: help and bad usage load no Azure SDK, Rich or emulator
(speed is in benchmarks/amlfs_wait.py; what decides it is asserted here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.startup_support import run_probed, within

HEAVY = ("azure", "pydantic", "pydantic_core", "rich", "hpccache_cli.emulator")


@pytest.mark.parametrize("args", [
    ("amlfs", "--help"),
    ("amlfs", "import", "create", "--help"),
    ("amlfs", "archive", "fs1", "-g", "rg", "--path", "relative"),  # refused before Azure
])
def test_amlfs_help_and_usage_errors_load_nothing_heavy(tmp_path: Path,
                                                        args: tuple[str, ...]) -> None:
    names, proc = run_probed(tmp_path, *args)
    assert proc.returncode in (0, 2), proc.stderr.decode()[-2000:]
    assert within(names, HEAVY) == []
