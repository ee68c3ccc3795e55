"""``hpccache amlfs state`` as a user runs it, against the emulated Lustre client (its ``lfs``
on PATH, a copytool into Azurite) and the fake ARM: every verdict, the Blob-only mode, the
report, the exit codes and the one-line refusals."""

from __future__ import annotations

import json
import os
from pathlib import Path

from aml_support import FS, RG
from arm_support import error_line, run_hpccache
from lustre_support import LustreWorld, wait_for

from hpccache_cli.emulator.aml import hsm_store
from hpccache_cli.lustre.hsm import LfsCommand


def lfs(lw: LustreWorld) -> LfsCommand:
    return LfsCommand(str(lw.client.bin_dir / "lfs"))


def archive(lw: LustreWorld, *paths: str) -> None:
    """Archive through the product's lfs path and wait until the copytool is done with them."""
    side = lfs(lw)
    assert side.archive(list(paths)) == {}
    wait_for(lambda: all(a.action == "NOOP" for a in side.actions(list(paths)).values()),
             "the copytool to take the archives")


def state(lw: LustreWorld, tmp: Path, *args: str) -> object:
    return run_hpccache(lw.env(tmp), "amlfs", "state", *args, timeout=120)


def verdicts_of(proc: object) -> dict[str, dict[str, object]]:
    return {Path(str(r["path"])).name: r for r in json.loads(proc.stdout)}  # type: ignore[attr-defined]


def test_every_verdict_with_a_lustre_client(lw: LustreWorld, tmp_path: Path) -> None:
    p = {n: lw.write(f"run/{n}", n.encode() * 10) for n in
         ("current", "dirty", "never", "running", "released", "lost", "old", "meta", "noblob",
          "mismatch")}
    lw.client.faults.lost_paths = ["run/lost"]
    lw.client.faults.delete_blob_paths = ["run/noblob"]
    archive(lw, *(p[n] for n in ("current", "dirty", "released", "lost", "old", "meta",
                                 "noblob", "mismatch")))
    with open(p["dirty"], "ab") as fh:
        fh.write(b"more")
    assert lfs(lw).states([p["released"]])
    assert os.system(f"{lw.client.bin_dir}/lfs hsm_release {p['released']}") == 0
    renamed = str(lw.root / "run" / "new")
    os.rename(p["old"], renamed)
    os.chmod(p["meta"], 0o600)
    blob = lw.aml.container.get_blob_client("run/mismatch")
    meta = blob.get_blob_properties().metadata
    blob.upload_blob(b"short", overwrite=True, metadata=meta)
    lw.client.faults.hold = True
    assert lfs(lw).archive([p["running"]]) == {}
    files = [p[n] for n in ("current", "dirty", "never", "running", "released", "lost", "meta",
                            "noblob", "mismatch")] + [renamed]
    proc = state(lw, tmp_path, *files, "-o", "json", "--report", str(tmp_path / "r.jsonl"))
    assert proc.returncode == 1, proc.stderr
    got = {k: v["verdict"] for k, v in verdicts_of(proc).items()}
    assert got == {"current": "current", "dirty": "dirty", "never": "never-archived",
                   "running": "archive-running", "released": "released", "lost": "lost",
                   "new": "renamed", "meta": "metadata-changed", "noblob": "no-blob",
                   "mismatch": "blob-mismatch"}
    rows = verdicts_of(proc)
    assert rows["new"]["oldBlobName"] == "run/old"
    assert "permissions 0644 -> 0600" in str(rows["meta"]["detail"])
    assert rows["current"]["hsmFlags"] == "0x00000009" and rows["current"]["current"] is True
    assert "BROKEN PROMISE: 2 file(s)" in proc.stderr
    assert "10 file(s):" in proc.stderr
    report = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert len(report) == 10 and {r["verdict"] for r in report} >= {"current", "renamed"}
    lw.client.faults.hold = False


def test_exit_zero_only_when_every_file_is_current(lw: LustreWorld, tmp_path: Path) -> None:
    a, b = lw.write("ok/a", b"a"), lw.write("ok/sub/b", b"bb")
    archive(lw, a, b)
    proc = state(lw, tmp_path, str(lw.root / "ok"), "-r", "-o", "table")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "in Blob and current" in proc.stdout and "2 file(s): 2 in Blob" in proc.stderr
    lw.write("ok/c", b"new")
    proc = state(lw, tmp_path, str(lw.root / "ok"), "-r", "-o", "json")
    assert proc.returncode == 1 and verdicts_of(proc)["c"]["verdict"] == "never-archived"


def test_paths_from_stdin_nul_separated(lw: LustreWorld, tmp_path: Path) -> None:
    a, b = lw.write("in/a b", b"a"), lw.write("in/c", b"c")
    archive(lw, a)
    env = lw.env(tmp_path)
    import subprocess
    import sys
    full = {**os.environ, **{k: v for k, v in env.items() if v is not None},
            "PYTHONPATH": str(Path(__file__).parent.parent)}
    proc = subprocess.run([sys.executable, "-m", "hpccache_cli", "amlfs", "state", "-0", "-o",
                           "json"], input=f"{a}\0{b}\0".encode(), env=full, capture_output=True,
                          timeout=120, check=False)
    got = {Path(r["path"]).name: r["verdict"] for r in json.loads(proc.stdout)}
    assert got == {"a b": "current", "c": "never-archived"}, proc.stderr


