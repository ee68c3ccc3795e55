"""``hpccache path``: output formats, exit codes, inputs, one-line errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hpccache_cli.cli import path_cmd

FIXTURES = Path(__file__).parent / "fixtures" / "mountinfo"
DOCS_FILE = "/mnt/cache/NAS_12_exp5/result/output3.txt"
DOCS_NS = "/NAS_12_exp5/result/output3.txt"
# The command registered on a bare root app: tests do not depend on other command modules.
APP_SOURCE = """
import typer
from hpccache_cli.cli import path_cmd
app = typer.Typer(pretty_exceptions_enable=False)
@app.callback()
def root() -> None:
    "hpccache"
path_cmd.register(app)
app()
"""


def make_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """hpccache"""

    path_cmd.register(app)
    return app


APP = make_app()


def run(
    *args: str, table: str = "two_caches.mountinfo", stdin: str | bytes | None = None
) -> tuple[int, str, str]:
    env = {"HPCCACHE_MOUNTINFO": str(FIXTURES / table)}
    result = CliRunner().invoke(APP, ["path", *args], input=stdin, env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str, **kw: object) -> tuple[int, list[dict[str, object]]]:
    code, out, _ = run(*args, **kw)  # type: ignore[arg-type]
    return code, json.loads(out)


def assert_one_line_error(code: int, out: str, err: str, expected_code: int, text: str) -> None:
    assert code == expected_code
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hpccache: error: ") and text in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("table", ["docs_junction.mountinfo", "docs_root.mountinfo"])
def test_public_docs_example_exactly(table: str) -> None:
    layout = str(FIXTURES / "docs.layout.json")
    code, records = run_json(DOCS_FILE, "--layout", layout, "--lexical", table=table)
    assert code == 0
    point = "/mnt/cache/NAS_12_exp5" if "junction" in table else "/mnt/cache"
    source = "127.0.0.11:/NAS_12_exp5" if "junction" in table else "127.0.0.11:/"
    assert records == [
        {
            "input": DOCS_FILE,
            "kind": "local",
            "client_path": DOCS_FILE,
            "exists_locally": None,
            "mount_point": point,
            "mount_source": source,
            "cache_address": "127.0.0.11",
            "namespace_path": DOCS_NS,
            "cache": "hpccache-docs",
            "junction": "/NAS_12_exp5",
            "storage_target": "nas12",
            "target_type": "nfs3",
            "usage_model": "WRITE_WORKLOAD_15",
            "backend_path": "/export5/result/output3.txt",
            "note": None,
            "error": None,
        }
    ]


def test_without_azure_information_the_azure_keys_are_null() -> None:
    code, records = run_json(DOCS_FILE)
    assert code == 0
    (rec,) = records
    assert list(rec) == list(path_cmd.PATH_KEYS)
    assert (rec["cache_address"], rec["namespace_path"]) == ("127.0.0.12", DOCS_NS)
    assert rec["storage_target"] is None and rec["backend_path"] is None
    assert rec["exists_locally"] is False and "does not exist" in rec["note"]


def test_some_paths_fail_exit_1_with_reasons() -> None:
    code, out, err = run(DOCS_FILE, "/mnt/cache-local/x", "/home/u/f", "--lexical", "-o", "json")
    records = json.loads(out)
    assert code == 1
    assert [r["error"] is None for r in records] == [True, False, True]
    assert "ext4 mount at /mnt/cache-local" in records[1]["error"]
    assert err.strip() == "hpccache: 1 of 3 path(s) not translated"


def test_layout_list_picks_the_cache_by_address() -> None:
    layout = str(FIXTURES / "two_caches.layout.json")
    code, records = run_json(
        DOCS_FILE, "/mnt/cacheB/data/f", "/home/u/f", "--layout", layout, "--lexical"
    )
    assert code == 1
    assert [r["cache"] for r in records] == ["cache-a", "cache-b", None]
    assert [r["backend_path"] for r in records[:2]] == [
        "/export5/result/output3.txt",
        "/export/data/f",
    ]
    assert "mounted from 127.0.0.99, not a mount address of cache-a, cache-b" in records[2]["error"]


def test_to_local_json_and_round_trip() -> None:
    code, records = run_json("--to-local", DOCS_NS, "/NAS_12_exp6/a", "/nope", "--lexical")
    assert code == 0  # --lexical: /nope would be visible through the root mounts
    assert DOCS_FILE in records[0]["local_paths"]
    assert records[0]["matches"][0].keys() == {
        "client_path",
        "mount_point",
        "mount_source",
        "cache_address",
    }
    layout = str(FIXTURES / "two_caches.layout.json")
    code, records = run_json(
        "--to-local", "/NAS_12_exp6/a", "/projects/p", "/other/x", "--layout", layout,
        "--lexical",
    )
    assert code == 1
    assert records[0]["local_paths"] == ["/mnt/cache/NAS_12_exp6/a", "/scratch/exp6/a"]
    assert records[1]["local_paths"] == ["/mnt/cacheB/projects/p", "/mnt/cache/other/p"]
    assert [m["cache_address"] for m in records[1]["matches"]] == ["127.0.0.21", "127.0.0.22"]
    # no junction of either cache holds /other: no guess through a root mount
    assert records[2]["local_paths"] == []
    assert records[2]["error"] == "/other/x is under no junction of cache cache-a, cache-b"
    # round trip through both directions of the CLI
    _, forward = run_json("/scratch/exp6/a/b.txt", "--lexical")
    _, back = run_json("--to-local", str(forward[0]["namespace_path"]), "--layout", layout,
                       "--lexical")
    assert "/scratch/exp6/a/b.txt" in back[0]["local_paths"]


def test_to_local_nowhere_is_exit_1() -> None:
    layout = str(FIXTURES / "docs.layout.json")
    code, records = run_json(
        "--to-local", "/NAS_12_exp5/x", "--layout", layout, "--lexical",
        table="special.mountinfo",
    )
    assert code == 0  # tab-and-slash and trailing mounts show it
    code, records = run_json(
        "--to-local", "/elsewhere", "--layout", layout, table="docs_junction.mountinfo"
    )
    assert code == 1 and records[0]["local_paths"] == []
    assert records[0]["error"] == "/elsewhere is under no junction of cache hpccache-docs"
    two = str(FIXTURES / "two_caches.layout.json")
    code, records = run_json(
        "--to-local", "/data/x", "--layout", two, table="docs_junction.mountinfo"
    )
    assert code == 1
    assert records[0]["error"] == "no NFS mount of cache cache-b on this machine shows /data/x"


def test_tsv_header_escapes_and_to_local_rows() -> None:
    code, out, _ = run(
        "/mnt/tab\tand\\slash/x", "-o", "tsv", "--lexical", table="special.mountinfo"
    )
    assert code == 0
    header, row = out.splitlines()
    assert header.split("\t") == list(path_cmd.TSV_PATH)
    fields = row.split("\t")
    assert len(fields) == len(path_cmd.TSV_PATH)
    assert fields[0] == "/mnt/tab\\tand\\\\slash/x"
    assert fields[4] == "/NAS_12_exp5/x"
    code, out, _ = run("--to-local", "/NAS_12_exp6/a", "-o", "tsv", "--lexical")
    rows = [line.split("\t") for line in out.splitlines()[1:]]
    assert [r[2] for r in rows] == [
        "/mnt/cache/NAS_12_exp6/a",
        "/mnt/cacheB/NAS_12_exp6/a",
        "/scratch/exp6/a",
    ]


def test_table_output_when_not_a_terminal_is_plain_text() -> None:
    code, out, _ = run(
        DOCS_FILE, "-o", "table", "--lexical", "--layout", str(FIXTURES / "docs.layout.json")
    )
    assert code == 0
    assert out.splitlines()[0] == DOCS_FILE
    assert "  back-end path   /export5/result/output3.txt" in out.splitlines()
    assert "\x1b[" not in out  # no terminal escapes when piped


def test_inputs_from_stdin_file_and_nul(tmp_path: Path) -> None:
    code, records = run_json("--lexical", stdin=f"{DOCS_FILE}\n/mnt/cache/x\n")
    assert code == 0 and [r["input"] for r in records] == [DOCS_FILE, "/mnt/cache/x"]
    listing = tmp_path / "list"
    listing.write_bytes(b"/mnt/cache/a\nb\0/mnt/cache/c\0")
    code, records = run_json("--from-file", str(listing), "-0", "--lexical")
    assert [r["namespace_path"] for r in records] == ["/a\nb", "/c"]
    code, records = run_json("--from-file", "-", "--lexical", stdin="/mnt/cache/z\n")
    assert [r["namespace_path"] for r in records] == ["/z"]


def test_mountinfo_option_overrides_env() -> None:
    code, records = run_json(DOCS_FILE, "--mountinfo", str(FIXTURES / "docs_root.mountinfo"))
    assert records[0]["mount_point"] == "/mnt/cache"


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((), "no paths"),
        (("x", "--cache", "c"), "which resource group is cache 'c' in?"),
        (("x", "-g", "rg"), "-g/--resource-group goes with --cache NAME"),
        (("x", "--layout", "f", "--discover"), "--layout and --discover cannot be combined"),
        (("--to-local", "/x", "--discover"), "--discover works on client paths"),
        (("x", "--mountinfo", "/nonexistent/mi"), "cannot read mount table /nonexistent/mi"),
        (("x", "--layout", "/nonexistent/l.json"), "cannot read layout /nonexistent/l.json"),
        (("x", "--layout", str(FIXTURES / "docs_root.mountinfo")), "is not a cache layout"),
        (("x", "--from-file", "/nonexistent/list"), "cannot read /nonexistent/list"),
    ],
)
def test_bad_usage_is_one_line_exit_2(args: tuple[str, ...], text: str) -> None:
    code, out, err = run(*args, stdin="")
    assert_one_line_error(code, out, err, 2, text)


def test_mountinfo_in_wrong_format_is_exit_2() -> None:
    code, out, err = run("x", table="proc_mounts_format.txt")
    assert_one_line_error(code, out, err, 2, "copy /proc/self/mountinfo")


def test_no_network_without_azure_options(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("network call")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    code, records = run_json("/mnt/byname/x", "/mnt/v6/y", table="special.mountinfo")
    assert code == 0
    assert [r["cache_address"] for r in records] == ["localhost", "::1"]


def test_non_utf8_path_bytes_round_trip_through_the_cli(tmp_path: Path) -> None:
    raw = b"/mnt/cache/NAS_12_exp5/caf\xe9/\xff.dat"
    env = dict(os.environ, HPCCACHE_MOUNTINFO=str(FIXTURES / "two_caches.mountinfo"))
    cmd = [sys.executable, "-c", APP_SOURCE, "path", "--lexical"]
    tsv = subprocess.run([*cmd, "-o", "tsv", raw], env=env, capture_output=True, check=False)
    assert tsv.returncode == 0, tsv.stderr
    row = tsv.stdout.splitlines()[1].split(b"\t")
    assert row[0] == raw and row[4] == b"/NAS_12_exp5/caf\xe9/\xff.dat"
    js = subprocess.run([*cmd, "-o", "json", raw], env=env, capture_output=True, check=False)
    rec = json.loads(js.stdout)[0]
    assert os.fsencode(rec["namespace_path"]) == b"/NAS_12_exp5/caf\xe9/\xff.dat"
    table = subprocess.run([*cmd, "-o", "table", raw], env=env, capture_output=True, check=False)
    assert table.returncode == 0 and b"caf\\xe9" in table.stdout


def test_table_on_a_terminal_uses_rich_and_survives_odd_bytes() -> None:
    import pty

    master, slave = pty.openpty()
    raw = b"/mnt/cache/NAS_12_exp5/caf\xe9.dat"
    env = dict(
        os.environ,
        HPCCACHE_MOUNTINFO=str(FIXTURES / "two_caches.mountinfo"),
        COLUMNS="200",
        TERM="xterm",
    )
    layout = str(FIXTURES / "two_caches.layout.json")
    cmd = [sys.executable, "-c", APP_SOURCE, "path", "--lexical", "--layout", layout, raw]
    try:
        proc = subprocess.run(cmd, env=env, stdout=slave, stderr=subprocess.PIPE, check=False)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
    out = b"".join(chunks)
    assert proc.returncode == 0, proc.stderr
    assert b"\x1b[" in out  # rich styled it
    assert b"back-end path" in out and b"/export5/caf\\xe9.dat" in out
