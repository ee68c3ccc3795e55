"""``hpccache copy`` as users run it (a subprocess) against the emulator (two mount addresses)
and the fake ARM: files and trees land on the storage target with their modes and times, a
rerun skips identical files, links and special files are skipped with a reason, every path
gets one outcome in the report, and bad usage is one line."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

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

NAS = "/NAS_12_exp5"
EXPORT = ["--ip", A_ROOT, "--ip", A_JUNCTION, "--export", NAS]


def tree(base: Path) -> Path:
    """A source tree: files of several sizes (one over 1 MiB), a nested directory, a sparse
    file, a symbolic link, a FIFO and a socket."""
    src = base / "run42"
    (src / "deep" / "er").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"alpha\n")
    (src / "empty").write_bytes(b"")
    (src / "deep" / "b.bin").write_bytes(os.urandom(100_000))
    (src / "deep" / "er" / "large.bin").write_bytes(os.urandom((1 << 20) * 2 + 5))
    with open(src / "sparse.img", "wb") as f:
        f.seek(5 << 20)
        f.write(b"tail")
    os.utime(src / "a.txt", ns=(1_500_000_000_000_000_000, 1_500_000_000_250_000_000))
    os.chmod(src / "a.txt", 0o640)
    (src / "link").symlink_to("a.txt")
    os.mkfifo(src / "fifo")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(src / "sock"))
    return src


def assert_on_target(w: World, src: Path, ns_dir: str) -> int:
    """Every regular file below ``src`` is on the back end under ``ns_dir`` with the same
    bytes, mode and mtime; the count."""
    count = 0
    for dirpath, _, files in os.walk(src):
        for name in files:
            local = Path(dirpath) / name
            st = local.lstat()
            if not stat.S_ISREG(st.st_mode):
                continue
            rel = local.relative_to(src).as_posix()
            back = w.backend_file(f"{ns_dir}/{rel}")
            assert back.read_bytes() == local.read_bytes(), rel
            bst = back.stat()
            assert (bst.st_mode & 0o7777, bst.st_mtime_ns) == (st.st_mode & 0o7777,
                                                              st.st_mtime_ns), rel
            count += 1
    return count


def test_copy_a_tree_by_cache_name_then_a_rerun_skips_everything(tmp_path: Path) -> None:
    src = tree(tmp_path)
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        env = w.env()
        proc = run(["copy", *BY_NAME, str(src), f"{NAS}/incoming", "--report", str(report),
                    "-o", "json"], env)
        assert proc.returncode == 0, proc.stderr.decode()
        data = json.loads(proc.stdout)
        assert (data["mode"], data["copied"], data["failed"]) == ("copy", 8, 0)  # 5 files + 3 dirs
        assert data["skipped"] == 3 and data["bytes_copied"] > 2 << 20
        assert assert_on_target(w, src, f"{NAS}/incoming/run42") == 5
        sparse = w.backend_file(f"{NAS}/incoming/run42/sparse.img")
        assert sparse.stat().st_size == (5 << 20) + 4
        assert w.emu.namespace.dirty_count() == 0  # --flush: everything written back
        lines = report_of(report)
        assert "symbolic link (to 'a.txt')" in lines[str(src / "link")]["reason"]
        assert "a FIFO" in lines[str(src / "fifo")]["reason"]
        assert "a socket" in lines[str(src / "sock")]["reason"]
        assert lines[str(src / "a.txt")]["outcome"] == "copied"
        assert lines[str(src)]["reason"] == "directory created"
        # The rerun: every file identical (size and mtime), every directory there already.
        again = run(["copy", *BY_NAME, str(src), f"{NAS}/incoming", "-o", "json",
                     "--report", str(report)], env)
        assert again.returncode == 0, again.stderr.decode()
        data = json.loads(again.stdout)
        assert (data["copied"], data["skipped"], data["bytes_copied"]) == (0, 11, 0)
        assert {x["kind"] for x in report_of(report).values()} == {"identical", "dir",
                                                                   "special"}


def test_copy_files_by_ip_and_export_and_a_changed_file_is_copied_again(
        tmp_path: Path) -> None:
    one, two = tmp_path / "one.dat", tmp_path / "two.dat"
    one.write_bytes(b"1" * 1000)
    two.write_bytes(b"2" * 3000)
    with world(tmp_path) as w:
        env = w.env()
        proc = run(["copy", *EXPORT, str(one), str(two), "data/in", "--no-flush", "-v"], env)
        assert proc.returncode == 0, proc.stderr.decode()
        out = proc.stdout.decode()
        assert "copied: 2" in out and "not written back yet" in out
        assert w.cache_file(f"{NAS}/data/in/two.dat").read_bytes() == b"2" * 3000
        assert w.emu.namespace.is_dirty(f"{NAS}/data/in/two.dat")  # --no-flush: still dirty
        one.write_bytes(b"changed, and longer than before")
        proc = run(["copy", *EXPORT, str(one), str(two), "data/in", "-o", "json"], env)
        data = json.loads(proc.stdout)
        assert (data["copied"], data["skipped"]) == (1, 1), proc.stderr.decode()
        assert w.backend_file(f"{NAS}/data/in/one.dat").read_bytes() == one.read_bytes()
        # two.dat was identical, but still dirty: the rerun wrote it back.
        assert w.backend_file(f"{NAS}/data/in/two.dat").read_bytes() == b"2" * 3000


def test_contents_of_a_directory_to_a_client_path(tmp_path: Path) -> None:
    table, _, nas = mountinfo(tmp_path)
    src = tmp_path / "src"
    (src / "x").mkdir(parents=True)
    (src / "x" / "f").write_bytes(b"f")
    with world(tmp_path) as w:
        proc = run(["copy", "--mountinfo", str(table), f"{src}/", str(nas / "into")],
                   w.env())
        assert proc.returncode == 0, proc.stderr.decode()
        assert w.backend_file(f"{NAS}/into/x/f").read_bytes() == b"f"


def test_failures_have_reasons_and_exit_1(tmp_path: Path) -> None:
    ok = tmp_path / "ok.txt"
    ok.write_bytes(b"ok")
    failed_list = tmp_path / "failed.txt"
    with world(tmp_path) as w:
        w.cache_file(f"{NAS}/dst/ok.txt/placeholder", b"")  # ok.txt is a directory there
        missing = tmp_path / "missing"
        proc = run(["copy", *EXPORT, str(ok), str(missing), "dst", "--failed-to",
                    str(failed_list), "--report", str(tmp_path / "r.jsonl")], w.env())
        assert proc.returncode == 1, proc.stderr.decode()
        lines = report_of(tmp_path / "r.jsonl")
        assert "exists on the cache as a directory" in lines[str(ok)]["reason"]
        assert "No such file or directory" in lines[str(missing)]["reason"]
        assert sorted(failed_list.read_text().split()) == sorted([str(ok), str(missing)])


def test_bad_usage_is_one_line(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        env = w.env()
        proc = run(["copy", *EXPORT, str(tmp_path)], env)
        assert proc.returncode == 2
        assert "missing argument 'SRC'" in one_error_line(proc)
        proc = run(["copy", "--ip", A_ROOT, str(tmp_path), "dst"], env)
        assert proc.returncode == 2 and "--export" in one_error_line(proc)
        proc = run(["copy", *BY_NAME, str(tmp_path), "/no/such/junction"], env)
        assert proc.returncode == 2 and "DEST /no/such/junction" in one_error_line(proc)
        down = run(["copy", "--ip", "127.0.0.63", "--export", NAS, "--timeout", "5",
                    str(tmp_path), "d"], env)
        assert down.returncode == 4, down.stderr
        assert down.stderr.decode().strip().splitlines()[-1].startswith(
            "hpccache: error: cache unreachable")


def test_shards_split_the_files_and_together_copy_them_all(tmp_path: Path) -> None:
    src = tmp_path / "many"
    src.mkdir()
    for i in range(40):
        (src / f"f{i:02}").write_bytes(b"%d" % i)
    with world(tmp_path) as w:
        env = w.env()
        copied = []
        for k in (1, 2, 3):
            proc = run(["copy", *EXPORT, str(src), "sharded", "--shard", f"{k}/3",
                        "-o", "json", "--report", str(tmp_path / f"r{k}.jsonl")], env)
            assert proc.returncode == 0, proc.stderr.decode()
            copied.append({p for p, x in report_of(tmp_path / f"r{k}.jsonl").items()
                           if x["outcome"] == "copied" and x.get("kind") == "copied"})
        assert sum(len(c) for c in copied) == 40 and len(set().union(*copied)) == 40
        assert all(c for c in copied)
        assert len(list(w.backend_file(f"{NAS}/sharded/many/f00").parent.iterdir())) == 40


def test_ctrl_c_accounts_for_every_path_and_a_rerun_resumes(tmp_path: Path) -> None:
    """SIGINT: files in flight, and directories not walked to their end, are unfinished (the
    latter stand for the files below them); report and failed list written; exit 130. The
    same command again finishes the copy, skipping what was copied."""
    src, report, failed = tmp_path / "src", tmp_path / "report.jsonl", tmp_path / "failed"
    for d in ("d1", "d2"):
        (src / d).mkdir(parents=True)
        for i in range(30):
            (src / d / f"f{i:02}").write_bytes(b"x" * i)
    with world(tmp_path, faults={"latency_ms": 40}) as w:
        env = w.env()
        proc = subprocess.Popen(
            [*CLI, "copy", *EXPORT, "-v", "-j", "2", str(src), "dst", "--report", str(report),
             "--failed-to", str(failed)], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # a few files copied: then interrupt
            line = proc.stderr.readline()
            if not line or line.startswith(b"copied ") and b"/f" in line:
                break
        # Every later reply held (a minute): the copy cannot end before the SIGINT lands
        # however loaded the machine (at 40 ms a call, it needed only a few seconds).
        w.emu.faults.latency_ms = 60_000
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        lines = report_of(report)
        unfinished = {p for p, x in lines.items() if x["outcome"] == "unfinished"}
        assert unfinished and lines[str(src)]["outcome"] == "copied"  # listed to its end
        for d in ("d1", "d2"):
            for i in range(30):
                path = src / d / f"f{i:02}"
                assert str(path) in lines or str(path.parent) in unfinished, path
        assert sorted(failed.read_text().split()) == sorted(
            p for p, x in lines.items() if x["outcome"] in ("unfinished", "failed"))
        w.emu.faults.latency_ms = 0
        again = run(["copy", *EXPORT, str(src), "dst", "-o", "json"], env)
        assert again.returncode == 0, again.stderr.decode()
        assert json.loads(again.stdout)["skipped"] >= 1
        assert assert_on_target(w, src, f"{NAS}/dst/src") == 60


def test_in_a_pipeline_logging_commands_junit_and_allow_partial(tmp_path: Path) -> None:
    """As flush in Azure Pipelines: logging commands only ours, a JUnit case per path (the
    report's), --allow-partial turns the missing source's failure into exit 0."""
    from pipeline_support import check_junit, commands, read_report, variables

    src = tmp_path / "in"
    src.mkdir()
    (src / "a").write_bytes(b"a")
    report, junit = tmp_path / "report.jsonl", tmp_path / "copy.xml"
    with world(tmp_path) as w:
        proc = run(["copy", *EXPORT, str(src), str(tmp_path / "missing"), "piped",
                    "--report", str(report), "--junit", str(junit), "--allow-partial"],
                   w.env(TF_BUILD="True"))
        assert proc.returncode == 0, proc.stderr.decode()
        cmds = commands(proc.stdout.decode())
        assert cmds and variables(cmds)
        assert any(c == "task.complete" and p.get("result") == "SucceededWithIssues"
                   for c, p, _ in cmds)
        check_junit(junit, read_report(report))
        assert w.backend_file(f"{NAS}/piped/in/a").read_bytes() == b"a"
