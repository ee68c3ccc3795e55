"""A broken or hostile server cannot fake success: a flush COMMIT reply is believed only
whole, and a malformed one fails the file as a protocol error (issue #11 §6).

Runs the flush engine over real TCP against the scripted server of ``test_nfs_transport``,
which can answer COMMIT with any bytes.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from bounded_support import run_bounded
from test_flush_support import CLI, FAST, ROOT
from test_nfs_transport import RpcTestServer, server_thread

from hpccache_cli.flush.api import flush_paths_async, make_options, run_flush
from hpccache_cli.flush.inputs import IterableSource
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.results import FlushSummary, Outcome
from hpccache_cli.flush.sinks import Sink
from hpccache_cli.nfs import nfs3

OK = nfs3.Nfsstat3.NFS3_OK


def _flush_against(commit_results: bytes | None) -> FlushSummary:
    async def body() -> FlushSummary:
        server = RpcTestServer(files=3)
        server.commit_results = commit_results
        await server.start()
        try:
            return await flush_paths_async(
                [b"f0", b"f1", b"f2"], ips=["127.0.0.1"], export=b"/export",
                mount_port=server.port, nfs_port=server.port, policies=FAST, timeout=10.0,
            )
        finally:
            await server.stop()

    return run_bounded(body())


_VALID_NO_ATTRS = nfs3.COMMIT.res.encode((OK, nfs3.CommitOk()))
_VALID_POST_OP = nfs3.COMMIT.res.encode(
    (OK, nfs3.CommitOk(nfs3.WccData(None, nfs3.Fattr3(type=nfs3.Ftype3.NF3REG))))
)


@pytest.mark.parametrize(
    "results",
    [b"\0\0\0\0", _VALID_NO_ATTRS[:-3], _VALID_NO_ATTRS + b"\0\0\0\0",
     _VALID_POST_OP[:40], b"\0\0\0\0\0\0\0\x07" + _VALID_NO_ATTRS[8:]],
    ids=["status-word-only", "verifier-cut", "trailing-bytes", "attributes-cut", "bad-flag"],
)
def test_a_malformed_commit_reply_fails_the_file_as_a_protocol_error(results: bytes) -> None:
    summary = _flush_against(results)
    assert summary.results is not None and len(summary.results) == 3
    for result in summary.results:
        assert result.outcome == Outcome.FAILED, result
        assert result.kind == "rpc" and "malformed COMMIT reply" in result.reason


@pytest.mark.parametrize("results", [_VALID_NO_ATTRS, _VALID_POST_OP],
                         ids=["no-attrs", "post-op-attrs"])
def test_a_whole_commit_reply_is_believed(results: bytes) -> None:
    summary = _flush_against(results)
    assert summary.results is not None
    assert [r.outcome for r in summary.results] == [Outcome.CLEAN] * 3


# --- a server that breaks every COMMIT reply half-way (issue #19) ----------------------------


class _Lines(Sink):
    """The run-level lines the engine logs (what ``-v`` prints)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


def _flush_broken(how: str, files: int = 1) -> tuple[FlushSummary, int, list[str]]:
    """Flush ``files`` files against a server that breaks each COMMIT reply half-way
    (``how``: "reset" or "close"); the summary, the COMMITs it got and the logged lines."""
    lines = _Lines()
    commits: list[int] = []

    async def body() -> FlushSummary:
        server = RpcTestServer(files=files)
        server.commit_break = how
        await server.start()
        try:
            names = [b"f%d" % i for i in range(files)]
            options = make_options(mount_port=server.port, nfs_port=server.port,
                                   policies=FAST, timeout=3.0)
            return await run_flush(IterableSource(names),
                                   ExportResolver(["127.0.0.1"], b"/export"), options, lines,
                                   collect=True)
        finally:
            commits.append(len(server.commits))
            await server.stop()

    summary = run_bounded(body())
    return summary, commits[0], lines.lines


@pytest.mark.parametrize("how", ["reset", "close"])
def test_a_server_that_breaks_every_commit_reply_is_not_hammered(how: str) -> None:
    """21,413 COMMITs and reconnects in 20 s for one file before: the reconnects now back off
    (FAST caps the pause at 0.2 s: at most ~15 per 3 s, x2 for jitter), and the file's reason
    says what happened and how often, not "no reply to COMMIT in 0 s"."""
    summary, commits, lines = _flush_broken(how)
    (result,) = summary.results or []
    assert result.outcome == Outcome.FAILED and result.kind == "timeout", result
    word = "reset" if how == "reset" else "closed"
    assert re.search(rf"COMMIT: connection {word} by 127\.0\.0\.1 (\d+ times|once)",
                     result.reason), result.reason
    assert " in 0 s" not in result.reason
    assert 2 <= commits <= 100, commits
    # Repeated lines are summarised: a few per address and kind, with the count held back.
    assert len(lines) <= 20, lines
    assert any("more like this" in x or "like this in the last" in x for x in lines), lines


def test_many_files_on_a_breaking_server_share_the_back_off() -> None:
    """A variant: 20 files at once; the others' answered LOOKUPs do not reset the back-off."""
    summary, commits, lines = _flush_broken("reset", files=20)
    assert summary.results is not None and len(summary.results) == 20
    assert all(r.outcome == Outcome.FAILED for r in summary.results)
    assert all("connection reset by 127.0.0.1" in r.reason for r in summary.results)
    assert commits <= 20 * 40, commits
    assert len(lines) <= 20, lines


def test_the_cli_summarises_a_reset_storm_in_a_few_lines() -> None:
    """As a user sees it (``flush -v``, default timings): 45,133 stderr lines before; now a
    few, with how many were held back, and the failure line counts the resets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HPCCACHE_", "AZURE_"))}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with server_thread(files=1) as server:
        server.commit_break = "reset"
        proc = subprocess.run(
            [*CLI, "flush", "-v", "--ip", "127.0.0.1", "--export", "/export", "f0",
             "--timeout", "5", "--mount-port", str(server.port), "--nfs-port",
             str(server.port)], capture_output=True, env=env, timeout=120, check=False)
        commits = len(server.commits)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) <= 30, err
    failed = [x for x in lines if x.startswith("failed f0")]
    assert len(failed) == 1 and re.search(
        r"COMMIT: connection reset by 127\.0\.0\.1 (\d+ times|once)", failed[0]), err
    assert any("like this in the last" in x for x in lines), err
    assert commits <= 30, commits
