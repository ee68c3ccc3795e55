"""Inputs checked before any packet (issue #11 §7): a mount address that is not an IP
address, a -j beyond the cap, a portmapper's impossible port, whitespace-only lines.

The CLI runs here with a ``sitecustomize`` that ends the process (exit 99) at the first
socket connect or name lookup, so "exit 2 with one line" also proves nothing was sent: the
non-loopback strings of the issue (``10.0.0.1:99999``...) never reach a socket.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from flush_cache_support import one_error_line
from test_flush_support import CLI, ROOT, by_path, dirty_cache, emulator, flush
from test_nfs_transport import RpcTestServer

from hpccache_cli.flush.results import Outcome
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.errors import ProtocolError
from hpccache_cli.nfs.portmap_client import getport

NO_NETWORK = '''
import os, socket, sys
def _refuse(*args, **kwargs):
    sys.stderr.write("network used\\n")
    os._exit(99)
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.getaddrinfo = _refuse
socket.create_connection = _refuse
'''


def run_offline(
    tmp_path: Path, args: list[str], data: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    guard = tmp_path / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(NO_NETWORK)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(guard), str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run([*CLI, *args], input=data, capture_output=True, env=env,
                          timeout=60, check=False)


def test_the_guard_catches_a_connect(tmp_path: Path) -> None:
    """The guard itself: a run that would connect ends with 99, not with its own verdict."""
    proc = run_offline(tmp_path, ["flush", "--ip", "127.0.0.1", "--export", "/x", "--nfs-port",
                                  "9", "--mount-port", "9", "f"])
    assert proc.returncode == 99, proc.stderr


@pytest.mark.parametrize(
    ("ip", "says"),
    [("foo", "not an IPv4 or IPv6 address"), ("localhost", "host names are not looked up"),
     ("999.1.1.1", "not an IPv4 or IPv6 address"), ("10.0.0.1:99999", "has a port"),
     ("127.0.3.11/24", "network"), ("[::1]", "without brackets (::1)"),
     ("http://127.0.0.1/", "is a URL"), ("127.0.0.1,bogus", "'bogus'")],
)
def test_a_mount_address_that_is_not_an_ip_is_exit_2_before_any_packet(
    tmp_path: Path, ip: str, says: str
) -> None:
    proc = run_offline(tmp_path, ["flush", "--ip", ip, "--export", "/NAS_12_exp5", "a/file"])
    assert proc.returncode == 2, proc.stderr
    line = one_error_line(proc)
    assert "--ip" in line and says in line, line


def test_flush_file_checks_its_server_argument_too(tmp_path: Path) -> None:
    proc = run_offline(tmp_path, ["flush-file", "/NAS_12_exp5", "cache.example:2049"],
                       data=b"a/file\n")
    assert proc.returncode == 2 and "not an IPv4 or IPv6 address" in one_error_line(proc)


def test_concurrency_has_an_upper_bound(tmp_path: Path) -> None:
    proc = run_offline(tmp_path, ["flush", "-j", "100000", "--ip", "127.0.0.1", "--export",
                                  "/NAS_12_exp5", "a/file"])
    assert proc.returncode == 2, proc.stderr
    assert "at most 4096, not 100000" in one_error_line(proc)


class _BadPortmapper(RpcTestServer):
    """A portmapper that answers GETPORT with a number no TCP port can have."""

    def _portmap(self, proc: nfs3.Procedure, xid: int, args: object, w: object) -> object:
        return (70000,)


def test_a_portmapper_port_beyond_65535_is_a_protocol_error_naming_it() -> None:
    async def body() -> None:
        server = _BadPortmapper()
        await server.start()
        try:
            with pytest.raises(ProtocolError, match=r"portmapper at 127\.0\.0\.1:\d+ answered "
                                                    r"port 70000 for NFS"):
                await getport("127.0.0.1", nfs3.PROGRAM, nfs3.VERSION, server.port, 10.0)
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(body(), 30))


def test_whitespace_only_lines_are_skipped_with_a_reason(tmp_path: Path) -> None:
    names = dirty_cache(tmp_path, ["w/a"])
    with emulator(tmp_path, ["127.0.11.31"]) as emu:
        summary = flush(emu, [names[0], b" ", b"\t \t"])
    got = by_path(summary)
    assert got[names[0]].outcome is Outcome.FLUSHED
    for blank in (b" ", b"\t \t"):
        assert got[blank].outcome is Outcome.SKIPPED and got[blank].kind == "blank"
        assert got[blank].reason == "only whitespace: not a path"
