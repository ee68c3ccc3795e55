"""``-o`` and ``--query`` of the path commands (``flush``, ``refresh``, ``copy``), as users run
them: a subprocess against the emulator. Every az format goes through the one renderer
(``hpccache_cli/cli/output/``); a plain ``-o json`` keeps the bytes README documents (#18)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import yaml
from flush_cache_support import BY_NAME, one_error_line, world
from flush_cache_support import run as run_world
from test_flush_support import CLI, cli_env, dirty_cache, emulator

A1 = "127.0.0.38"
EXPORT = ["--export", "/NAS_12_exp5"]
#: README's "The `-o json` summary": the keys of the object.
DOCUMENTED = {
    "mode", "total", "seconds", "files_per_second", "flushed", "clean", "failed", "skipped",
    "unfinished", "started", "written_back", "flushing", "dirty", "failure_kinds",
    "interrupted", "input_complete", "unreachable", "input_error", "output_error",
    "unreachable_reason", "shard", "report", "failed_list", "fallback", "exit_code",
}


def run(args: list[str], env: dict[str, str] | None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(CLI + args, capture_output=True, env=env, timeout=60, check=False)


def stable(summary: dict[str, object]) -> dict[str, object]:
    """A summary without its timings (each run has its own)."""
    return {k: v for k, v in summary.items() if k not in ("seconds", "files_per_second")}


def flush_args(*more: str) -> list[str]:
    """Two dirty files and one missing path: exit 1, one failure, every run."""
    return ["flush", "--ip", A1, *EXPORT, *more, "p/a", "p/b", "p/missing"]


def test_every_format_of_the_flush_summary(tmp_path: Path) -> None:
    dirty_cache(tmp_path, ["p/a", "p/b"])
    with emulator(tmp_path, [A1]) as emu:
        env = cli_env(emu)
        first = run(flush_args("-o", "tsv", "--query", "[flushed, failed]"), env)
        by = {fmt: run(flush_args("-o", fmt), env)
              for fmt in ("json", "jsonc", "yaml", "yamlc", "tsv", "table", "none", "text")}
        exit_code = run(flush_args("--query", "exit_code"), env)
    # az's TSV of a list: one item a line (a multiselect hash would be one row).
    assert (first.returncode, first.stdout) == (1, b"2\n1\n"), first.stderr
    assert all(p.returncode == 1 for p in by.values()), {f: p.stderr for f, p in by.items()}
    assert (exit_code.returncode, exit_code.stdout) == (1, b"1\n")  # --query alone: JSON
    # -o json: today's bytes (summary order, indent 2) and the documented keys.
    plain = json.loads(by["json"].stdout)
    assert by["json"].stdout.decode() == json.dumps(plain, indent=2) + "\n"
    assert set(plain) == DOCUMENTED and list(plain) != sorted(plain)  # not the az order
    assert (plain["failed"], plain["exit_code"]) == (1, 1)
    # jsonc piped: the renderer's JSON (az's: keys sorted), no colour codes.
    sorted_json = json.loads(by["jsonc"].stdout)
    assert by["jsonc"].stdout.decode() == json.dumps(sorted_json, indent=2, sort_keys=True) + "\n"
    assert stable(sorted_json) == stable(plain)
    for fmt in ("yaml", "yamlc"):
        assert stable(yaml.safe_load(by[fmt].stdout)) == stable(plain), by[fmt].stdout
    row = by["tsv"].stdout.decode()
    assert row.endswith("\n") and row.count("\n") == 1 and len(row.split("\t")) == len(plain)
    table = by["table"].stdout.decode().splitlines()
    # az's automatic table: scalar keys sorted, only their first letter upper-cased.
    assert table[0].split()[:2] == ["Clean", "Dirty"] and "Exit_code" in table[0], table
    assert set(table[1]) <= {"-", " "} and len(table) == 3
    assert by["none"].stdout == b"" and b"failed p/missing" in by["none"].stderr
    assert b"flushed:" in by["text"].stdout and b"{" not in by["text"].stdout


def test_a_bad_query_is_one_line_and_exit_2_before_any_request(tmp_path: Path) -> None:
    env = dict(os.environ)  # no emulator: a run that got as far as a request fails otherwise
    for args in (flush_args("--query", "[flushed"),
                 ["refresh", "--ip", A1, *EXPORT, "--query", "[flushed", "p"],
                 ["copy", "--ip", A1, *EXPORT, "--query", "a[", str(tmp_path), "dst"]):
        proc = run(args, env)
        assert proc.returncode == 2, proc.stderr
        assert "is not valid JMESPath" in one_error_line(proc) and proc.stdout == b""


def test_under_tf_build_logging_commands_leave_a_machine_stdout(tmp_path: Path) -> None:
    dirty_cache(tmp_path, ["p/a", "p/b"])
    with emulator(tmp_path, [A1]) as emu:
        env = {**cli_env(emu), "TF_BUILD": "True"}
        as_yaml = run(flush_args("-o", "yaml"), env)
        none = run(flush_args("-o", "none"), env)
        query = run(flush_args("--query", "failed"), env)
    assert yaml.safe_load(as_yaml.stdout)["failed"] == 1
    assert b"##vso[" not in as_yaml.stdout and b"##vso[task.setvariable" in as_yaml.stderr
    assert none.stdout == b"" and none.returncode == 1 and b"##vso[" in none.stderr
    assert query.stdout == b"1\n" and b"##vso[" in query.stderr


def test_refresh_and_copy_render_their_summaries_too(tmp_path: Path) -> None:
    src = tmp_path / "one.dat"
    src.write_bytes(b"1" * 100)
    with world(tmp_path) as w:
        env = w.env()
        copied = run_world(["copy", *BY_NAME, str(src), "/NAS_12_exp5/in", "-o", "tsv",
                            "--query", "{c: copied, f: flushed, e: exit_code}"], env)
        again = run_world(["copy", *BY_NAME, str(src), "/NAS_12_exp5/in", "-o", "yaml"], env)
        refreshed = run_world(["refresh", *BY_NAME, "/NAS_12_exp5/in", "-o", "yaml"], env)
        quiet = run_world(["refresh", *BY_NAME, "/NAS_12_exp5/in", "-o", "none"], env)
    assert (copied.returncode, copied.stdout) == (0, b"1\tTrue\t0\n"), copied.stderr
    data = yaml.safe_load(again.stdout)
    assert (data["copied"], data["skipped"], data["exit_code"]) == (0, 1, 0), again.stderr
    assert refreshed.returncode == 0 and "refreshed" in yaml.safe_load(refreshed.stdout)
    assert (quiet.returncode, quiet.stdout) == (0, b"")
