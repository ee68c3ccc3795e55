"""``flush-file`` flushes the files flush_file.py flushes, and ``flush --export`` never
flushes a different file than the one meant, as a user runs them: a subprocess over TCP.

flush_file.py LOOKUPs every path from the root of the mounted export, so with EXPORT
``/NAS_12_exp5`` the line ``/NAS_12_exp5/new-file.txt`` names ``NAS_12_exp5/new-file.txt``
*inside* the junction. The junction here holds a directory of its own name, the case where
reading such a path as a namespace path flushes another file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from test_flush_support import (
    ROOT,
    assert_written_back,
    backend_file,
    cli_env,
    dirty_cache,
    emulator,
)
from test_flush_support import (
    run_cli as run,
)

from hpccache_cli.cli.flush_file_cmd import DIFFERENCES

A1 = "127.0.0.38"
J = "/NAS_12_exp5"
INNER, OUTER = "NAS_12_exp5/new-file.txt", "new-file.txt"  # both relative to the junction


def written_back(base: Path, rel: str) -> bool:
    return os.path.exists(backend_file(base, rel))


def report(path: Path) -> dict[str, dict[str, object]]:
    return {str(x["path"]): x for x in map(json.loads, path.read_text().splitlines())}


@pytest.mark.parametrize("how", ["flush-file", "path-kind-export"])
def test_a_path_is_relative_to_the_export_never_stripped(tmp_path: Path, how: str) -> None:
    dirty_cache(tmp_path, [INNER, OUTER])
    with emulator(tmp_path, [A1]) as emu:
        args = (["flush-file", J, A1] if how == "flush-file" else
                ["flush", "--ip", A1, "--export", J, "--path-kind", "export", "-v"])
        proc = run(args, cli_env(emu), f"{J}/new-file.txt\n".encode())
    assert proc.returncode == 0, proc.stderr
    assert f"{J}/new-file.txt" in proc.stderr.decode()
    assert written_back(tmp_path, INNER)  # the file flush_file.py flushes
    assert not written_back(tmp_path, OUTER)  # not the namespace path /NAS_12_exp5/new-file.txt


def test_flush_export_fails_a_path_with_two_existing_readings(tmp_path: Path) -> None:
    dirty_cache(tmp_path, [INNER, OUTER])
    rep = tmp_path / "r.jsonl"
    with emulator(tmp_path, [A1]) as emu:
        proc = run(["flush", "--ip", A1, "--export", J, "--report", str(rep),
                    f"{J}/new-file.txt"], cli_env(emu))
        assert proc.returncode == 1, proc.stderr
        reason = str(report(rep)[f"{J}/new-file.txt"]["reason"])
        assert not written_back(tmp_path, INNER) and not written_back(tmp_path, OUTER)
        # --path-kind picks one: namespace reads it as the namespace path.
        proc = run(["flush", "--ip", A1, "--export", J, "--path-kind", "namespace",
                    f"{J}/new-file.txt"], cli_env(emu))
    assert proc.returncode == 0, proc.stderr
    assert reason.startswith("ambiguous: ")
    for words in (f"'{J}/new-file.txt'", f"'{J}/{INNER}'", "--path-kind namespace",
                  "--path-kind export"):
        assert words in reason, (words, reason)
    assert written_back(tmp_path, OUTER) and not written_back(tmp_path, INNER)


def test_flush_export_uses_the_one_reading_that_exists_and_says_which(tmp_path: Path) -> None:
    dirty_cache(tmp_path, ["NAS_12_exp5/only-inner.txt", "only-outer.txt"])
    rep = tmp_path / "r.jsonl"
    data = f"{J}/only-inner.txt\n{J}/only-outer.txt\n".encode()
    with emulator(tmp_path, [A1]) as emu:
        proc = run(["flush", "--ip", A1, "--export", J, "-v", "--report", str(rep)],
                   cli_env(emu), data)
    assert proc.returncode == 0, proc.stderr
    assert_written_back(tmp_path, [b"NAS_12_exp5/only-inner.txt", b"only-outer.txt"])
    got = report(rep)
    inner = f"read relative to the export as '{J}/NAS_12_exp5/only-inner.txt'"
    outer = f"read as the namespace path '{J}/only-outer.txt'"
    assert inner in str(got[f"{J}/only-inner.txt"]["reason"])
    assert outer in str(got[f"{J}/only-outer.txt"]["reason"])
    err = proc.stderr.decode()
    assert inner in err and outer in err  # -v


def test_a_directory_without_recursive_is_a_failure(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["d/a", "d/b"])
    with emulator(tmp_path, [A1]) as emu:
        env = cli_env(emu)
        flush = run(["flush", "--ip", A1, "--export", J, "d"], env)
        ff = run(["flush-file", J, A1], env, b"/d\n")
        assert not any(written_back(tmp_path, n.decode()) for n in names)
        recursive = run(["flush-file", J, A1, "--recursive"], env, b"/d\n")
    assert flush.returncode == 1 and ff.returncode == 1
    assert "failed d: is a directory; use --recursive" in flush.stderr.decode()
    assert "ERROR failed /d: is a directory; use --recursive" in ff.stderr.decode()
    assert recursive.returncode == 0, recursive.stderr
    assert_written_back(tmp_path, names)


# --- where flush-file differs from flush_file.py on purpose: each listed difference ----------


@pytest.fixture(scope="module")
def help_text() -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="400")
    return " ".join(run(["flush-file", "--help"], env).stdout.decode().split())


@pytest.mark.parametrize("key", ["relative paths", "empty lines", "'//'", "duplicates",
                                 "output lines", "exit code 1", "--threads", "without --sync"])
def test_each_difference_is_listed_in_help_and_readme(help_text: str, key: str) -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    listed = [d for d in DIFFERENCES if d.startswith(key) or f" {key}" in d]
    assert listed, key
    assert listed[0].split(" (")[0].rstrip(";.") in help_text
    assert key in readme.split("### flush-file and flush_file.py")[1], key


def test_differences_relative_empty_slashes_duplicates_format_exit(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["x/rel", "x/slashes", "x/dup"])
    data = b"x/rel\n\n   \n/x//slashes/\n/x/dup\n/x/./dup\n/x/missing\n"
    with emulator(tmp_path, [A1]) as emu:
        proc = run(["flush-file", J, A1], cli_env(emu), data)
    lines = proc.stderr.decode().splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: "
    # Output lines: flush_file.py's words without Thread=NN, handle or mtime.
    flushed = [m for m in (re.fullmatch(stamp + r"Flushed (\S+) in \d+\.\d{6}sec", x)
                           for x in lines) if m]
    # Relative paths are read relative to EXPORT; '//' and a trailing '/' are normalised.
    assert sorted(m.group(1) for m in flushed) == ["/x//slashes/", "/x/dup", "x/rel"]
    assert_written_back(tmp_path, names)
    # Duplicates: flushed once, the repeat says so.
    assert any(re.fullmatch(stamp + "Skipped /x/./dup: duplicate of an earlier input", x)
               for x in lines)
    # Empty lines are no paths: the one ERROR is the missing file.
    errors = [x for x in lines if "ERROR" in x]
    assert len(errors) == 2 and "/x/missing" in errors[0], errors
    assert errors[1].endswith(": 1 ERRORS encountered. grep ERROR in output for details.")
    assert not any("Thread=" in x or "mtime=" in x for x in lines)
    assert proc.returncode == 1  # flush_file.py: 255


# --- one line per error ---------------------------------------------------------------------


def test_an_unreachable_address_is_reported_once(tmp_path: Path) -> None:
    with emulator(tmp_path, [A1], faults={"down_addresses": [A1]}) as emu:
        for args in (["flush", "--ip", A1, "--export", J], ["flush-file", J, A1]):
            proc = run(args, cli_env(emu), b"a\nb\nc\n")
            out = proc.stdout.decode() + proc.stderr.decode()
            assert proc.returncode == 4, out
            # Each file names the address; its error is told once, in the last line.
            assert [x for x in out.splitlines() if f"{A1}: " in x] == [out.splitlines()[-1]]
            assert f"a: cache unreachable: no mount address answers ({A1})" in out
            assert out.splitlines()[-1].startswith(
                f"hpccache: error: cache unreachable: no mount address answers ({A1}: ")


def test_an_export_that_is_no_junction_is_bad_input(tmp_path: Path) -> None:
    failed = tmp_path / "failed.lst"
    with emulator(tmp_path, [A1]) as emu:
        for args, export in (
                (["flush", "--ip", A1, "--export", "/NOPE", "--failed-to", str(failed)],
                 "--export"),
                (["flush-file", "/NOPE", A1], "EXPORT")):  # each command's own name for it
            proc = run(args, cli_env(emu), b"a\nb\n")
            assert proc.returncode == 2, proc.stderr
            assert proc.stdout == b""
            assert proc.stderr.decode().splitlines() == [
                "hpccache: error: the cache has no junction '/NOPE' (MNT3ERR_NOENT); check "
                f"{export}: it must be a junction (namespace path) of the cache, as "
                "`hpccache namespace` lists them"]
