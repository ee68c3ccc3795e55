"""The pure codecs: every declared type round-trips, and hostile bytes only raise ProtocolError.

Strategies are derived from the XDR type objects themselves (``strategy_for``), so a procedure
added to nfs3/mount/portmap is covered without touching this file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import struct
import tracemalloc
from enum import IntEnum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpccache_cli.nfs import mount, nfs3, portmap, rpc, xdr
from hpccache_cli.nfs.errors import (
    GarbageArgs,
    ProgramUnavailable,
    ProtocolError,
    RpcDenied,
    RpcError,
    RpcSystemError,
)

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_BYTES = 48  # opaque sizes drawn; large enough for padding cases, small enough to be quick
MAX_ITEMS = 4


def _enum_values(cls: type[IntEnum], lenient: bool) -> st.SearchStrategy[Any]:
    known = st.sampled_from(list(cls))
    if not lenient:
        return known
    values = {int(v) for v in cls}
    unknown = st.integers(0, 2**32 - 1).filter(lambda v: v not in values)
    return known | unknown


_PRIMS: dict[str, st.SearchStrategy[Any]] = {
    "u32": st.integers(0, 2**32 - 1),
    "i32": st.integers(-(2**31), 2**31 - 1),
    "u64": st.integers(0, 2**64 - 1),
    "i64": st.integers(-(2**63), 2**63 - 1),
    "boolean": st.booleans(),
}


def strategy_for(t: xdr.XdrType[Any]) -> st.SearchStrategy[Any]:
    """Values of XDR type ``t``, built by walking the type objects."""
    if isinstance(t, xdr._Prim):
        return _PRIMS[t.name]
    if isinstance(t, xdr.Void):
        return st.none()
    if isinstance(t, xdr.Fixed):
        return st.binary(min_size=t.n, max_size=t.n)
    if isinstance(t, xdr.Opaque):  # and String
        return st.binary(max_size=min(t.max_len, MAX_BYTES))
    if isinstance(t, xdr.Enum):
        return _enum_values(t.cls, t.lenient)
    if isinstance(t, xdr.Optional):
        return st.none() | strategy_for(t.inner)
    if isinstance(t, (xdr.Array, xdr.LinkedList)):
        return st.lists(strategy_for(t.inner), max_size=min(t.max_count, MAX_ITEMS))
    if isinstance(t, xdr.Struct):
        return st.builds(t.cls, **{name: strategy_for(sub) for name, sub in t.spec})
    if isinstance(t, xdr.StatusUnion):
        ok = st.tuples(st.just(t.status.cls(t.ok_value)), strategy_for(t.ok))
        failing = _enum_values(t.status.cls, t.status.lenient).filter(
            lambda s: int(s) != t.ok_value
        )
        return ok | st.tuples(failing, strategy_for(t.fail))
    if isinstance(t, rpc._AuthSysType):
        return auth_sys
    raise TypeError(f"no strategy for XDR type {t!r}; teach strategy_for about it")


auth_sys = st.builds(
    rpc.AuthSys,
    stamp=st.integers(0, 2**32 - 1),
    machinename=st.binary(max_size=255),
    uid=st.integers(0, 2**32 - 1),
    gid=st.integers(0, 2**32 - 1),
    gids=st.lists(st.integers(0, 2**32 - 1), max_size=16).map(tuple),
)
opaque_auth = st.builds(
    rpc.OpaqueAuth, flavor=st.integers(0, 2**32 - 1), body=st.binary(max_size=rpc.MAX_AUTH_BODY)
)

# Every (procedure, direction) of every program, as pytest ids like "nfs3.LOOKUP.res".
TYPES = [
    pytest.param(t, id=f"{mod.__name__.rsplit('.', 1)[1]}.{proc.name}.{side}")
    for mod in (nfs3, mount, portmap)
    for proc in mod.PROCEDURES.values()
    for side, t in (("args", proc.args), ("res", proc.res))
]


@pytest.mark.parametrize("t", TYPES)
@FAST
@given(data=st.data())
def test_every_procedure_type_round_trips(t: xdr.XdrType[Any], data: st.DataObject) -> None:
    value = data.draw(strategy_for(t))
    encoded = t.encode(value)
    assert len(encoded) % 4 == 0
    assert t.decode(encoded) == value
    assert t.encode(t.decode(encoded)) == encoded  # canonical: one encoding per value


@pytest.mark.parametrize("t", TYPES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_truncated_or_extended_encodings_raise_protocol_error(
    t: xdr.XdrType[Any], data: st.DataObject
) -> None:
    encoded = t.encode(data.draw(strategy_for(t)))
    # A decoder reads deterministically, so no strict prefix of a valid encoding is complete.
    for n in range(len(encoded)):
        with pytest.raises(ProtocolError):
            t.decode(encoded[:n])
    with pytest.raises(ProtocolError):
        t.decode(encoded + data.draw(st.binary(min_size=1, max_size=8)))


def _decoders() -> list[Any]:
    out = [pytest.param(t.values[0].decode, id=t.id) for t in TYPES]
    out += [
        pytest.param(rpc.decode_call, id="rpc.decode_call"),
        pytest.param(rpc.decode_reply, id="rpc.decode_reply"),
        pytest.param(nfs3.FLUSH_COMMIT.res.decode, id="nfs3.FLUSH_COMMIT.res"),
        pytest.param(lambda b: rpc.AuthSys.from_opaque(rpc.OpaqueAuth(1, b)), id="rpc.AuthSys"),
        pytest.param(lambda b: rpc.RecordDecoder().feed(b), id="rpc.RecordDecoder"),
    ]
    return out


DECODERS = _decoders()


def _only_protocol_errors(decode: Any, data: bytes) -> None:
    # ProtocolError is the one error hostile bytes may cause; anything else fails the test.
    with contextlib.suppress(ProtocolError):
        decode(data)


@pytest.mark.parametrize("decode", DECODERS)
@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=256))
def test_random_bytes_raise_only_protocol_error(decode: Any, data: bytes) -> None:
    _only_protocol_errors(decode, data)


@pytest.mark.parametrize("decode", DECODERS)
@settings(max_examples=60, deadline=None)
@given(words=st.lists(st.sampled_from([0, 1, 2, 3, 4, 5, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF])))
def test_adversarial_words_raise_only_protocol_error(decode: Any, words: list[int]) -> None:
    """Small counts, booleans, enum values and huge lengths: what random bytes rarely hit."""
    _only_protocol_errors(decode, b"".join(struct.pack(">I", w) for w in words))


@pytest.mark.parametrize(
    "decode, data",
    [
        pytest.param(xdr.Opaque(2**40).decode, b"\xff\xff\xff\xff", id="opaque-uncapped"),
        pytest.param(xdr.Opaque().decode, b"\xff\xff\xff\xff" + b"\0" * 64, id="opaque-capped"),
        pytest.param(xdr.Array(xdr.u32, 2**40).decode, b"\xff\xff\xff\xff", id="array"),
        pytest.param(rpc.RecordDecoder(max_record=2**40).feed, b"\xff\xff\xff\xff", id="record"),
        pytest.param(rpc.RecordDecoder().feed, b"\x7f\xff\xff\xff" + b"\0" * 64, id="fragment"),
        pytest.param(nfs3.READDIRPLUS.res.decode, b"\0" * 8 + b"\xff" * 64, id="readdirplus"),
    ],
)
def test_huge_declared_length_is_refused_without_allocating(decode: Any, data: bytes) -> None:
    tracemalloc.start()
    try:
        result: Any = None
        with contextlib.suppress(ProtocolError):
            result = decode(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result in (None, [])  # a RecordDecoder may also just wait for more bytes
    assert peak < 1 << 20, f"decoding a 4-byte lie allocated {peak} bytes"


# --- RPC messages -----------------------------------------------------------------------------


@FAST
@given(
    xid=st.integers(0, 2**32 - 1),
    prog=st.integers(0, 2**32 - 1),
    vers=st.integers(0, 2**32 - 1),
    proc=st.integers(0, 2**32 - 1),
    args=st.binary(max_size=64),
    cred=opaque_auth,
    verf=opaque_auth,
)
def test_call_round_trips(
    xid: int, prog: int, vers: int, proc: int, args: bytes, cred: Any, verf: Any
) -> None:
    call = rpc.decode_call(rpc.encode_call(xid, prog, vers, proc, args, cred, verf))
    assert call == rpc.Call(xid, prog, vers, proc, cred, verf, args)
    assert rpc.peek_xid(rpc.encode_call(xid, prog, vers, proc, args, cred, verf)) == xid


@FAST
@given(xid=st.integers(0, 2**32 - 1), results=st.binary(max_size=64), verf=opaque_auth)
def test_successful_reply_round_trips(xid: int, results: bytes, verf: Any) -> None:
    reply = rpc.decode_reply(rpc.encode_reply(xid, rpc.AcceptStat.SUCCESS, results, verf))
    assert (reply.xid, reply.verf, reply.body) == (xid, verf, results)
    assert reply.check() == results


replies = st.one_of(
    st.builds(rpc.encode_reply, st.integers(0, 2**32 - 1), st.just(rpc.AcceptStat.SUCCESS),
              st.binary(max_size=32), opaque_auth),
    st.builds(rpc.encode_reply, st.integers(0, 2**32 - 1), st.sampled_from(list(rpc.AcceptStat)),
              mismatch=st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))),
    st.builds(rpc.encode_denied, st.integers(0, 2**32 - 1), st.sampled_from(list(rpc.RejectStat)),
              st.sampled_from(list(rpc.AuthStat)),
              st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))),
)


@FAST
@given(
    xid=st.integers(0, 2**32 - 1),
    reject=st.sampled_from(list(rpc.RejectStat)),
    auth_stat=st.sampled_from(list(rpc.AuthStat)),
    mismatch=st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
)
def test_denied_reply_round_trips(
    xid: int, reject: rpc.RejectStat, auth_stat: rpc.AuthStat, mismatch: tuple[int, int]
) -> None:
    reply = rpc.decode_reply(rpc.encode_denied(xid, reject, auth_stat, mismatch))
    assert (reply.xid, reply.reply_stat, reply.reject_stat) == (
        xid, rpc.ReplyStat.MSG_DENIED, reject)
    if reject == rpc.RejectStat.RPC_MISMATCH:
        assert (reply.mismatch, reply.auth_stat) == (mismatch, None)
    else:
        assert (reply.mismatch, reply.auth_stat) == (None, auth_stat)
    with pytest.raises(RpcDenied):
        reply.check()


@settings(max_examples=60, deadline=None)
@given(
    message=replies
    | st.builds(rpc.encode_call, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
                st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.binary(max_size=16),
                opaque_auth, opaque_auth)
)
def test_every_truncation_of_rpc_messages_raises_only_protocol_error(message: bytes) -> None:
    for n in range(len(message)):
        for decode in (rpc.decode_call, rpc.decode_reply):
            _only_protocol_errors(decode, message[:n])
        _only_protocol_errors(rpc.RecordDecoder().feed, rpc.frame(message)[: n + 4])


@pytest.mark.parametrize(
    "stat, error, words",
    [
        (rpc.AcceptStat.PROG_UNAVAIL, ProgramUnavailable, ["PROG_UNAVAIL", "check nfs_port"]),
        (rpc.AcceptStat.PROG_MISMATCH, ProgramUnavailable, ["PROG_MISMATCH", "(2, 4)"]),
        (rpc.AcceptStat.PROC_UNAVAIL, ProgramUnavailable, ["PROC_UNAVAIL"]),
        (rpc.AcceptStat.GARBAGE_ARGS, GarbageArgs, ["GARBAGE_ARGS"]),
        (rpc.AcceptStat.SYSTEM_ERR, RpcSystemError, ["SYSTEM_ERR"]),
        (99, RpcError, ["99"]),
    ],
)
def test_unsuccessful_accepted_replies_raise_typed_errors(
    stat: int, error: type[Exception], words: list[str]
) -> None:
    reply = rpc.decode_reply(rpc.encode_reply(7, stat, mismatch=(2, 4)))
    assert reply.xid == 7 and reply.accept_stat == stat
    if stat == rpc.AcceptStat.PROG_MISMATCH:
        assert reply.mismatch == (2, 4)
    with pytest.raises(error) as info:
        reply.check("GETATTR")
    assert type(info.value) is error
    for word in ["GETATTR", *words]:
        assert word in str(info.value)


@pytest.mark.parametrize("auth_stat", list(rpc.AuthStat))
def test_auth_error_replies_raise_rpc_denied(auth_stat: rpc.AuthStat) -> None:
    reply = rpc.decode_reply(rpc.encode_denied(9, rpc.RejectStat.AUTH_ERROR, auth_stat))
    assert (reply.reply_stat, reply.auth_stat) == (rpc.ReplyStat.MSG_DENIED, auth_stat)
    with pytest.raises(RpcDenied) as info:
        reply.check()
    assert info.value.auth_stat == auth_stat
    assert auth_stat.name in str(info.value)
    weak = auth_stat == rpc.AuthStat.AUTH_TOOWEAK
    # The library names keywords, never flags; the field and a machine-readable hint go along.
    assert ("privileged_port" if weak else "check uid/gid") in str(info.value)
    assert "--" not in str(info.value)
    assert info.value.fields == (("privileged_port",) if weak else ("uid", "gid"))
    assert info.value.hint == ("auth_too_weak" if weak else "auth_refused")


def test_rpc_version_mismatch_reply() -> None:
    reply = rpc.decode_reply(rpc.encode_denied(3, rpc.RejectStat.RPC_MISMATCH, mismatch=(3, 4)))
    assert reply.mismatch == (3, 4)
    with pytest.raises(RpcDenied, match="RPC version 2"):
        reply.check()


@pytest.mark.parametrize(
    "decode, message",
    [
        (rpc.decode_call, rpc.encode_reply(1)),
        (rpc.decode_reply, rpc.encode_call(1, 2, 3, 4)),
        (rpc.decode_call, struct.pack(">III", 1, 0, 3)),  # RPC version 3
        (rpc.decode_reply, struct.pack(">IIII", 1, 1, 1, 5)),  # unknown reject status
        (rpc.decode_reply, struct.pack(">III", 1, 1, 2)),  # unknown reply status
    ],
)
def test_wrong_message_kinds_raise_protocol_error(decode: Any, message: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode(message)


@FAST
@given(auth_sys)
def test_auth_sys_round_trips(cred: rpc.AuthSys) -> None:
    opaque = cred.to_opaque()
    assert opaque.flavor == rpc.AuthFlavor.AUTH_SYS
    assert rpc.AuthSys.from_opaque(opaque) == cred
    assert len(opaque.body) <= rpc.MAX_AUTH_BODY


def test_auth_sys_refuses_other_flavors_and_too_many_groups() -> None:
    with pytest.raises(ProtocolError):
        rpc.AuthSys.from_opaque(rpc.AUTH_NONE)
    with pytest.raises(ProtocolError):
        rpc.AuthSys(0, b"h", 0, 0, tuple(range(17))).to_opaque()


# --- record marking ---------------------------------------------------------------------------


@FAST
@given(data=st.data(), messages=st.lists(st.binary(max_size=300), min_size=1, max_size=8))
def test_record_marking_survives_any_fragmenting_and_chunking(
    data: st.DataObject, messages: list[bytes]
) -> None:
    stream = b"".join(
        rpc.frame(m, data.draw(st.integers(1, max(1, len(m))), label="max_fragment"))
        for m in messages
    )
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12), label="cuts"))
    decoder = rpc.RecordDecoder()
    records: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        records += decoder.feed(stream[start:end])
    assert records == messages
    assert decoder.pending == 0


def test_frame_marks_only_the_last_fragment() -> None:
    framed = rpc.frame(b"abcdefghij", 4)
    marks = [struct.unpack_from(">I", framed, off)[0] for off in (0, 8, 16)]
    assert marks == [4, 4, rpc.LAST_FRAGMENT | 2]
    assert rpc.RecordDecoder().feed(framed) == [b"abcdefghij"]


def test_record_larger_than_the_limit_is_refused_across_fragments() -> None:
    decoder = rpc.RecordDecoder(max_record=10)
    assert decoder.feed(struct.pack(">I", 6) + b"x" * 6) == []
    with pytest.raises(ProtocolError, match="exceeds 10"):
        decoder.feed(struct.pack(">I", rpc.LAST_FRAGMENT | 6))


# --- NFS helpers ------------------------------------------------------------------------------


def test_ok_body_raises_typed_errors_with_name_and_number() -> None:
    with pytest.raises(nfs3.NfsError) as info:
        nfs3.ok_body((nfs3.Nfsstat3.NFS3ERR_NOENT, None), "LOOKUP a")
    assert (info.value.status, info.value.name) == (2, "NFS3ERR_NOENT")
    assert str(info.value) == "NFS3ERR_NOENT (2) (LOOKUP a)"
    with pytest.raises(mount.MountError) as minfo:
        mount.ok_body((13, None))
    assert (minfo.value.status, minfo.value.name) == (13, "MNT3ERR_ACCES")
    assert nfs3.status_name(12345) == "NFS3ERR_UNKNOWN_12345"
    assert nfs3.ok_body((0, "body")) == "body"


def test_unknown_status_decodes_leniently_to_its_number() -> None:
    status, body = nfs3.LOOKUP.res.decode(struct.pack(">II", 12345, 0))
    assert (status, body) == (12345, None)


def test_packer_refuses_out_of_range_values() -> None:
    for t, v in ((xdr.u32, -1), (xdr.u32, 2**32), (xdr.i32, 2**31), (xdr.u64, -1)):
        with pytest.raises(xdr.XdrError):
            t.encode(v)
    with pytest.raises(xdr.XdrError):
        xdr.Fixed(8).encode(b"short")
    with pytest.raises(xdr.XdrError):
        nfs3.fh3.encode(b"x" * (nfs3.FHSIZE + 1))


def test_non_zero_padding_and_bad_booleans_are_refused() -> None:
    with pytest.raises(xdr.XdrError, match="padding"):
        xdr.Opaque().decode(struct.pack(">I", 1) + b"a\0\0\1")
    with pytest.raises(xdr.XdrError, match="boolean"):
        xdr.boolean.decode(struct.pack(">I", 2))


def test_endless_empty_fragments_are_refused_not_buffered() -> None:
    """Empty non-final fragments pass any byte limit: only their count stops them."""
    decoder = rpc.RecordDecoder()
    chunk = struct.pack(">I", 0) * 4096
    with pytest.raises(ProtocolError, match="fragments"):
        for _ in range(64):  # 262,144 fragments: far past any sane record
            decoder.feed(chunk)
    assert decoder.fragments <= rpc.MAX_FRAGMENTS


@FAST
@given(
    fragments=st.lists(
        st.tuples(st.integers(0, 40), st.booleans()), min_size=1, max_size=3000
    ),
    chunk=st.integers(1, 5000),
)
def test_any_fragment_stream_keeps_the_decoder_bounded(
    fragments: list[tuple[int, bool]], chunk: int
) -> None:
    """Fuzz: runs of empty and small fragments, final or not, fed in any chunking; the
    decoder yields records or raises ProtocolError, and never holds more than its limits."""
    limits = {"max_record": 512, "max_fragments": 64}
    stream = b"".join(
        struct.pack(">I", (rpc.LAST_FRAGMENT if last else 0) | n) + b"x" * n
        for n, last in fragments
    )
    decoder = rpc.RecordDecoder(**limits)
    with contextlib.suppress(ProtocolError):
        for start in range(0, len(stream), chunk):
            for record in decoder.feed(stream[start : start + chunk]):
                assert len(record) <= limits["max_record"]
            assert decoder.fragments <= limits["max_fragments"]
            assert decoder.pending <= limits["max_record"] + chunk + 4


# Every XDR record of the client's codecs (xdr.Record subclasses), as pytest ids like "Fattr3".
RECORDS = [
    pytest.param(cls, id=cls.__name__)
    for mod in (nfs3, mount, portmap)
    for cls in vars(mod).values()
    if isinstance(cls, type) and issubclass(cls, xdr.Record) and cls.__module__ == mod.__name__
]


def hashed(value: Any) -> Any:
    """``hash(value)``, or TypeError for a value holding a list (as for a dataclass)."""
    try:
        return hash(value)
    except TypeError:
        return TypeError


@pytest.mark.parametrize("cls", RECORDS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_records_compare_hash_and_print_as_dataclasses_do(cls: type[Any],
                                                         data: st.DataObject) -> None:
    """Records take ``==``, ``hash`` and ``repr`` from xdr.Record instead of having dataclass
    write them (start-up): they must behave exactly like a frozen dataclass's own."""
    names = [f.name for f in dataclasses.fields(cls)]
    ref_cls = dataclasses.make_dataclass(cls.__name__, [(n, Any) for n in names], frozen=True)
    ref_cls.__qualname__ = cls.__qualname__

    def ref(value: Any) -> Any:
        return ref_cls(*[getattr(value, n) for n in names])

    a, b = data.draw(strategy_for(cls.xdr)), data.draw(strategy_for(cls.xdr))
    assert repr(a) == repr(ref(a))
    assert hashed(a) == hashed(ref(a))
    assert (a == b) == (ref(a) == ref(b)) and (a != b) == (ref(a) != ref(b))
    assert a == cls(*[getattr(a, n) for n in names])
    assert a.__eq__(ref(a)) is NotImplemented and a != ref(a)  # another class is never equal
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(a, names[0], getattr(a, names[0]))


def test_every_record_is_covered() -> None:
    assert {p.values[0].__name__ for p in RECORDS} >= {"Fattr3", "LookupOk", "CommitArgs",
                                                       "MountOk", "Mapping"}
