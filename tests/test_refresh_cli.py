"""``hpccache refresh`` as users run it (a subprocess) against the emulator and the fake ARM:
a file changed directly on the back end is stale in the cache -> refresh -> fresh; dirty
copies are left alone; usage models shown and 30-s targets skipped unless --force; reports,
exit codes and one-line errors as the flush's."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from emulator_support import RawRpc, handle_of
from flush_cache_support import (
    A_JUNCTION,
    A_ROOT,
    BY_NAME,
    World,
    mountinfo,
    one_error_line,
    report_of,
    run,
    world,
)
from test_flush_support import CLI

from hpccache_cli.nfs import nfs3

NAS = "/NAS_12_exp5"
EXPORT = ["--ip", A_ROOT, "--ip", A_JUNCTION, "--export", NAS]


def served(w: World, ns_path: str) -> bytes:
    """The bytes the cache serves for ``ns_path`` now (LOOKUP + READ over NFS)."""
    with RawRpc(A_ROOT, w.emu.ports.nfs) as nfs:
        fh = handle_of(w.emu, nfs, A_ROOT, ns_path)
        ok = nfs3.ok_body(nfs.nfs(nfs3.READ, nfs3.ReadArgs(fh, 0, 1 << 16)), "READ")
        return bytes(ok.data)


def cached_then_changed_on_the_nas(w: World, *ns_paths: str) -> None:
    """Each file written through the cache and written back, then changed on the back end
    directly: the cache still serves its own (stale) copy."""
    w.dirty(*ns_paths)
    w.emu.call(w.emu.namespace.flush_all)
    for ns in ns_paths:
        assert served(w, ns) == w.cache_file(ns).read_bytes()
        w.backend_file(ns).write_bytes(b"new on the NAS: " + ns.encode() + b"\n")
        assert served(w, ns).startswith(b"cache copy of ")  # stale: verification is 8 h
        assert not w.emu.namespace.is_dirty(ns)


def test_stale_refresh_fresh_and_dirty_copies_untouched(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        cached_then_changed_on_the_nas(w, f"{NAS}/in/a", f"{NAS}/in/b", f"{NAS}/other/c")
        w.dirty(f"{NAS}/in/dirty")  # written by a client, not written back yet
        w.emu.call(w.emu.namespace.flush_all)
        w.cache_file(f"{NAS}/in/dirty", b"newer in the cache than on the NAS\n")
        w.backend_file(f"{NAS}/in/dirty").write_bytes(b"changed on the NAS too\n")
        # a file means its directory: in/a and in/b share one pass; other/ is named itself
        before = w.emu.emulator.rpc_counts().get("NFS.READDIRPLUS", 0)
        proc = run(["refresh", *EXPORT, "--report", str(report), "in/a", "in/b", "other"],
                   w.env())
        assert proc.returncode == 0, proc.stderr
        passes = w.emu.emulator.rpc_counts()["NFS.READDIRPLUS"] - before
        assert passes == 2  # one pass per directory
        for ns in (f"{NAS}/in/a", f"{NAS}/in/b", f"{NAS}/other/c"):
            assert served(w, ns) == b"new on the NAS: " + ns.encode() + b"\n"
        assert served(w, f"{NAS}/in/dirty") == b"newer in the cache than on the NAS\n"
        assert w.emu.namespace.is_dirty(f"{NAS}/in/dirty")
        assert w.emu.namespace.verifier.dropped == 3
    lines = report_of(report)
    assert {p: x["outcome"] for p, x in lines.items()} == {
        "in/a": "refreshed", "in/b": "refreshed", "other": "refreshed"}
    assert lines["in/a"]["reason"] == "its directory 'in' listed to the end: 3 entries compared"
    assert "one pass with an earlier path" in lines["in/b"]["reason"]
    out = proc.stdout.decode()
    assert out.startswith("refresh of 3 paths in ") and "refreshed: 3" in out
    assert "usage models: not known without Azure" in out


def test_recursive_lists_every_directory_below(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        deep = f"{NAS}/tree/x/y/z/f"
        cached_then_changed_on_the_nas(w, deep, f"{NAS}/tree/top")
        proc = run(["refresh", *EXPORT, "-r", "-o", "json", "--report", str(report),
                    f"{NAS}/tree"], w.env())  # the namespace reading of /NAS_12_exp5/tree
        assert proc.returncode == 0, proc.stderr
        assert served(w, deep) == b"new on the NAS: " + deep.encode() + b"\n"
    summary = json.loads(proc.stdout)
    assert (summary["total"], summary["refreshed"], summary["failed"]) == (4, 4, 0)
    assert "flushed" not in summary and summary["mode"] == "refresh"
    assert sorted(report_of(report)) == [f"{NAS}/tree", f"{NAS}/tree/x", f"{NAS}/tree/x/y",
                                         f"{NAS}/tree/x/y/z"]


def test_usage_models_are_shown_and_30_s_targets_skipped_unless_forced(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        cached_then_changed_on_the_nas(w, f"{NAS}/d/f")
        w.backend_file("/ro/x").parent.mkdir(parents=True, exist_ok=True)
        w.backend_file("/ro/x").write_bytes(b"ro\n")
        args = ["refresh", *BY_NAME, "--report", str(report), f"{NAS}/d", "/ro"]
        proc = run(args, w.env())
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout.decode()
        assert ("storage target nas1 (/NAS_12_exp5): usage model WRITE_WORKLOAD_15, "
                "verifies the back end every 8 h") in out
        assert ("storage target ro1 (/ro): usage model READ_ONLY, verifies the back end every "
                "30 s: no refresh needed, its paths are skipped (--force refreshes them)") in out
        lines = report_of(report)
        assert lines[f"{NAS}/d"]["outcome"] == "refreshed"
        assert lines["/ro"]["outcome"] == "skipped"
        assert "READ_ONLY" in lines["/ro"]["reason"] and "--force" in lines["/ro"]["reason"]
        assert served(w, f"{NAS}/d/f") == f"new on the NAS: {NAS}/d/f\n".encode()
        forced = run([*args, "--force", "-o", "json"], w.env())
        assert forced.returncode == 0, forced.stderr
        data = json.loads(forced.stdout)
        assert data["refreshed"] == 2
        targets = {t["storage_target"]: t for t in data["targets"]}
        assert targets["ro1"]["verify_seconds"] == 30 and not targets["ro1"]["skipped"]
        assert targets["nas1"]["usage_model"] == "WRITE_WORKLOAD_15"


def test_client_paths_stdin_nul_and_failures(tmp_path: Path) -> None:
    table, root, nas = mountinfo(tmp_path)
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        cached_then_changed_on_the_nas(w, f"{NAS}/c/f")
        data = b"\0".join([str(nas / "c/f").encode(), str(root / "NAS_12_exp5/c").encode(),
                           str(nas / "missing").encode()]) + b"\0"
        proc = run(["refresh", "-0", "--mountinfo", str(table), "--report", str(report)],
                   w.env(), data)
        assert proc.returncode == 1, proc.stderr
        assert served(w, f"{NAS}/c/f") == f"new on the NAS: {NAS}/c/f\n".encode()
    outcomes = {p: x["outcome"] for p, x in report_of(report).items()}
    assert outcomes == {str(nas / "c/f"): "refreshed", str(root / "NAS_12_exp5/c"): "refreshed",
                        str(nas / "missing"): "failed"}


def test_shards_split_the_list(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        dirs = [f"d{i}" for i in range(12)]
        for d in dirs:
            w.dirty(f"{NAS}/{d}/f")
        seen: list[str] = []
        for k in (1, 2, 3):
            report = tmp_path / f"r{k}.jsonl"
            proc = run(["refresh", *EXPORT, "--shard", f"{k}/3", "--report", str(report),
                        *dirs], w.env())
            assert proc.returncode == 0, proc.stderr
            seen += list(report_of(report))
    assert sorted(seen) == sorted(dirs)  # each directory refreshed by exactly one job


def test_errors_are_one_line_with_their_exit_code(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        env = w.env()
        line = one_error_line(run(["refresh", "--export", NAS, "d"], env))
        assert "--export needs the cache's mount addresses" in line
        assert "--shard auto" in one_error_line(run(
            ["refresh", *EXPORT, "--shard", "auto", "d"],
            env | {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3",
                   "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "8",
                   "SLURM_ARRAY_TASK_STEP": "1"}))
        down = run(["refresh", "--ip", "127.0.0.63", "--export", NAS, "--timeout", "5", "d"],
                   env)
        assert down.returncode == 4, down.stderr
        assert down.stderr.decode().strip().splitlines()[-1].startswith(
            "hpccache: error: cache unreachable")


def test_ctrl_c_accounts_for_every_path(tmp_path: Path) -> None:
    """SIGINT: directories in flight and the rest of the list end as unfinished, the report
    and failed list are written, exit 130."""
    listing, report, failed = (tmp_path / n for n in ("list.txt", "report.jsonl", "failed"))
    dirs = [f"slow{i:02d}" for i in range(40)]
    listing.write_text("".join(d + "\n" for d in dirs))
    with world(tmp_path, faults={"latency_ms": 150}) as w:
        for d in dirs:
            w.dirty(f"{NAS}/{d}/f")
        proc = subprocess.Popen(
            [*CLI, "refresh", *EXPORT, "-v", "-j", "2", "--from-file", str(listing),
             "--report", str(report), "--failed-to", str(failed)],
            env=w.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the first directory done: then interrupt
            line = proc.stderr.readline()
            if not line or line.startswith(b"refreshed "):
                break
        # Every later reply held (a minute): the run cannot end before the SIGINT lands
        # however loaded the machine (at 150 ms a call, it needed only ~6 s to finish).
        w.emu.faults.latency_ms = 60_000
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = report_of(report)
    assert sorted(lines) == sorted(dirs)  # every path has its one outcome
    outcomes = {x["outcome"] for x in lines.values()}
    assert outcomes == {"refreshed", "unfinished"}
    unfinished = sorted(p for p, x in lines.items() if x["outcome"] == "unfinished")
    assert sorted(failed.read_text().split()) == unfinished
