"""``hpccache path --query``: the records through the one renderer (issue #18: "``--query`` on
every command"), as a user runs it: a subprocess, a mount table of its own, no Azure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MOUNTS = (b"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
          b"40 1 0:40 / /hpccache-test-not-here/c rw - nfs 127.0.0.1:/ rw,vers=3\n")


def _path(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    table = tmp_path / "mountinfo"
    table.write_bytes(MOUNTS)
    return subprocess.run([sys.executable, "-m", "hpccache_cli", "path", "--mountinfo",
                           str(table), "--lexical", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "120"}, timeout=60, check=False)


def test_a_query_selects_from_the_records(tmp_path: Path) -> None:
    proc = _path(tmp_path, "/hpccache-test-not-here/c/NAS/x", "--query", "[0].namespace_path")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == '"/NAS/x"\n'


def test_a_query_in_tsv_keeps_the_exit_code_of_the_paths(tmp_path: Path) -> None:
    proc = _path(tmp_path, "/hpccache-test-not-here/c/NAS/x", "/elsewhere/y",
                 "--query", "[].{i: input, ns: namespace_path}", "-o", "tsv")
    assert proc.returncode == 1, proc.stderr  # /elsewhere/y is on no cache mount
    assert proc.stdout.splitlines() == ["/hpccache-test-not-here/c/NAS/x\t/NAS/x",
                                        "/elsewhere/y\tNone"]
    assert "1 of 2 path(s) not translated" in proc.stderr


def test_a_bad_query_is_one_line_before_anything_is_read(tmp_path: Path) -> None:
    proc = _path(tmp_path, "--from-file", str(tmp_path / "missing.txt"), "--query", "[")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--query '[' is not valid JMESPath" in lines[0], proc.stderr
    assert proc.stdout == ""
