"""A broken or hostile server cannot fake success: a flush COMMIT reply is believed only
whole, and a malformed one fails the file as a protocol error (issue #11 §6).

Runs the flush engine over real TCP against the scripted server of ``test_nfs_transport``,
which can answer COMMIT with any bytes.
"""

from __future__ import annotations

import pytest
from bounded_support import run_bounded
from test_flush_support import FAST
from test_nfs_transport import RpcTestServer

from hpccache_cli.flush.api import flush_paths_async
from hpccache_cli.flush.results import FlushSummary, Outcome
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
