"""Start-up: each command imports only what its path needs (issue #14).

Speed itself is measured in benchmarks/startup.py, never asserted here. What is asserted is
what decides it and can regress silently: which packages a command imports, seen from
``python -X importtime`` of the real command in a subprocess, as a user runs it. And the
plain-value converters that keep pydantic out (hpccache_cli.cli.fast_params) must give the
same values as Typer's own adapters, or hand over to them.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer._adapters import build_adapter
from typer.models import OptionInfo

from hpccache_cli import __version__
from hpccache_cli.cli.fast_params import converter_for
from tests.startup_support import ROOT, run_probed, within

MOUNTINFO = ROOT / "tests" / "fixtures" / "mountinfo" / "docs_junction.mountinfo"

#: Never on these paths: the Azure SDK, Typer's pydantic adapters, Rich (no terminal, no
#: help), the emulator, a thread pool.
HEAVY = ("azure", "pydantic", "pydantic_core", "rich", "hpccache_cli.emulator",
         "concurrent.futures.thread", "importlib.metadata")


def test_version_imports_neither_typer_nor_the_app(tmp_path: Path) -> None:
    names, proc = run_probed(tmp_path, "--version")
    assert proc.returncode == 0
    assert proc.stdout.decode() == f"hpccache {__version__}\n"
    assert not {n for n in names if n.split(".")[0] in ("typer", "asyncio")}, names
    assert "hpccache_cli.cli.app" not in names
    assert within(names, HEAVY) == []


def test_flush_file_with_empty_input_imports_no_heavy_package(tmp_path: Path) -> None:
    names, proc = run_probed(tmp_path, "flush-file", "/NAS_12_exp5", "127.0.0.1")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert within(names, HEAVY) == []


#: What only some outputs need: the JUnit report's XML escaping (xml.sax.saxutils brings
#: urllib.request, http.client and email), and secrets for a temporary name.
REPORT_ONLY = ("xml", "email", "http", "urllib.request", "secrets", "hmac")


@pytest.mark.parametrize("command", [
    ("flush-file", "/NAS_12_exp5", "127.0.0.1"),
    ("flush", "--export", "/NAS_12_exp5", "--ip", "127.0.0.1", "-q", "-o", "json"),
])
def test_flush_without_a_report_imports_no_report_only_module(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    names, proc = run_probed(tmp_path, *command)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert sorted(n for n in names if n.startswith("hpccache_cli.flush")), names
    found = sorted(n for n in names if any(n == m or n.startswith(m + ".") for m in REPORT_ONLY))
    assert found == [], found
    # Azure's client code (credentials, subscriptions) only when Azure options are given
    assert "hpccache_cli.control.client" not in names


def test_path_with_mountinfo_imports_no_heavy_package_and_no_asyncio(tmp_path: Path) -> None:
    names, proc = run_probed(tmp_path, "path", "/mnt/cache/NAS_12_exp5/a.txt", "--mountinfo",
                           str(MOUNTINFO), "-o", "json")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert b"/NAS_12_exp5/a.txt" in proc.stdout
    assert within(names, HEAVY) == []
    assert "asyncio" not in names


def test_help_imports_no_pydantic_azure_or_rich(tmp_path: Path) -> None:
    names, proc = run_probed(tmp_path, "--help")
    assert proc.returncode == 0
    assert b"flush-file" in proc.stdout
    assert within(names, HEAVY) == []


#: What only a run that sends something needs: the event loop (asyncio brings ssl), sockets,
#: thread pools, the NFS client and its codecs, the flush engine (issue #14: a flush with
#: nothing to read ends before any of it is loaded).
SENDING = ("asyncio", "ssl", "socket", "concurrent.futures", "hpccache_cli.nfs.client",
           "hpccache_cli.nfs.transport", "hpccache_cli.nfs.rpc", "hpccache_cli.nfs.mount",
           "hpccache_cli.nfs.nfs3", "hpccache_cli.nfs.xdr", "hpccache_cli.flush.engine",
           "hpccache_cli.flush.session", "hpccache_cli.flush.pool", "hpccache_cli.flush.flow")


@pytest.mark.parametrize("command", [
    ("flush-file", "/NAS_12_exp5", "127.0.0.1"),
    ("flush", "--export", "/NAS_12_exp5", "--ip", "127.0.0.1"),
    ("flush", "--export", "/NAS_12_exp5", "--ip", "127.0.0.1", "-q", "-o", "json"),
], ids=["flush-file", "flush", "flush-json"])
def test_a_flush_with_nothing_to_read_loads_no_engine_client_or_event_loop(
    tmp_path: Path, command: tuple[str, ...],
) -> None:
    names, proc = run_probed(tmp_path, *command)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert "hpccache_cli.cli.flush.runner" in names  # the run was set up, options checked
    # nor, for --ip/--export, the mount table and junction code, the fallback or ARM's client
    others = ("hpccache_cli.paths", "hpccache_cli.cli.flush.fallback",
              "hpccache_cli.jobs.flush.fallback", "hpccache_cli.jobs.flush.cache_state",
              "hpccache_cli.control.client")
    assert within(names, SENDING + HEAVY + others) == []


def test_a_refresh_with_nothing_to_read_loads_no_engine_client_or_event_loop(
    tmp_path: Path,
) -> None:
    names, proc = run_probed(tmp_path, "refresh", "--export", "/NAS_12_exp5", "--ip",
                             "127.0.0.1", "-o", "json")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert b'"mode": "refresh"' in proc.stdout
    assert "hpccache_cli.cli.refresh_run" in names
    assert within(names, SENDING + HEAVY + ("hpccache_cli.flush.refresh",)) == []


@pytest.mark.parametrize("args", [
    ("only-a-source",),
    ("src", "../outside-the-junction"),
], ids=["no-dest", "bad-dest"])
def test_a_copy_refused_for_its_usage_loads_no_engine_client_or_event_loop(
    tmp_path: Path, args: tuple[str, ...],
) -> None:
    names, proc = run_probed(tmp_path, "copy", "--export", "/NAS_12_exp5", "--ip",
                             "127.0.0.1", "--path-kind", "export", *args)
    assert proc.returncode == 2, proc.stderr.decode()[-2000:]
    assert proc.stderr.decode().startswith("hpccache: error: ")
    assert within(names, SENDING + HEAVY + ("hpccache_cli.flush.copy",
                                            "hpccache_cli.nfs.nfs3_write")) == []


def test_path_loads_no_arm_client_junction_code_or_socket(tmp_path: Path) -> None:
    names, proc = run_probed(tmp_path, "path", "/mnt/cache/NAS_12_exp5/a.txt", "--mountinfo",
                         str(MOUNTINFO), "-o", "json")
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert b'"namespace_path": "/NAS_12_exp5/a.txt"' in proc.stdout
    assert "hpccache_cli.paths.translate" in names
    # the resolution cache is read without ARM's client code (credentials, subscriptions);
    # junctions and storage targets only with a layout; no host name is looked up
    others = ("hpccache_cli.control.client", "hpccache_cli.control.arm_errors",
              "hpccache_cli.paths.junctions", "hpccache_cli.nfs", "hpccache_cli.flush.inputs")
    assert within(names, SENDING + HEAVY + others) == []


def test_bad_values_keep_typers_messages(tmp_path: Path) -> None:
    """Values the fast path is unsure of go to Typer's adapter: its words, its exit code.
    (flush's and flush-file's numbers are the library's to check since #18: demo's are not.)"""
    _, proc = run_probed(tmp_path, "demo", "--files", "0")
    assert proc.returncode == 2
    assert "greater than or equal to 1" in proc.stderr.decode()


class Color(str, Enum):
    red = "red"
    blue = "blue"


CASES = [(int, OptionInfo(min=1)), (int, OptionInfo()), (float, OptionInfo(min=0)),
         (str, OptionInfo()), (Color, OptionInfo()), (list[str], OptionInfo()),
         (Path, OptionInfo())]


@pytest.mark.parametrize(("annotation", "info"), CASES)
@settings(max_examples=150, deadline=None)
@given(value=st.one_of(
    st.integers(-5, 10**6), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8), st.sampled_from(["1", "007", ".5", "5.", "1e3", "-1", " 2", "red",
                                          "RED", "blue", "1_0", "0x1"]),
    st.lists(st.text(max_size=4), max_size=3),
))
def test_fast_values_equal_typers_adapters(annotation: object, info: OptionInfo,
                                           value: object) -> None:
    convert = converter_for(annotation, info)
    assert convert is not None
    try:
        fast = convert(value, None)
    except Exception:
        return  # unsure: Typer's adapter decides (checked above through the CLI)
    slow = build_adapter(annotation, info).validate_python(value)
    assert fast == slow and type(fast) is type(slow)
