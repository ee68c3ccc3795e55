"""Smaller things a new user hit (issue #19), each as a user sees it: a child process.

- ``flush-file`` errors name its own arguments (SERVER, EXPORT, --threads), never ``flush``'s
  ``--ip``/``--export``, which it does not have (one table: ``cli/flags.py`` COMMAND_FLAGS);
- the ``-o json`` summary: ``written_back`` (no hyphenated key) and no rate for a run where
  every file failed;
- ``--debug`` before the command is the command's own; after a command without one, a line
  says where it goes;
- ``path --to-local`` of a path that is nowhere fails with the reason;
- a namespace path given without ``--cache`` gets the hint to name the cache;
- JUnit: a repeated input's case has a name of its own, the suite's timestamp its zone.

(The emulator's sourceable output, ``--env-file`` and ``--mountinfo`` are tested in
tests/test_emulator_cli.py; ``scripts/_venv.sh``'s extras in tests/test_scripts_venv.py.)

Every child runs with an environment of its own: no ``HPCCACHE_*``/``AZURE_*`` of the shell,
``HOME`` and ``XDG_CACHE_HOME`` in the test's directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from emulator_support import free_port

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "hpccache_cli"]
IP = "127.0.0.1"
FLUSH_ONLY = ("--ip", "--export", "--concurrency", "--path-kind")


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The user's environment without our variables, with a home of the test's own."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HPCCACHE_", "AZURE_")) and k != "TF_BUILD"}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), PYTHONPATH=str(ROOT),
               **extra)
    return env


def hpccache(tmp_path: Path, *args: str, data: bytes = b"", **env: str
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], input=data.decode(), capture_output=True, text=True,
                          env=clean_env(tmp_path, **env), timeout=120, check=False)


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The one ``hpccache: error:`` line (and no traceback)."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.startswith("hpccache: error: ")]
    assert len(lines) == 1, proc.stderr
    return lines[0].removeprefix("hpccache: error: ")


# --- 3. flush-file names its own arguments ----------------------------------------------------


@pytest.mark.parametrize(("args", "says"), [
    (["/a/../b", IP], "EXPORT '/a/../b' must not contain '..'"),
    (["/NAS_12_exp5", "10.0.0.11:2049"],
     "SERVER '10.0.0.11:2049' has a port: give the mount address alone, e.g. 10.0.0.11 "
     "(hpccache cache show lists them); ports go in --nfs-port/--mount-port"),
    (["/NAS_12_exp5", "cache.example"], "SERVER 'cache.example' is not an IPv4 or IPv6"),
    (["/NAS_12_exp5", ","], "EXPORT needs the cache's mount addresses: give SERVER"),
    (["", IP], "EXPORT is empty: give the junction"),
    (["/NAS_12_exp5", " "], "SERVER is empty: give a mount address"),
    (["/NAS_12_exp5", IP, "--threads", "5000"], "--threads must be at most 4096, not 5000"),
])
def test_flush_file_errors_name_its_own_arguments(tmp_path: Path, args: list[str],
                                                  says: str) -> None:
    proc = hpccache(tmp_path, "flush-file", *args, data=b"f\n")
    assert proc.returncode == 2, proc.stderr
    line = error_line(proc)
    assert line.startswith(says), line
    assert not any(flag in line for flag in FLUSH_ONLY), line


def test_flush_still_names_its_flags(tmp_path: Path) -> None:
    """The same errors from ``flush`` keep ``--ip``/``--export``: one table, two readings."""
    proc = hpccache(tmp_path, "flush", "--ip", ",", "--export", "/a/b", data=b"f\n")
    assert error_line(proc).startswith("--export needs the cache's mount addresses: give --ip")
    proc = hpccache(tmp_path, "flush", "--ip", IP, "--export", "/a/../b", data=b"f\n")
    assert error_line(proc) == "--export '/a/../b' must not contain '..'"


def test_an_unreachable_flush_file_server_says_check_server(tmp_path: Path) -> None:
    """The reason made during the run (not an exception) reads the same way."""
    port = free_port(IP)  # nothing listens there: connection refused at once
    proc = hpccache(tmp_path, "flush-file", "/NAS_12_exp5", IP, "--timeout", "20",
                    data=b"a\n", HPCCACHE_MOUNT_PORT=str(port), HPCCACHE_NFS_PORT=str(port))
    assert proc.returncode == 4, proc.stderr
    line = error_line(proc)
    assert line.endswith("check SERVER and the port options"), line
    assert not any(flag in proc.stderr for flag in FLUSH_ONLY), proc.stderr


# --- 5 and 10. the -o json summary ------------------------------------------------------------


def test_json_summary_keys_and_no_rate_when_every_file_failed(tmp_path: Path) -> None:
    """Two paths on no NFS mount: both fail at once; that speed is no flush rate."""
    table = tmp_path / "mountinfo"
    table.write_text("1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n")
    proc = hpccache(tmp_path, "flush", "--mountinfo", str(table), "-o", "json",
                    str(tmp_path / "a"), str(tmp_path / "b"))
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["failed"] == 2 and summary["total"] == 2
    assert summary["files_per_second"] == 0
    assert summary["written_back"] == 0
    assert all(key.isidentifier() for key in summary), sorted(summary)


# --- 7. --debug before and after the command ---------------------------------------------------


def test_debug_before_the_command_is_the_commands_own_debug(tmp_path: Path) -> None:
    """``hpccache --debug namespace ...`` showed the SDK's log at first, then the command's
    own set-up turned it back down: no request was shown. Both places mean the same now."""
    from arm_support import running_world

    with running_world(tmp_path / "arm") as world:
        show = ["namespace", "emu", "-g", "emu-rg", "-o", "json"]
        env = {**world.env(), "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000000"}
        before = hpccache(tmp_path, "--debug", *show, **env)
        after = hpccache(tmp_path, *show, "--debug", **env)
    for proc in (before, after):
        assert proc.returncode == 0, proc.stderr
        assert "/proj" in proc.stdout
    request = "hpccache: debug: azure.core.pipeline.policies.http_logging_policy: Request URL"

    def shape(stderr: str) -> list[str]:
        return [x.split(":", 3)[2].strip() for x in stderr.splitlines()
                if x.startswith("hpccache: debug: ")]

    assert request in before.stderr and request in after.stderr
    assert shape(before.stderr) == shape(after.stderr)  # the same loggers, in the same order
    assert "test-token-not-a-secret" not in before.stderr + after.stderr  # redacted in both


def test_debug_after_a_command_without_one_says_where_it_goes(tmp_path: Path) -> None:
    """``flush-file`` and ``emulator run`` have no --debug of their own: after the command it is
    refused with the place it goes; before the command it is taken."""
    port = free_port(IP)
    ports = {"HPCCACHE_MOUNT_PORT": str(port), "HPCCACHE_NFS_PORT": str(port)}
    proc = hpccache(tmp_path, "--debug", "flush-file", "/NAS_12_exp5", IP, data=b"a\n", **ports)
    assert proc.returncode == 4, proc.stderr
    after = hpccache(tmp_path, "flush-file", "/NAS_12_exp5", IP, "--debug", data=b"a\n", **ports)
    assert after.returncode == 2
    assert error_line(after) == ("flush-file has no --debug of its own: give it before the "
                                 "command, as in hpccache --debug flush-file ...")
    emu = hpccache(tmp_path, "emulator", "run", "--config", "x.toml", "--debug")
    assert emu.returncode == 2
    assert error_line(emu).startswith("emulator run has no --debug of its own")


# --- 6. path --to-local of a path that is nowhere -----------------------------------------------


def root_mount(tmp_path: Path) -> tuple[Path, Path]:
    """A mount table with the cache's namespace root on ``mnt/cache`` (a real directory that
    shows one junction, as the root of a cache mount does). Returns (table, mount point)."""
    point = tmp_path / "mnt" / "cache"
    (point / "NAS_12_exp5").mkdir(parents=True)
    (point / "NAS_12_exp5" / "a.txt").write_text("a\n")
    table = tmp_path / "mountinfo"
    table.write_text("1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
                     f"40 1 0:40 / {point} rw - nfs 127.0.0.11:/ rw,vers=3,addr=127.0.0.11\n")
    return table, point


def test_to_local_of_a_path_that_is_nowhere_fails_with_the_reason(tmp_path: Path) -> None:
    table, point = root_mount(tmp_path)
    ok = hpccache(tmp_path, "path", "--to-local", "/NAS_12_exp5/a.txt", "--mountinfo",
                  str(table), "-o", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["local_paths"] == [f"{point}/NAS_12_exp5/a.txt"]
    for args in (["/nowhere/x"], ["/NAS_12_exp5/a.txt", "/nowhere/x"]):
        proc = hpccache(tmp_path, "path", "--to-local", *args, "--mountinfo", str(table),
                        "-o", "json")
        assert proc.returncode == 1, proc.stdout
        record = json.loads(proc.stdout)[-1]
        assert record["local_paths"] == [] and record["matches"] == []
        assert record["error"] == (f"/nowhere/x is not on this machine: {point}/nowhere/x does "
                                   "not exist (--lexical lists client paths without looking)")
        assert "path(s) not translated" in proc.stderr
    lexical = hpccache(tmp_path, "path", "--to-local", "/nowhere/x", "--lexical",
                       "--mountinfo", str(table), "-o", "json")
    assert lexical.returncode == 0  # asked not to look: what the mount would show
    assert json.loads(lexical.stdout)[0]["local_paths"] == [f"{point}/nowhere/x"]


# --- 4. a namespace path without --cache ------------------------------------------------------


def test_a_namespace_path_without_cache_gets_the_hint(tmp_path: Path) -> None:
    """``/NAS_12_exp5/...`` read as a client path is on no cache mount: say how to name the
    cache. A client path whose directory exists here is a plain miss: no hint."""
    table = tmp_path / "mountinfo"
    table.write_text("1 0 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n")
    report = tmp_path / "report.jsonl"
    local = tmp_path / "a.txt"
    local.write_text("a\n")
    proc = hpccache(tmp_path, "flush", "--mountinfo", str(table), "--report", str(report),
                    "/NAS_12_exp5/result/output3.txt", "/NAS_12_exp5/b", str(local))
    assert proc.returncode == 1, proc.stderr
    hint = "a namespace path? name its cache: --cache NAME -g RG (or --ip ADDRESS --export"
    lines = {x.split(": ", 1)[0]: x for x in proc.stderr.splitlines() if x.startswith("failed")}
    assert hint in lines["failed /NAS_12_exp5/result/output3.txt"]
    assert hint in lines["failed /NAS_12_exp5/b"]
    assert hint not in lines[f"failed {local}"]
    reasons = {r["path"]: r["reason"] for r in map(json.loads, report.read_text().splitlines())}
    assert reasons["/NAS_12_exp5/b"].startswith("not under an NFS mount of a cache")
    assert hint in reasons["/NAS_12_exp5/b"] and hint not in reasons[str(local)]


# --- 8 and 9. JUnit: a repeated input, the timestamp's zone ------------------------------------


def test_junit_names_a_repeated_input_apart_and_dates_the_suite_in_utc(tmp_path: Path) -> None:
    from datetime import datetime, timedelta
    from xml.etree import ElementTree

    from junit_schema import validate_junit
    from test_flush_support import dirty_cache, emulator

    names = dirty_cache(tmp_path, ["a.txt", "b.txt"])
    junit = tmp_path / "flush.xml"
    with emulator(tmp_path, ["127.0.0.141"]) as emu:
        proc = hpccache(tmp_path, "flush", "--ip", "127.0.0.141", "--export", "/NAS_12_exp5",
                        "--junit", str(junit), "a.txt", "a.txt", "b.txt", "a.txt",
                        "../up", "../up",  # refused (climbs out of the export), twice
                        HPCCACHE_MOUNT_PORT=str(emu.ports.mount),
                        HPCCACHE_NFS_PORT=str(emu.ports.nfs))
    assert proc.returncode == 1, proc.stderr
    assert names == [b"a.txt", b"b.txt"]
    root = validate_junit(junit)  # still the Jenkins JUnit schema
    [suite] = root.findall("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert ElementTree.tostring(root).count(b"<testcase") == len(cases) == 6  # names unique
    repeats = [n for n in cases if n.endswith(")")]
    assert sorted(n.rsplit(" (", 1)[0] for n in repeats) == ["../up", "a.txt", "a.txt"]
    assert sorted(n.rsplit(" (", 1)[1] for n in repeats) == [
        "duplicate #1)", "duplicate #2)", "duplicate #3)"]
    for name in repeats:
        skipped = cases[name].find("skipped")
        assert skipped is not None
        assert skipped.get("message") == "duplicate of an earlier input"
    assert cases["a.txt"].find("skipped") is None
    assert cases["../up"].find("failure") is not None  # the first one fails, once
    stamp = datetime.fromisoformat(suite.attrib["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
