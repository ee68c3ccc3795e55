"""``hpccache demo`` covers Azure Managed Lustre: archive into Azurite, verified byte for byte."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from peers import peer_unavailable

from hpccache_cli.emulator.aml.azurite import AzuriteMissing, find_azurite


def test_demo_archives_into_azurite_and_verifies_the_blobs() -> None:
    try:
        find_azurite()
    except AzuriteMissing as exc:
        peer_unavailable(f"Azurite: {exc}")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]),
               HPCCACHE_POLL_INTERVAL="0.2")
    proc = subprocess.run([sys.executable, "-m", "hpccache_cli", "demo", "--files", "10",
                           "--write-back-ms", "1", "--amlfs-files", "15"], env=env,
                          capture_output=True, timeout=180)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    assert "$ hpccache amlfs archive demo-amlfs -g demo-rg" in out
    assert "hdi_isfolder" in out  # the container listing shows the folder markers
    assert "verified: all 15 files are in the blob container, byte for byte" in out
