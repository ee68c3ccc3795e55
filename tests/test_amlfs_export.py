"""``hpccache amlfs export`` as a user runs it, against the emulated Lustre client and Azurite:
only the files that need it are archived, every file is verified in Blob, and every way an
export fails is reported with its reason (flush's records, exit codes and pipeline mode)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from aml_support import FS, RG
from arm_support import error_line, run_hpccache
from lustre_support import LustreWorld, wait_for

from hpccache_cli.lustre.hsm import LfsCommand


def export(lw: LustreWorld, tmp: Path, *args: str, env: dict[str, str | None] | None = None
           ) -> object:
    return run_hpccache({**lw.env(tmp), **(env or {})}, "amlfs", "export", *args, timeout=180)


def archive(lw: LustreWorld, *paths: str) -> None:
    side = LfsCommand(str(lw.client.bin_dir / "lfs"))
    assert side.archive(list(paths)) == {}
    wait_for(lambda: all(a.action == "NOOP" for a in side.actions(list(paths)).values()),
             "the copytool")


def report(path: Path) -> dict[str, dict[str, object]]:
    return {Path(str(r["path"])).name: r for r in
            (json.loads(line) for line in path.read_text().splitlines())}


def test_wait_archives_only_what_needs_it_and_verifies_every_blob(lw: LustreWorld,
                                                                  tmp_path: Path) -> None:
    done = lw.write("job/done", b"old")
    archive(lw, done)
    before = lw.client.archived_count
    dirty = lw.write("job/dirty", b"v1")
    archive(lw, dirty)
    with open(dirty, "ab") as fh:
        fh.write(b"-v2")
    new = [lw.write(f"job/sub/{i}", bytes([i]) * (i + 1)) for i in range(20)]
    proc = export(lw, tmp_path, str(lw.root / "job"), "-r", "--wait", "--report",
                  str(tmp_path / "r.jsonl"), "--junit", str(tmp_path / "j.xml"))
    assert proc.returncode == 0, proc.stderr
    got = report(tmp_path / "r.jsonl")
    assert got["done"]["outcome"] == "clean" and got["done"]["kind"] == "already-current"
    assert got["dirty"]["outcome"] == "flushed" and got["0"]["outcome"] == "flushed"
    assert lw.client.archived_count - before == 1 + 1 + 20  # dirty's first archive, then 21
    blobs = lw.aml.blobs()
    assert blobs["job/dirty"] == b"v1-v2" and all(
        blobs[f"job/sub/{i}"] == Path(p).read_bytes() for i, p in enumerate(new))
    assert "22 file(s): 21 exported, 1 already current" in proc.stderr
    assert 'tests="22"' in (tmp_path / "j.xml").read_text()


def test_no_wait_queues_and_says_so(lw: LustreWorld, tmp_path: Path) -> None:
    lw.client.faults.hold = True
    a = lw.write("q/a", b"a")
    proc = export(lw, tmp_path, a, "--report", str(tmp_path / "r.jsonl"))
    assert proc.returncode == 0, proc.stderr
    assert report(tmp_path / "r.jsonl")["a"]["outcome"] == "started"
    assert "1 queued" in proc.stderr
    lw.client.faults.hold = False


def test_every_failure_is_reported_with_its_reason(lw: LustreWorld, tmp_path: Path) -> None:
    p = {n: lw.write(f"bad/{n}", n.encode() * 3) for n in
         ("fails", "lost", "noblob", "old", "meta", "ok")}
    archive(lw, p["old"], p["meta"])
    os.rename(p["old"], str(lw.root / "bad" / "renamed"))
    os.chmod(p["meta"], 0o600)
    lw.client.faults.fail_paths = ["bad/fails"]
    lw.client.faults.lost_paths = ["bad/lost"]
    lw.client.faults.delete_blob_paths = ["bad/noblob"]
    files = [p[n] for n in ("fails", "lost", "noblob", "meta", "ok")]
    files += [str(lw.root / "bad" / "renamed"), str(lw.root / "bad" / "missing")]
    proc = export(lw, tmp_path, *files, "--wait", "--retries", "1", "--report",
                  str(tmp_path / "r.jsonl"), "--failed-to", str(tmp_path / "failed.txt"))
    assert proc.returncode == 1, proc.stderr
    got = report(tmp_path / "r.jsonl")
    kinds = {n: (r["outcome"], r.get("kind")) for n, r in got.items()}
    assert kinds == {"fails": ("failed", "archive-failed"), "lost": ("failed", "lost"),
                     "noblob": ("failed", "no-blob"), "meta": ("failed", "not-exportable"),
                     "ok": ("flushed", "exported"), "renamed": ("failed", "not-exportable"),
                     "missing": ("failed", "error")}
    assert got["fails"]["attempts"] == 2 and "copytool failed it" in str(got["fails"]["reason"])
    assert "BROKEN PROMISE" in str(got["noblob"]["reason"])
    assert "bad/old" in str(got["renamed"]["reason"])
    assert "permissions" in str(got["meta"]["reason"])
    failed = set((tmp_path / "failed.txt").read_text().split())
    assert failed == set(files) - {p["ok"]}


def test_a_slow_copytool_times_out_per_file(lw: LustreWorld, tmp_path: Path) -> None:
    lw.client.faults.delay = 30.0
    a = lw.write("slow/a", b"a")
    proc = export(lw, tmp_path, a, "--wait", "--timeout", "1", "--report",
                  str(tmp_path / "r.jsonl"))
    assert proc.returncode == 1
    row = report(tmp_path / "r.jsonl")["a"]
    assert row["kind"] == "timeout" and "ARCHIVE running" in str(row["reason"])
    lw.client.faults.delay = 0.0


def test_allow_partial_and_pipeline_logging(lw: LustreWorld, tmp_path: Path) -> None:
    lw.client.faults.fail_paths = ["pipe/x"]
    x = lw.write("pipe/x", b"x")
    proc = export(lw, tmp_path, x, "--wait", "--retries", "0", "--allow-partial",
                  env={"TF_BUILD": "True"})
    assert proc.returncode == 0, proc.stderr
    assert "##vso[task.logissue type=error" in proc.stdout
    assert "SucceededWithIssues" in proc.stdout


def test_shards_split_the_files_between_jobs(lw: LustreWorld, tmp_path: Path) -> None:
    files = [lw.write(f"sh/{i}", b"s") for i in range(12)]
    seen: list[str] = []
    for k in (1, 2):
        out = tmp_path / f"r{k}.jsonl"
        proc = export(lw, tmp_path, *files, "--wait", "--shard", f"{k}/2", "--report", str(out))
        assert proc.returncode == 0, proc.stderr
        seen += [str(json.loads(line)["path"]) for line in out.read_text().splitlines()]
    assert sorted(seen) == sorted(files)


def test_via_archive_job_without_a_lustre_client(lw: LustreWorld, tmp_path: Path) -> None:
    lw.write("agent/a", b"a")
    lw.write("agent/b/c", b"c")
    empty = tmp_path / "mountinfo"
    empty.write_text("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n")
    env: dict[str, str | None] = {"PATH": os.environ.get("PATH", "")}
    proc = export(lw, tmp_path, "-n", FS, "-g", RG, "--via", "archive-job", "/agent/a",
                  "/agent/b/c", "/agent/none", "--mountinfo", str(empty), "--report",
                  str(tmp_path / "r.jsonl"), env=env)
    assert proc.returncode == 1, proc.stderr
    got = report(tmp_path / "r.jsonl")
    assert got["a"]["outcome"] == "flushed" and got["a"]["kind"] == "in-blob"
    assert got["none"]["kind"] == "no-blob" and "Completed" in str(got["none"]["reason"])
    assert lw.aml.blobs()["agent/b/c"] == b"c"


def test_via_lfs_without_a_client_is_one_line(lw: LustreWorld, tmp_path: Path) -> None:
    empty = tmp_path / "mountinfo"
    empty.write_text("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n")
    line = error_line(export(lw, tmp_path, "-n", FS, "-g", RG, "/x", "--mountinfo",
                             str(empty)), 2)
    assert "--via archive-job" in line


@pytest.mark.parametrize(("args", "words"), [
    (["--via", "tape"], "--via 'tape'"),
    (["--timeout", "0"], "--timeout must be above 0"),
])
def test_bad_options_are_one_line(lw: LustreWorld, tmp_path: Path, args: list[str],
                                  words: str) -> None:
    a = lw.write("o/a", b"a")
    assert words in error_line(export(lw, tmp_path, a, *args), 2)


def test_an_interrupted_wait_writes_its_records_and_exits_130(lw: LustreWorld,
                                                             tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    lw.client.faults.hold = True
    a = lw.write("int/a", b"a")
    env = {**os.environ, **{k: v for k, v in lw.env(tmp_path).items() if v is not None},
           "PYTHONPATH": str(Path(__file__).parent.parent)}
    for k, v in lw.env(tmp_path).items():
        if v is None:
            env.pop(k, None)
    out = tmp_path / "r.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "hpccache_cli", "amlfs", "export", a,
                             "--wait", "--report", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    side = LfsCommand(str(lw.client.bin_dir / "lfs"))
    wait_for(lambda: getattr(side.actions([a])[a], "pending_archive", False),
             "the archive request")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert report(out)["a"]["outcome"] == "unfinished"
    lw.client.faults.hold = False


def test_a_refused_request_is_a_queue_failure(lw: LustreWorld, tmp_path: Path) -> None:
    a, b = lw.write("ref/a", b"a"), lw.write("ref/b", b"b")
    lw.client.set_coordinator(False)
    proc = export(lw, tmp_path, a, b, "--wait", "--report", str(tmp_path / "r.jsonl"))
    lw.client.set_coordinator(True)
    assert proc.returncode == 1
    rows = report(tmp_path / "r.jsonl")
    assert {r["kind"] for r in rows.values()} == {"queue"}
    assert "Operation not supported" in str(rows["a"]["reason"])


def test_a_file_named_twice_is_exported_once(lw: LustreWorld, tmp_path: Path) -> None:
    a = lw.write("twice/a", b"a")
    proc = export(lw, tmp_path, a, a, "--wait", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["total"] == 1 and summary["flushed"] == 1
    assert lw.client.archived_count == 1


def test_a_container_that_refuses_us_stops_before_queueing(lw: LustreWorld,
                                                           tmp_path: Path) -> None:
    a = lw.write("deny/a", b"a")
    wrong = lw.connection_string.replace("AccountKey=Eby8", "AccountKey=AAAA")
    line = error_line(export(lw, tmp_path, a, "--wait", "--connection-string", wrong), 3)
    assert "cannot list blobs" in line and lw.client.archived_count == 0
