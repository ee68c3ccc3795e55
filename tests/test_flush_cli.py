"""``hpccache flush`` and ``hpccache flush-file`` as users run them: a subprocess over TCP.

Covers the command surface (input forms, report, failed list, JSON summary, env vars, exit
codes) and flush_file.py parity. The emulator runs in this process; the CLI in a child.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

from emulator_support import free_port
from pipeline_support import on_terminal
from test_flush_support import (
    CLI,
    assert_written_back,
    cli_env,
    dirty_cache,
    emulator,
)

A1, A2 = "127.0.0.36", "127.0.0.37"
EXPORT = ["--export", "/NAS_12_exp5"]


def run(args: list[str], env: dict[str, str] | None, data: bytes = b"",
        timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(CLI + args, input=data, capture_output=True, env=env,
                          timeout=timeout, check=False)


def read_report(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_stdin_report_failed_list_and_json(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"r/f{i}" for i in range(30)])
    report, failed = tmp_path / "report.jsonl", tmp_path / "failed.lst"
    data = b"\n".join(names) + b"\n\nr/missing\nr/f0\n\nr\n"
    with emulator(tmp_path, [A1, A2]) as emu:
        proc = run(["flush", "--ip", A1, "--ip", A2, *EXPORT, "-o", "json", "--report",
                    str(report), "--failed-to", str(failed)], cli_env(emu), data)
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["total"], summary["flushed"], summary["failed"], summary["skipped"]) == (
        33, 30, 2, 1)
    assert summary["exit_code"] == 1
    assert summary["failure_kinds"] == {"noent": 1, "directory": 1}
    lines = read_report(report)
    assert len(lines) == 33 and {str(x["path"]) for x in lines} >= {"r/missing", "r"}
    missing = next(x for x in lines if x["path"] == "r/missing")
    assert missing["outcome"] == "failed" and "NFS3ERR_NOENT" in str(missing["reason"])
    assert set(missing) >= {"path", "outcome", "reason", "seconds", "attempts"}
    assert sorted(failed.read_bytes().splitlines()) == [b"r", b"r/missing"]
    assert b"failed r/missing: not found" in proc.stderr  # plain line: stderr is no TTY
    assert_written_back(tmp_path, names)


def test_nul_input_odd_names_and_feeding_the_failed_list_back(tmp_path: Path) -> None:
    odd = [b"n/caf\xe9", b"n/new\nline", b"n/ sp ace "]
    names = dirty_cache(tmp_path, odd)
    failed = tmp_path / "failed.lst"
    data = b"\0".join([*odd, b"n/later\xff"]) + b"\0"
    with emulator(tmp_path, [A1]) as emu:
        env = cli_env(emu)
        first = run(["flush", "-0", "--ip", A1, *EXPORT, "--failed-to", str(failed)], env, data)
        assert first.returncode == 1 and failed.read_bytes() == b"n/later\xff\0"
        names += dirty_cache(tmp_path, [b"n/later\xff"])  # the missing file appears
        again = run(["flush", "-0", "--from-file", str(failed), "--ip", A1, *EXPORT], env)
    assert again.returncode == 0, again.stderr
    assert b"flushed: 1" in again.stdout
    assert_written_back(tmp_path, names)


def test_arguments_from_file_and_portmapper(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["p/a", "p/b", "p/c"])
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"/NAS_12_exp5/p/c\n")
    ports = {"portmap": free_port(A1)}
    with emulator(tmp_path, [A1], ports=ports) as emu:
        env = dict(os.environ, PYTHONPATH=cli_env(emu)["PYTHONPATH"],
                   HPCCACHE_PORTMAP_PORT=str(emu.ports.portmap))
        args = run(["flush", "p/a", "/p/b", "--ip", A1, *EXPORT, "-q"], env)
        listed = run(["flush", "-f", str(listing), "--ip", A1, *EXPORT, "-v"], env)
    assert args.returncode == 0 and args.stdout == b"", args.stderr  # -q: nothing to say
    assert listed.returncode == 0 and b"flushed /NAS_12_exp5/p/c" in listed.stderr
    assert b"flushed: 1" in listed.stdout
    assert_written_back(tmp_path, names)


def test_usage_errors_exit_2_in_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cases = [
        (["flush", "x", *EXPORT], "give --ip"),  # (no --ip/--export: client paths)
        (["flush", "x", "--ip", A1], "--export"),
        (["flush", "--from-file", str(tmp_path / "nope"), "--ip", A1, *EXPORT], "nope"),
        (["flush", "x", "--ip", A1, *EXPORT, "-v", "-q"], "contradict"),
        (["flush", "x", "--ip", A1, *EXPORT, "--status-only", "--mode", "sync"], "status-only"),
        (["flush", "x", "--ip", A1, "--export", "/a/../b"], "'..'"),
        (["flush", "x", "--ip", A1, *EXPORT, "--uid", "-5"], "--uid"),
    ]
    for args, words in cases:
        proc = run(args, env)
        err = proc.stderr.decode()
        assert proc.returncode == 2, (args, err)
        assert err.startswith("hpccache: error: ") and words in err, (args, err)
        assert err.count("\n") == 1 and "Traceback" not in err, err


def test_unreachable_exits_4(tmp_path: Path) -> None:
    with emulator(tmp_path, [A2], faults={"down_addresses": [A2]}) as emu:
        proc = run(["flush", "--ip", A2, *EXPORT, "-o", "json"], cli_env(emu), b"a\nb\n")
    assert proc.returncode == 4, proc.stderr
    assert json.loads(proc.stdout)["unreachable"] is True
    assert b"hpccache: error: cache unreachable" in proc.stderr
    assert b"check --ip and the port options" in proc.stderr


def test_unreachable_client_paths_point_at_the_mounts(tmp_path: Path) -> None:
    """Named by client path, the hint is about the mounts, not an --ip the user never gave."""
    table = tmp_path / "mountinfo"
    table.write_text(f"40 1 0:40 / /mnt/c rw - nfs {A2}:/NAS_12_exp5 rw,vers=3,addr={A2}\n")
    with emulator(tmp_path, [A2], faults={"down_addresses": [A2]}) as emu:
        env = {**cli_env(emu), "HPCCACHE_MOUNTINFO": str(table)}
        proc = run(["flush", "/mnt/c/a"], env)
    assert proc.returncode == 4, proc.stderr
    lines = proc.stderr.decode().strip().splitlines()
    assert lines[-1].startswith("hpccache: error: cache unreachable")
    assert "check the NFS mounts of these paths (hpccache path)" in lines[-1]
    assert "--ip" not in lines[-1]


def test_help_lists_exit_codes_and_an_example() -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]),
               COLUMNS="200")
    for cmd in ("flush", "flush-file"):
        out = run([cmd, "--help"], env).stdout.decode()
        assert "Exit codes: 0" in out and "130 interrupted" in out and "Example:" in out
    out = run(["flush", "--help"], env).stdout.decode()
    for opt in ("--from-file", "--null", "--ip", "--export", "--mode", "--no-wait",
                "--status-only", "--concurrency", "--timeout", "--retries", "--portmap-port",
                "--mount-port", "--nfs-port", "--uid", "--gid", "--privileged-port",
                "--report", "--failed-to", "--recursive", "HPCCACHE_NFS_PORT"):
        assert opt in out, opt


def test_flush_file_is_a_drop_in(tmp_path: Path) -> None:
    """flush_file.py's arguments, stdin format and greppable output, on our engine."""
    names = dirty_cache(tmp_path, ["ff/a", "ff/b", "ff/c"])
    data = b"/ff/a\n  /ff/b  \nff/c\n/ff/missing\n"
    with emulator(tmp_path, [A1]) as emu:
        env = cli_env(emu)
        for extra in ([], ["--sync"]):
            proc = run(["flush-file", "/NAS_12_exp5", A1, "--threads", "4", "--timeout", "60",
                        "--verbose", *extra], env, data)
            err = proc.stderr.decode()
            assert proc.returncode == 1, err
            assert proc.stdout == b""
            assert "Flushed /ff/a in " in err and "Flushed   /ff/b   in" not in err
            errors = [line for line in err.splitlines() if "ERROR" in line]
            assert len(errors) == 2 and "/ff/missing" in errors[0]
            assert errors[1].endswith("1 ERRORS encountered. grep ERROR in output for details.")
            assert "Total elapsed time" in err
    assert_written_back(tmp_path, names)


