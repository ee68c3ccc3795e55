"""``hpccache flush -r`` as a user and a pipeline see it (issue 19, "Recursion trusts the
server"): a directory is not a path (a clean run is not "SucceededWithIssues" under
``TF_BUILD``, its totals count files), a directory whose listing the server broke is the one
line of ``--failed-to``, progress claims no percentage while a listing runs, and the
emulator's ``denied_paths`` refuse a file however it is reached.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from bounded_support import run_bounded
from hostile_tree_support import DIR, EXPORT, TreeServer, tree_server_thread
from pipeline_support import commands, issues, read_report, variables
from test_flush_support import (
    FAST,
    assert_written_back,
    backend_file,
    by_path,
    cli_env,
    dirty_cache,
    emulator,
    flush,
)
from test_flush_support import run_cli as run
from test_nfs_transport import DEADLINE

from hpccache_cli.cli.flush.progress import progress_line
from hpccache_cli.errors import EXIT_OK, EXIT_SOME_FAILED
from hpccache_cli.flush.api import make_options
from hpccache_cli.flush.engine import FlushEngine
from hpccache_cli.flush.inputs import IterableSource
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.results import FlushSummary, Outcome

A1 = "127.0.0.57"
J = "/NAS_12_exp5"


def test_a_clean_recursive_run_in_a_pipeline_has_no_issue_and_counts_files(
    tmp_path: Path,
) -> None:
    names = dirty_cache(tmp_path, [f"r/f{i}" for i in range(4)] + ["r/s/t/g"])
    report = tmp_path / "report.jsonl"
    with emulator(tmp_path, [A1]) as emu:
        env = {**cli_env(emu), "TF_BUILD": "True"}
        proc = run(["flush", "--ip", A1, "--export", J, "-r", "r", "-o", "json",
                    "--report", str(report)], env)
    assert proc.returncode == EXIT_OK, proc.stderr
    cmds = commands(proc.stdout.decode() + proc.stderr.decode())
    assert issues(cmds, "warning") == [] and issues(cmds, "error") == []  # was "Skipped: r"
    assert not [c for c in cmds if c[0] == "task.complete"]
    counts = variables(cmds)
    assert counts["total"] == counts["flushed"] == 5 and counts["skipped"] == 0
    summary = json.loads(proc.stdout)
    assert summary["total"] == summary["flushed"] == 5 and summary["skipped"] == 0
    assert sorted(r["path"] for r in read_report(report)) == sorted(map(os.fsdecode, names))
    assert_written_back(tmp_path, names)


def test_a_broken_listing_puts_only_its_directory_in_the_failed_list(tmp_path: Path) -> None:
    """An entry named ``a/b`` that is really another file: neither ``d/a/b`` nor that file
    is reported; ``d`` fails and is what ``--failed-to`` holds for the next run."""
    server = TreeServer()
    d = server.add("d", DIR)
    server.add("d/f1")
    server.link(d, b"a/b", server.add("other"))
    failed, report = tmp_path / "failed.lst", tmp_path / "report.jsonl"
    with tree_server_thread(server):
        env = {**os.environ, "HPCCACHE_MOUNT_PORT": str(server.port),
               "HPCCACHE_NFS_PORT": str(server.port)}
        proc = run(["flush", "--ip", "127.0.0.1", "--export", os.fsdecode(EXPORT), "-r", "d",
                    "--failed-to", str(failed), "--report", str(report)], env)
    err = proc.stderr.decode()
    assert proc.returncode == EXIT_SOME_FAILED, err
    assert failed.read_bytes() == b"d\n"
    got = {r["path"]: r for r in read_report(report)}
    assert set(got) == {"d", "d/f1"} and got["d/f1"]["outcome"] == "flushed"
    assert "READDIRPLUS named an entry 'a/b' (a name with '/' in it)" in got["d"]["reason"]
    assert "failed d: listed 1 file, but could not list 'd': " in err
    assert "Traceback" not in err


def test_progress_gives_no_percentage_while_a_listing_runs() -> None:
    """The first page's files are all flushed while the rest of the listing is held: the
    progress line must not read as done ("3 of 3 done (100%)"), and says a listing runs."""
    server = TreeServer(page=4)  # '.', '..' and two files a page
    server.add("d", DIR)
    for i in range(5):
        server.add(f"d/f{i}")
    server.hold_cookies = True
    lines: list[str] = []

    async def body() -> FlushSummary:
        await server.start()
        try:
            options = make_options(mount_port=server.port, nfs_port=server.port,
                                   policies=FAST, recursive=True)
            engine = FlushEngine(ExportResolver(["127.0.0.1"], EXPORT), options, collect=True)
            run_task = asyncio.ensure_future(engine.run(IterableSource([b"d"])))
            s = engine.summary
            await server.wait_for(lambda: bool(server.held) and s.count(Outcome.FLUSHED) == 2)
            lines.append(progress_line(s))
            assert s.total_estimate is None
            server.release()
            return await asyncio.wait_for(run_task, DEADLINE)
        finally:
            await server.stop()

    summary = run_bounded(body())
    assert lines == ["progress: 2 of 3+ done, 0 failed, listing 1 directory"]
    assert summary.total == summary.count(Outcome.FLUSHED) == 5 and summary.exit_code == 0
    assert progress_line(summary) == "progress: 5 of 5 done (100%), 0 failed"


def test_denied_paths_refuse_a_file_reached_through_a_listing(tmp_path: Path) -> None:
    """The emulator's ``denied_paths`` used to act on LOOKUP alone: ``-r`` flushed the
    denied files through the handles READDIRPLUS gave. Now any call on them is refused."""
    names = dirty_cache(tmp_path, ["t/open/a", "t/locked/b", "t/locked/sub/c", "t/mixed/x",
                                   "t/mixed/no"])
    denied = [f"{J}/t/locked", f"{J}/t/mixed/no"]
    with emulator(tmp_path, [A1], faults={"denied_paths": denied}) as emu:
        summary = flush(emu, [b"t"], recursive=True)
    got = by_path(summary)
    assert got[b"t/open/a"].outcome is got[b"t/mixed/x"].outcome is Outcome.FLUSHED
    assert got[b"t/mixed/no"].outcome is Outcome.FAILED
    assert "NFS3ERR_ACCES" in got[b"t/mixed/no"].reason
    assert got[b"t"].outcome is Outcome.FAILED  # 't/locked' could not be listed
    assert "could not list 't/locked'" in got[b"t"].reason and "ACCES" in got[b"t"].reason
    assert b"t/locked/b" not in got and b"t/locked/sub/c" not in got
    assert_written_back(tmp_path, [names[0], names[3]])
    assert not any(os.path.exists(backend_file(tmp_path, n)) for n in names[1:3] + names[4:])
