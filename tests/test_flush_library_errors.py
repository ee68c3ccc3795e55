"""The library speaks Python, the CLI speaks flags (issue 12 §2), for the flush library.

A script's bad value raises a typed error whose text names the keyword it passed
(``concurrency``, ``export``, ``ips``, ``path_kind``), with ``fields`` and a machine-readable
``hint``; the command renders the same error with its flags through one table
(``hpccache_cli.cli.flags.FLAGS``), so what a user of the command line reads does not change.
And no string the flush library (or the NFS client, whose errors share the mechanism) builds
names a flag: checked over their source, docstrings and comments aside.
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flush_cache_support import one_error_line
from test_flush_inputs_checked import _BadPortmapper, run_offline

from hpccache_cli.cli.flags import FLAGS
from hpccache_cli.errors import EXIT_AZURE, EXIT_USAGE, AzureError, FieldError, UsageError
from hpccache_cli.flush import (
    ExportResolver,
    FlushOptionError,
    LayoutResolver,
    flush_paths,
    make_options,
)
from hpccache_cli.flush.addresses import check_ip
from hpccache_cli.flush.errors import NoMountAddresses
from hpccache_cli.flush.results import FileResult
from hpccache_cli.layout import CacheLayout
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.errors import ProtocolError
from hpccache_cli.nfs.portmap_client import getport

PACKAGE = Path(__file__).resolve().parent.parent / "hpccache_cli"
IP = "127.0.0.1"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def flush_with(**kwargs: object) -> Callable[[], object]:
    """``flush_paths`` of one path with ``kwargs`` over good defaults (never reaches a socket:
    every case fails while the run is set up)."""
    args: dict[str, object] = {"ips": [IP], "export": "/NAS_12_exp5", **kwargs}
    return lambda: flush_paths(["f"], **args)  # type: ignore[arg-type]


#: (call, its Python message, fields, hint, the message the CLI renders: today's text)
CASES = [
    (flush_with(concurrency=0), "concurrency must be at least 1, not 0", ("concurrency",),
     "too_small", "--concurrency (-j; flush-file --threads) must be at least 1, not 0"),
    (flush_with(concurrency=5000),
     "concurrency must be at most 4096, not 5000: more files in flight only queue up at the "
     "cache while costing memory and start-up time here", ("concurrency",), "too_large",
     "--concurrency (-j; flush-file --threads) must be at most 4096, not 5000: more files in "
     "flight only queue up at the cache while costing memory and start-up time here"),
    (flush_with(export="/a/../b"), "export '/a/../b' must not contain '..'", ("export",),
     "dotdot", "--export '/a/../b' must not contain '..'"),
    (flush_with(export="/" + "x" * 2000), "export is longer than 1024 bytes", ("export",),
     "too_long", "--export is longer than 1024 bytes"),
    (flush_with(ips=[]), "give at least one cache mount address with ips", ("ips",),
     "missing", "give at least one cache mount address with --ip"),
    (flush_with(mode="fast"), "mode must be auto, async or sync, not 'fast'", ("mode",),
     "invalid_choice", "--mode must be auto, async or sync, not 'fast'"),
    (flush_with(timeout=-1), "timeout must be 0 (no limit) or a positive number of seconds",
     ("timeout",), "too_small",
     "--timeout must be 0 (no limit) or a positive number of seconds"),
    (flush_with(retries=-1), "retries must be 0 or more", ("retries",), "too_small",
     "--retries must be 0 or more"),
    (flush_with(connections=0), "connections must be at least 1", ("connections",),
     "too_small", "--connections must be at least 1"),
    (flush_with(status_only=True, wait=False),
     "status_only=True only asks; do not combine it with mode sync or wait=False",
     ("status_only", "mode", "wait"), "conflict",
     "--status-only only asks; do not combine it with --mode sync or --no-wait"),
    (flush_with(mode="sync", wait=False),
     "wait=False starts write-backs without waiting, which mode sync cannot do; drop one of "
     "them", ("wait", "mode"), "conflict",
     "--no-wait starts write-backs without waiting, which --mode sync cannot do; drop one of "
     "them"),
    (lambda: make_options(concurrency=0).validate(), "concurrency must be at least 1, not 0",
     ("concurrency",), "too_small",
     "--concurrency (-j; flush-file --threads) must be at least 1, not 0"),
    (lambda: ExportResolver([IP], "/j", "sideways"),
     "path_kind must be one of export, namespace or None, not 'sideways'", ("path_kind",),
     "invalid_choice", "--path-kind must be one of export, namespace or None, not 'sideways'"),
    (lambda: check_ip("127.0.0.1:2049"),
     "ips '127.0.0.1:2049' has a port: give the mount address alone, e.g. 10.0.0.11 (hpccache "
     "cache show lists them); ports go in nfs_port/mount_port",
     ("ips", "nfs_port", "mount_port"), "port",
     "--ip '127.0.0.1:2049' has a port: give the mount address alone, e.g. 10.0.0.11 "
     "(hpccache cache show lists them); ports go in --nfs-port/--mount-port"),
    (lambda: check_ip("localhost"),
     "ips 'localhost' is not an IPv4 or IPv6 address (host names are not looked up): give the "
     "mount address alone, e.g. 10.0.0.11 (hpccache cache show lists them)", ("ips",),
     "not_an_ip",
     "--ip 'localhost' is not an IPv4 or IPv6 address (host names are not looked up): give "
     "the mount address alone, e.g. 10.0.0.11 (hpccache cache show lists them)"),
    (lambda: LayoutResolver(CacheLayout("c", "rg", (IP,)), path_kind="export"),
     "path_kind export means paths relative to an export (with ExportResolver); with a layout "
     "give namespace or client paths (path_kind namespace|local)",
     ("path_kind", "export", "ips", "layout"), "invalid_choice",
     "--path-kind export means paths relative to --export (with --ip); with --cache give "
     "namespace or client paths (--path-kind namespace|local)"),
]


@pytest.mark.parametrize(("call", "python", "fields", "hint", "cli"), CASES)
def test_a_bad_value_names_the_keyword_and_carries_field_and_hint(
    call: Callable[[], object], python: str, fields: tuple[str, ...], hint: str, cli: str,
) -> None:
    with pytest.raises(FlushOptionError) as caught:
        call()
    exc = caught.value
    assert str(exc) == python
    assert not FLAG.search(str(exc))
    assert (exc.fields, exc.hint) == (fields, hint)
    # still a usage error (exit 2) for the command, and a ValueError to Python callers
    assert isinstance(exc, UsageError) and isinstance(exc, ValueError)
    assert exc.exit_code == EXIT_USAGE
    assert exc.render(FLAGS) == cli


def test_no_mount_addresses_is_an_azure_error_naming_refresh() -> None:
    with pytest.raises(NoMountAddresses) as caught:
        LayoutResolver(CacheLayout("c", "rg", ()))
    exc = caught.value
    assert isinstance(exc, AzureError) and exc.exit_code == EXIT_AZURE
    assert (exc.fields, exc.hint) == (("refresh",), "no_mount_addresses")
    assert str(exc).endswith("try again with a fresh layout once it is running")
    assert exc.render(FLAGS).endswith("try again with --refresh once it is running")


def test_a_per_path_reason_names_the_keyword_unless_the_front_end_names_it() -> None:
    """Reasons are text made during the run: named by ``option_names`` (the CLI's table)."""
    for names, words in ((None, "not under the export junction /NAS_12_exp5 (path_kind "
                                "namespace)"),
                         (FLAGS, "not under the --export junction /NAS_12_exp5 (--path-kind "
                                 "namespace)")):
        out = ExportResolver([IP], "/NAS_12_exp5", "namespace",
                             option_names=names).resolve(b"/other/f")
        assert isinstance(out, FileResult)
        assert out.reason == f"{words}: refused"


@pytest.mark.parametrize(("args", "line"), [
    (["flush", "--ip", IP, "--export", "/a/../b", "f"],
     "--export '/a/../b' must not contain '..'"),
    (["flush-file", "/a/../b", IP], "EXPORT '/a/../b' must not contain '..'"),
    (["flush", "--ip", f"{IP}:2049", "--export", "/x", "f"],
     "--ip '127.0.0.1:2049' has a port: give the mount address alone, e.g. 10.0.0.11 "
     "(hpccache cache show lists them); ports go in --nfs-port/--mount-port"),
    (["flush", "--ip", IP, "--export", "/x", "--status-only", "--no-wait", "f"],
     "--status-only only asks; do not combine it with --mode sync or --no-wait"),
    (["flush", "--ip", IP, "--export", "/x", "--mode", "sync", "--no-wait", "f"],
     "--no-wait starts write-backs without waiting, which --mode sync cannot do; drop one of "
     "them"),
    (["flush", "--ip", IP, "--export", "/x", "-j", "5000", "f"],
     "--concurrency (-j; flush-file --threads) must be at most 4096, not 5000: more files in "
     "flight only queue up at the cache while costing memory and start-up time here"),
])
def test_the_command_still_names_its_flags(tmp_path: Path, args: list[str], line: str) -> None:
    """As a user sees it: one line naming the flag, exit 2, and no packet sent."""
    proc = run_offline(tmp_path, args, b"f\n")
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert one_error_line(proc) == f"hpccache: error: {line}"


def literals_naming_flags(source: str) -> list[str]:
    """The string literals of ``source`` (f-string parts too) that name a ``--flag``;
    docstrings are prose for readers of the code and may."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and FLAG.search(node.value)]


def test_the_checker_sees_a_flag_in_an_f_string_and_spares_docstrings() -> None:
    source = 'def f(n):\n    """Use --recursive."""\n    return f"is a dir; use --recursive {n}"\n'
    assert literals_naming_flags(source) == ["is a dir; use --recursive "]


@pytest.mark.parametrize("library", ["flush", "nfs"])
def test_no_string_of_the_libraries_names_a_flag(library: str) -> None:
    found = {f"{path.name}: {text!r}" for path in sorted((PACKAGE / library).rglob("*.py"))
             for text in literals_naming_flags(path.read_text(encoding="utf-8"))}
    assert not found, "name the keyword as {field} (FieldError / fill_fields) instead"


def test_a_broken_portmapper_names_the_port_keywords() -> None:
    """The one NFS message that still named flags (an impossible GETPORT answer)."""
    async def body() -> ProtocolError:
        server = _BadPortmapper()
        await server.start()
        try:
            with pytest.raises(ProtocolError) as caught:
                await getport(IP, nfs3.PROGRAM, nfs3.VERSION, server.port, 10.0)
            return caught.value
        finally:
            await server.stop()

    exc = asyncio.run(asyncio.wait_for(body(), 30))
    assert (exc.fields, exc.hint) == (("mount_port", "nfs_port"), "broken_portmapper")
    assert str(exc).endswith("a broken portmapper; give the port with mount_port/nfs_port")
    assert exc.render(FLAGS).endswith("give the port with --mount-port/--nfs-port")


def test_one_mechanism_for_nfs_and_flush_errors() -> None:
    from hpccache_cli.nfs.errors import NfsClientError

    assert issubclass(NfsClientError, FieldError) and issubclass(FlushOptionError, FieldError)
