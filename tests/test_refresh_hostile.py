"""``hpccache refresh -r`` against a hostile NFS server (issue 19's rules, applied to the
refresh's own tree walk): a directory that names its parent (or itself) as an entry is a
loop, and a listing that breaks READDIRPLUS's rules fails its directory. Without these the
walk went round the loop for ever, reporting ``d/sub/sub/...`` directories that do not exist.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hostile_tree_support import DIR, EXPORT, TreeServer, tree_server_thread
from test_flush_support import run_cli as run

from hpccache_cli.errors import EXIT_SOME_FAILED


def _refresh(server: TreeServer, tmp_path: Path) -> tuple[int, str, dict[str, dict[str, str]]]:
    report = tmp_path / "report.jsonl"
    with tree_server_thread(server):
        env = {**os.environ, "HPCCACHE_MOUNT_PORT": str(server.port),
               "HPCCACHE_NFS_PORT": str(server.port)}
        proc = run(["refresh", "--ip", "127.0.0.1", "--export", os.fsdecode(EXPORT), "-r", "d",
                    "--timeout", "10", "--report", str(report)], env)
    rows = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    return proc.returncode, proc.stderr.decode(), {r["path"]: r for r in rows}


def test_a_directory_naming_its_parent_is_not_walked_round(tmp_path: Path) -> None:
    server = TreeServer()
    d = server.add("d", DIR)
    server.add("d/f1")
    server.link(d, b"sub", d)  # d/sub is d again
    code, err, got = _refresh(server, tmp_path)
    assert code == EXIT_SOME_FAILED, err
    assert set(got) == {"d", "d/sub"}, sorted(got)
    assert got["d"]["outcome"] == "refreshed"
    assert got["d/sub"]["outcome"] == "failed"
    assert "already listed (same handle)" in got["d/sub"]["reason"]
    assert server.readdirs <= 3 and "Traceback" not in err


def test_a_grandchild_pointing_back_is_refused_too(tmp_path: Path) -> None:
    server = TreeServer()
    d = server.add("d", DIR)
    server.link(server.add("d/a", DIR), b"back", d)
    code, err, got = _refresh(server, tmp_path)
    assert code == EXIT_SOME_FAILED, err
    assert set(got) == {"d", "d/a", "d/a/back"}, sorted(got)
    assert got["d/a"]["outcome"] == "refreshed"
    assert "a loop" in got["d/a/back"]["reason"]


def test_a_cookie_loop_fails_the_directory(tmp_path: Path) -> None:
    server = TreeServer()
    d = server.add("d", DIR)
    server.add("d/f1")
    first = server.entry(b"f1", server.handle("d/f1"), 5)
    server.pagers[d] = lambda cookie: ([first], False)  # the same page forever
    code, err, got = _refresh(server, tmp_path)
    assert code == EXIT_SOME_FAILED, err
    assert got["d"]["outcome"] == "failed"
    assert "twice: the listing loops" in got["d"]["reason"], got["d"]["reason"]
    assert server.readdirs <= 3