def test_without_a_lustre_client_only_the_blob_side_is_known(lw: LustreWorld,
                                                             tmp_path: Path) -> None:
    a = lw.write("agent/a", b"a")
    lw.write("agent/b", b"b")
    archive(lw, a)
    env = {**lw.env(tmp_path), "PATH": os.environ.get("PATH", "")}  # no lfs here
    empty = tmp_path / "mountinfo"
    empty.write_text("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n")
    proc = run_hpccache(env, "amlfs", "state", "-n", FS, "-g", RG, "/agent/a", "/agent/b",
                        "-o", "json", "--mountinfo", str(empty), timeout=120)
    got = {r["filesystemPath"]: r for r in json.loads(proc.stdout)}
    assert got["/agent/a"]["verdict"] == "in-blob-unverified"
    assert got["/agent/b"]["verdict"] == "no-blob-unverified"
    assert got["/agent/a"]["hsmFlags"] is None
    assert proc.returncode == 1
    proc = run_hpccache(env, "amlfs", "state", "-n", FS, "-g", RG, "/agent/", "-r", "-o",
                        "json", "--mountinfo", str(empty), timeout=120)
    assert [r["filesystemPath"] for r in json.loads(proc.stdout)] == ["/agent/a"]
    assert proc.returncode == 0, proc.stderr


def test_a_missing_file_is_an_error_verdict(lw: LustreWorld, tmp_path: Path) -> None:
    proc = state(lw, tmp_path, str(lw.root / "nope"), "-o", "json")
    row = json.loads(proc.stdout)[0]
    assert proc.returncode == 1 and row["verdict"] == "error" and "no such file" in row["detail"]


def test_a_path_not_on_lustre_is_one_line(lw: LustreWorld, tmp_path: Path) -> None:
    line = error_line(state(lw, tmp_path, str(tmp_path)), 2)
    assert "not on a Lustre mount" in line and "-n FS -g RG" in line


def test_no_lfs_on_a_client_path_is_one_line(lw: LustreWorld, tmp_path: Path) -> None:
    a = lw.write("x/a", b"a")
    env = {**lw.env(tmp_path), "PATH": "/usr/bin:/bin"}
    line = error_line(run_hpccache(env, "amlfs", "state", a, timeout=120), 2)
    assert "lfs is not installed" in line


def test_the_emulated_store_keeps_state_on_the_inode(lw: LustreWorld) -> None:
    a = lw.write("ino/a", b"a")
    archive(lw, a)
    conn = hsm_store.connect(lw.client.db)
    try:
        r = hsm_store.row(conn, os.stat(a).st_ino)
    finally:
        conn.close()
    assert r.flags == 0x9 and r.arch_size == 1


def test_many_directories_are_read_in_one_tree_listing(lw: LustreWorld) -> None:
    """Past SPREAD directories the Blob side is one recursive listing: same verdicts."""
    from hpccache_cli.lustre.mounts import LustreMounts
    from hpccache_cli.lustre.state import SPREAD, Target, judge_files
    from hpccache_cli.paths.mountinfo import MountTable

    paths = [lw.write(f"tree/d{i:02d}/f", b"t") for i in range(SPREAD + 4)]
    archive(lw, *paths[1:])
    lw.aml.container.delete_blob("tree/d05/f")
    mounts = LustreMounts(MountTable.load(lw.client.mountinfo))
    targets = []
    for p in paths:
        m = mounts.find(p)
        assert m is not None
        targets.append(Target(p, m.fs_path(p), p, m))
    got = [v.verdict.value for v in judge_files(targets, lfs(lw), lw.aml.container)]
    assert got[0] == "never-archived" and got[5] == "no-blob"
    assert set(got[1:5] + got[6:]) == {"current"}


def test_paths_from_a_file(lw: LustreWorld, tmp_path: Path) -> None:
    a = lw.write("ff/a", b"a")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{a}\n")
    proc = state(lw, tmp_path, "--from-file", str(listing), "-o", "json")
    assert [r["verdict"] for r in json.loads(proc.stdout)] == ["never-archived"]


def test_a_broken_connection_string_is_one_line(lw: LustreWorld, tmp_path: Path) -> None:
    a = lw.write("cs/a", b"a")
    line = error_line(state(lw, tmp_path, a, "--connection-string", "nonsense"), 2)
    assert "connection string" in line


def test_a_container_that_refuses_us_is_one_line(lw: LustreWorld, tmp_path: Path) -> None:
    a = lw.write("deny/a", b"a")
    wrong = lw.connection_string.replace("AccountKey=Eby8", "AccountKey=AAAA")
    line = error_line(state(lw, tmp_path, a, "--connection-string", wrong), 3)
    assert "cannot list blobs" in line
