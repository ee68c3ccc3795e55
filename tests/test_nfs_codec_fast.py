"""The codec's fast paths give exactly what the field-by-field codec gives.

Fixed-layout structs (``Fattr3``, times, ...) are packed and unpacked with one precompiled
``struct.Struct``; RPC call headers and accepted replies have a one-call path; flush COMMITs
are checked whole but decoded for their status alone. Each is checked here against an
independent slow path (every field through its own type), including the errors out-of-range
values must raise.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpccache_cli.nfs import nfs3, rpc, xdr
from hpccache_cli.nfs.errors import ProtocolError
from tests.test_nfs_codec import opaque_auth, strategy_for

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIXED = [nfs3.Fattr3.xdr, nfs3.NfsTime3.xdr, nfs3.WccAttr.xdr]


def slow_pack(t: xdr.XdrType[Any], value: Any) -> bytes:
    """Field by field, as the codec did before the fast path (nested structs too)."""
    if isinstance(t, xdr.Struct):
        return b"".join(slow_pack(sub, getattr(value, name)) for name, sub in t.spec)
    return t.encode(value)


def test_the_attribute_structs_take_the_fast_path() -> None:
    for t in FIXED:
        assert t.code is not None, t.cls.__name__
    assert nfs3.Fattr3.xdr.code is not None and len(nfs3.Fattr3.xdr.encode(
        nfs3.Fattr3(type=nfs3.Ftype3.NF3REG))) == 84  # RFC 1813 fattr3: 84 bytes
    assert nfs3.LookupOk.xdr.code is None  # has an opaque handle: field by field


@pytest.mark.parametrize("t", FIXED, ids=lambda t: t.cls.__name__)
@FAST
@given(data=st.data())
def test_fast_struct_encoding_equals_the_field_by_field_one(
    t: xdr.Struct, data: st.DataObject
) -> None:
    value = data.draw(strategy_for(t))
    encoded = t.encode(value)
    assert encoded == slow_pack(t, value)
    assert t.decode(encoded) == value


@pytest.mark.parametrize(
    "value",
    [
        nfs3.Fattr3(type=nfs3.Ftype3.NF3REG, size=-1),
        nfs3.Fattr3(type=nfs3.Ftype3.NF3REG, uid=2**32),
        nfs3.Fattr3(type=nfs3.Ftype3.NF3REG, mtime=nfs3.NfsTime3(2**32, 0)),
        nfs3.Fattr3(type=nfs3.Ftype3.NF3REG, mode=None),  # type: ignore[arg-type]
        nfs3.Fattr3(type=nfs3.Ftype3.NF3REG, atime=None),  # type: ignore[arg-type]
    ],
    ids=["negative-u64", "u32-overflow", "nested-overflow", "none-field", "none-struct"],
)
def test_fast_struct_refuses_what_does_not_fit_with_xdr_error(value: nfs3.Fattr3) -> None:
    with pytest.raises(xdr.XdrError):
        nfs3.Fattr3.xdr.encode(value)


def test_fast_struct_decodes_unknown_lenient_enum_values_to_their_number() -> None:
    encoded = bytearray(nfs3.Fattr3.xdr.encode(nfs3.Fattr3(type=nfs3.Ftype3.NF3DIR)))
    encoded[0:4] = (99).to_bytes(4, "big")
    assert nfs3.Fattr3.xdr.decode(bytes(encoded)).type == 99


@FAST
@given(
    xid=st.integers(0, 2**32 - 1), proc=st.integers(0, 2**32 - 1),
    args=st.binary(max_size=32), cred=opaque_auth, verf=opaque_auth,
)
def test_call_header_equals_the_field_by_field_encoding(
    xid: int, proc: int, args: bytes, cred: rpc.OpaqueAuth, verf: rpc.OpaqueAuth
) -> None:
    p = xdr.Packer()
    for word in (xid, rpc.MsgType.CALL, rpc.RPC_VERSION, 100003, 3, proc):
        p.u32(int(word))
    for auth in (cred, verf):
        p.u32(auth.flavor)
        p.opaque(auth.body)
    assert rpc.encode_call(xid, 100003, 3, proc, args, cred, verf) == p.bytes() + args


def test_call_header_out_of_range_is_an_xdr_error() -> None:
    with pytest.raises(xdr.XdrError):
        rpc.encode_call(2**32, 100003, 3, 0)


@FAST
@given(xid=st.integers(0, 2**32 - 1), flavor=st.integers(0, 2**32 - 1),
       results=st.binary(max_size=64))
def test_accepted_reply_fast_path_keeps_the_verifier_flavor_and_body(
    xid: int, flavor: int, results: bytes
) -> None:
    reply = rpc.decode_reply(rpc.encode_reply(xid, results=results,
                                              verf=rpc.OpaqueAuth(flavor)))
    assert (reply.xid, reply.verf.flavor, reply.verf.body, reply.body) == (
        xid, flavor, b"", results)
    assert reply.check() == results


@FAST
@given(xid=st.integers(0, 2**32 - 1), results=st.binary(max_size=64),
       accept=st.sampled_from(list(rpc.AcceptStat)), flavor=st.sampled_from([0, 1, 6]),
       cut=st.integers(0, 40))
def test_split_reply_agrees_with_the_full_decoder(
    xid: int, results: bytes, accept: rpc.AcceptStat, flavor: int, cut: int
) -> None:
    """The transport's one-unpack path for every reply: the xid, and the results exactly
    when the full decoder calls it a success with an empty verifier body; a message too short
    for an xid is a protocol error, one too short for a header goes the full way."""
    denied = rpc.encode_denied(xid, rpc.RejectStat.AUTH_ERROR)
    for msg in (rpc.encode_reply(xid, accept, results, rpc.OpaqueAuth(flavor)), denied):
        msg = msg[:cut] if cut < 28 else msg
        if len(msg) < 4:
            with pytest.raises(ProtocolError):
                rpc.split_reply(msg)
            continue
        got_xid, got = rpc.split_reply(msg)
        assert got_xid == xid and got == rpc.accepted_results(msg)
        if got is not None:
            reply = rpc.decode_reply(msg)
            assert (reply.accept_stat, reply.verf.body, reply.body) == (0, b"", got)


@FAST
@given(data=st.data())
def test_flush_commit_reads_the_status_of_every_commit_result(data: st.DataObject) -> None:
    value = data.draw(strategy_for(nfs3.COMMIT.res))
    assert nfs3.FLUSH_COMMIT.res.decode(nfs3.COMMIT.res.encode(value)) == int(value[0])


@FAST
@given(data=st.data())
def test_flush_commit_refuses_every_cut_or_extended_reply(data: st.DataObject) -> None:
    """A reply is believed only whole: any strict prefix, extension or non-boolean flag of
    a COMMIT result (with or without pre/post-op attributes) is a ProtocolError, never a
    status. Before, a lone status word 0 read as "flushed"."""
    encoded = nfs3.COMMIT.res.encode(data.draw(strategy_for(nfs3.COMMIT.res)))
    for n in range(len(encoded)):
        with pytest.raises(ProtocolError):
            nfs3.FLUSH_COMMIT.res.decode(encoded[:n])
    with pytest.raises(ProtocolError):
        nfs3.FLUSH_COMMIT.res.decode(encoded + data.draw(st.binary(min_size=1, max_size=8)))
    with pytest.raises(ProtocolError, match="not a boolean"):
        nfs3.FLUSH_COMMIT.res.decode(encoded[:4] + b"\0\0\0\x02" + encoded[8:])


@pytest.mark.parametrize("post_op", [None, nfs3.Fattr3(type=nfs3.Ftype3.NF3REG, size=7)],
                         ids=["no-attrs", "post-op-attrs"])
def test_flush_commit_accepts_replies_with_and_without_attributes(
    post_op: nfs3.Fattr3 | None,
) -> None:
    wcc = nfs3.WccData(None, post_op)
    ok = nfs3.COMMIT.res.encode((nfs3.Nfsstat3.NFS3_OK, nfs3.CommitOk(wcc, b"v" * 8)))
    failed = nfs3.COMMIT.res.encode((nfs3.Nfsstat3.NFS3ERR_NOTEMPTY, wcc))
    assert nfs3.FLUSH_COMMIT.res.decode(ok) == nfs3.Nfsstat3.NFS3_OK
    assert nfs3.FLUSH_COMMIT.res.decode(failed) == nfs3.Nfsstat3.NFS3ERR_NOTEMPTY