def test_terminal_gets_a_progress_bar(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, [f"tty/f{i}" for i in range(20)])
    with emulator(tmp_path, [A1]) as emu:
        env = dict(cli_env(emu), COLUMNS="120", TERM="xterm")
        proc, screen = on_terminal(CLI + ["flush", "--ip", A1, *EXPORT, "-v"], env,
                                   b"\n".join(names) + b"\n", "stderr")
    assert proc.returncode == 0, screen
    assert b"20/20" in screen and b"files/s" in screen  # the bar's last frame
    assert b"flushed tty/f3" in screen  # -v lines print above the bar
    assert b"flushed: 20" in proc.stdout


def test_terminal_stdin_without_paths_is_a_usage_error(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(CLI + ["flush", "--ip", A1, *EXPORT], stdin=slave,
                              capture_output=True, env=env, timeout=60, check=False)
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 2 and b"no paths given" in proc.stderr


def test_empty_input_succeeds(tmp_path: Path) -> None:
    with emulator(tmp_path, [A1]) as emu:
        proc = run(["flush", "--ip", A1, *EXPORT, "-o", "json"], cli_env(emu), b"\n\n")
    assert proc.returncode == 0 and json.loads(proc.stdout)["total"] == 0


def test_flush_file_writes_control_characters_escaped(tmp_path: Path) -> None:
    """A name with CR and terminal escapes stays on one greppable line, escaped."""
    dirty_cache(tmp_path, ["ff/a"])
    with emulator(tmp_path, [A1]) as emu:
        proc = run(["flush-file", "/NAS_12_exp5", A1], cli_env(emu),
                   b"ff/a\nff/evil\r##vso[task.complete result=Succeeded;]\x1b[2J\n")
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "\r" not in err and "\x1b" not in err
    errors = [line for line in err.splitlines() if "ERROR" in line and "evil" in line]
    assert len(errors) == 1
    assert "ff/evil\\x0d##vso[task.complete result=Succeeded;]\\x1b[2J" in errors[0]
    assert not any(line.startswith("##vso") for line in err.splitlines())


def test_demo_flushes_and_verifies() -> None:
    """README's first command: a real flush against the emulator, verified byte for byte."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = run(["demo", "--files", "60", "--write-back-ms", "5"], env, timeout=120)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    # Through the fake ARM: the namespace, a flush by cache name, then a target flush.
    assert "$ hpccache namespace demo-cache -g demo-rg" in out and "/demo/nas" in out
    assert "hpccache flush --cache demo-cache -g demo-rg" in out
    assert "flushed: 60" in out
    assert "flushed storage target 'blob1' of cache 'demo-cache'" in out
    assert "verified: all 80 files on the storage targets match the cache" in out
    assert "dirty files left in the cache: 0" in out
