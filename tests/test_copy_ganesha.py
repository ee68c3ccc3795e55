"""``hpccache copy`` against nfs-ganesha, a server we did not write (as a user runs it): the
tree on disk afterwards is checked with ``os.stat`` and the bytes, not with our client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from peers import GaneshaPeer

pytestmark = pytest.mark.peer
ROOT = Path(__file__).resolve().parents[1]


def test_copy_a_tree_to_ganesha_and_rerun(ganesha: GaneshaPeer, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    files = {"a.txt": b"alpha", "sub/big.bin": os.urandom((1 << 20) * 3 + 17), "empty": b""}
    for rel, data in files.items():
        (src / rel).write_bytes(data)
    os.utime(src / "a.txt", ns=(1_400_000_000_000_000_000, 1_400_000_000_000_000_000))
    os.chmod(src / "sub" / "big.bin", 0o600)
    scratch = ganesha.scratch_dir("copy-")
    dest = os.path.relpath(scratch, ganesha.export_dir) + "/into"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HPCCACHE_", "AZURE_"))}
    env["PYTHONPATH"] = str(ROOT)
    args = [sys.executable, "-m", "hpccache_cli", "copy", "--ip", ganesha.host,
            "--portmap-port", str(ganesha.portmap_port), "--export", ganesha.export_path,
            "--path-kind", "export", f"{src}/", dest, "-o", "json"]
    proc = subprocess.run(args, capture_output=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    assert (data["copied"], data["failed"]) == (4, 0)  # 3 files and sub/
    for rel, content in files.items():
        local, there = (src / rel).stat(), (scratch / "into" / rel).stat()
        assert (scratch / "into" / rel).read_bytes() == content, rel
        assert (there.st_mode & 0o7777, there.st_mtime_ns) == (local.st_mode & 0o7777,
                                                              local.st_mtime_ns), rel
    again = subprocess.run(args, capture_output=True, env=env, timeout=120, check=False)
    data = json.loads(again.stdout)
    assert (data["copied"], data["skipped"]) == (0, 5), again.stderr.decode()
