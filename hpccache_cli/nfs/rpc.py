"""ONC RPC v2 (RFC 5531): messages, AUTH_SYS/AUTH_NONE and TCP record marking, over bytes.

Both sides use this module: the client encodes calls and decodes replies, the emulator does the
reverse. No I/O happens here; :class:`RecordDecoder` is fed whatever bytes arrived and hands
back complete records, so the transport stays a thin loop.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from enum import IntEnum

from hpccache_cli.nfs import xdr
from hpccache_cli.nfs.errors import (
    GarbageArgs,
    ProgramUnavailable,
    ProtocolError,
    RpcDenied,
    RpcError,
    RpcSystemError,
)

RPC_VERSION = 2
LAST_FRAGMENT = 0x80000000
MAX_RECORD = 4 << 20  # larger than any reply we ask for; anything bigger is refused
#: Fragments one record may have. Peers send one (Linux, nfs-ganesha); the bound only stops
#: a stream of empty non-final fragments, which pass any byte limit, from growing forever.
MAX_FRAGMENTS = 1024
MAX_AUTH_BODY = 400  # RFC 5531: opaque_auth bodies are at most 400 bytes


class MsgType(IntEnum):
    CALL = 0
    REPLY = 1


class ReplyStat(IntEnum):
    MSG_ACCEPTED = 0
    MSG_DENIED = 1


class AcceptStat(IntEnum):
    SUCCESS = 0
    PROG_UNAVAIL = 1
    PROG_MISMATCH = 2
    PROC_UNAVAIL = 3
    GARBAGE_ARGS = 4
    SYSTEM_ERR = 5


class RejectStat(IntEnum):
    RPC_MISMATCH = 0
    AUTH_ERROR = 1


class AuthStat(IntEnum):
    AUTH_OK = 0
    AUTH_BADCRED = 1
    AUTH_REJECTEDCRED = 2
    AUTH_BADVERF = 3
    AUTH_REJECTEDVERF = 4
    AUTH_TOOWEAK = 5
    AUTH_INVALIDRESP = 6
    AUTH_FAILED = 7


class AuthFlavor(IntEnum):
    AUTH_NONE = 0
    AUTH_SYS = 1


@dataclass(frozen=True)
class OpaqueAuth:
    flavor: int
    body: bytes = b""


AUTH_NONE = OpaqueAuth(AuthFlavor.AUTH_NONE, b"")
_opaque_auth = xdr.Struct(
    OpaqueAuth, [("flavor", xdr.u32), ("body", xdr.Opaque(MAX_AUTH_BODY))]
)


@dataclass(frozen=True)
class AuthSys:
    """AUTH_SYS credentials: who the server should think we are."""

    stamp: int
    machinename: bytes
    uid: int
    gid: int
    gids: tuple[int, ...] = ()

    def to_opaque(self) -> OpaqueAuth:
        return OpaqueAuth(AuthFlavor.AUTH_SYS, _auth_sys.encode(self))

    @staticmethod
    def from_opaque(auth: OpaqueAuth) -> AuthSys:
        if auth.flavor != AuthFlavor.AUTH_SYS:
            raise ProtocolError(f"credential flavor {auth.flavor} is not AUTH_SYS")
        return _auth_sys.decode(auth.body)


class _AuthSysType(xdr.XdrType[AuthSys]):
    _name = xdr.String(255)
    _gids = xdr.Array(xdr.u32, 16)

    def pack(self, p: xdr.Packer, v: AuthSys) -> None:
        p.u32(v.stamp)
        self._name.pack(p, v.machinename)
        p.u32(v.uid)
        p.u32(v.gid)
        self._gids.pack(p, list(v.gids))

    def unpack(self, u: xdr.Unpacker) -> AuthSys:
        return AuthSys(u.u32(), self._name.unpack(u), u.u32(), u.u32(), tuple(self._gids.unpack(u)))


_auth_sys = _AuthSysType()


@dataclass(frozen=True)
class Call:
    """A decoded call header; ``args`` holds the procedure's still-encoded arguments."""

    xid: int
    prog: int
    vers: int
    proc: int
    cred: OpaqueAuth
    verf: OpaqueAuth
    args: bytes


@dataclass(frozen=True)
class Reply:
    """A decoded reply. ``body`` holds the procedure's still-encoded results on SUCCESS."""

    xid: int
    reply_stat: int
    accept_stat: int | None = None
    reject_stat: int | None = None
    auth_stat: int | None = None
    mismatch: tuple[int, int] | None = None
    verf: OpaqueAuth = AUTH_NONE
    body: bytes = b""

    def check(self, what: str = "") -> bytes:
        """Return the results, or raise the RPC error this reply stands for."""
        return check_reply(self, what)


def encode_call(
    xid: int,
    prog: int,
    vers: int,
    proc: int,
    args: bytes = b"",
    cred: OpaqueAuth = AUTH_NONE,
    verf: OpaqueAuth = AUTH_NONE,
) -> bytes:
    try:
        head = _CALL_HEAD.pack(xid, MsgType.CALL, RPC_VERSION, prog, vers, proc)
    except struct.error:
        fields = (xid, prog, vers, proc)
        raise xdr.XdrError(f"a call header field does not fit 32 bits: {fields}") from None
    return head + encode_auths(cred, verf) + args


_CALL_HEAD = struct.Struct(">6I")
_MARKED_CALL_HEAD = struct.Struct(">7I")  # record mark, then the call header
_MARK = struct.Struct(">I")


def call_record(
    xid: int, prog: int, vers: int, proc: int, args: bytes, auths: bytes
) -> bytes:
    """A call ready for the wire: record mark, header, ``auths`` (from :func:`encode_auths`)
    and encoded ``args``; the same bytes as ``frame(encode_call(...))`` in one pack, since
    the client sends several calls per flushed file."""
    size = 24 + len(auths) + len(args)
    try:
        head = _MARKED_CALL_HEAD.pack(LAST_FRAGMENT | size, xid, MsgType.CALL, RPC_VERSION,
                                      prog, vers, proc)
    except struct.error:
        fields = (xid, prog, vers, proc)
        raise xdr.XdrError(f"a call header field does not fit 32 bits: {fields}") from None
    return head + auths + args
_REPLY_HEAD = struct.Struct(">6I")  # xid, REPLY, MSG_ACCEPTED, verf flavor + length, accept


@functools.lru_cache(maxsize=256)
def encode_auths(cred: OpaqueAuth, verf: OpaqueAuth = AUTH_NONE) -> bytes:
    """The encoded credential and verifier: one client sends the same pair on every call."""
    p = xdr.Packer()
    _opaque_auth.pack(p, cred)
    _opaque_auth.pack(p, verf)
    return p.bytes()


def decode_call(msg: bytes) -> Call:
    """Decode a call header. Raises ProtocolError for anything that is not an RPC v2 call."""
    u = xdr.Unpacker(msg)
    if len(msg) >= 8 and struct.unpack_from(">I", msg, 4)[0] != MsgType.CALL:
        raise ProtocolError("message is not an RPC call")
    xid, _, rpcvers, prog, vers, proc = u.fields(_CALL_HEAD)
    if rpcvers != RPC_VERSION:
        raise ProtocolError(f"RPC version {rpcvers} is not 2")
    cred = _opaque_auth.unpack(u)
    verf = _opaque_auth.unpack(u)
    return Call(xid, prog, vers, proc, cred, verf, u.rest())


def peek_xid(msg: bytes) -> int:
    """The xid of any RPC message (first word); the transport matches replies with it."""
    if len(msg) < 4:
        raise ProtocolError("RPC message shorter than its xid")
    xid: int = struct.unpack_from(">I", msg)[0]
    return xid


def encode_reply(
    xid: int,
    accept_stat: int = AcceptStat.SUCCESS,
    results: bytes = b"",
    verf: OpaqueAuth = AUTH_NONE,
    mismatch: tuple[int, int] = (0, 0),
) -> bytes:
    """An accepted reply (MSG_ACCEPTED) with the given accept status."""
    p = xdr.Packer()
    p.u32(xid)
    p.u32(MsgType.REPLY)
    p.u32(ReplyStat.MSG_ACCEPTED)
    _opaque_auth.pack(p, verf)
    p.u32(int(accept_stat))
    if accept_stat == AcceptStat.SUCCESS:
        p.raw(results)
    elif accept_stat == AcceptStat.PROG_MISMATCH:
        p.u32(mismatch[0])
        p.u32(mismatch[1])
    return p.bytes()


def encode_denied(
    xid: int,
    reject_stat: int,
    auth_stat: int = AuthStat.AUTH_BADCRED,
    mismatch: tuple[int, int] = (RPC_VERSION, RPC_VERSION),
) -> bytes:
    """A denied reply (MSG_DENIED): RPC version mismatch or an authentication error."""
    p = xdr.Packer()
    p.u32(xid)
    p.u32(MsgType.REPLY)
    p.u32(ReplyStat.MSG_DENIED)
    p.u32(int(reject_stat))
    if reject_stat == RejectStat.RPC_MISMATCH:
        p.u32(mismatch[0])
        p.u32(mismatch[1])
    else:
        p.u32(int(auth_stat))
    return p.bytes()


_ACCEPTED_OK = (MsgType.REPLY, ReplyStat.MSG_ACCEPTED, 0, AcceptStat.SUCCESS)


def accepted_results(msg: bytes) -> bytes | None:
    """The results of an accepted, successful reply with an empty verifier (what servers send
    to AUTH_SYS and AUTH_NONE callers), else None: then :func:`decode_reply` and
    :func:`check_reply` say what it is. The transport's path for every reply, without
    building a :class:`Reply`."""
    if len(msg) >= _REPLY_HEAD.size:
        _, mtype, stat, _, vlen, accept = _REPLY_HEAD.unpack_from(msg)
        if (mtype, stat, vlen, accept) == _ACCEPTED_OK:
            return msg[_REPLY_HEAD.size:]
    return None


def split_reply(msg: bytes) -> tuple[int, bytes | None]:
    """A reply's xid and, as :func:`accepted_results`, its results when it is a plain
    success (else None): both from one header unpack, as the transport needs them for every
    reply."""
    if len(msg) >= _REPLY_HEAD.size:
        xid, mtype, stat, _, vlen, accept = _REPLY_HEAD.unpack_from(msg)
        if (mtype, stat, vlen, accept) == _ACCEPTED_OK:
            return xid, msg[_REPLY_HEAD.size:]
        return xid, None
    return peek_xid(msg), None


def decode_reply(msg: bytes) -> Reply:
    if len(msg) >= _REPLY_HEAD.size:  # the common case in one unpack: accepted, empty verf
        xid, mtype, stat, flavor, vlen, accept = _REPLY_HEAD.unpack_from(msg)
        if (mtype, stat, vlen, accept) == (MsgType.REPLY, ReplyStat.MSG_ACCEPTED, 0,
                                            AcceptStat.SUCCESS):
            verf = AUTH_NONE if flavor == AuthFlavor.AUTH_NONE else OpaqueAuth(flavor)
            return Reply(xid, stat, accept_stat=accept, verf=verf, body=msg[_REPLY_HEAD.size:])
    u = xdr.Unpacker(msg)
    xid = u.u32()
    if u.u32() != MsgType.REPLY:
        raise ProtocolError("message is not an RPC reply")
    stat = u.u32()
    if stat == ReplyStat.MSG_ACCEPTED:
        verf = _opaque_auth.unpack(u)
        accept = u.u32()
        if accept == AcceptStat.SUCCESS:
            return Reply(xid, stat, accept_stat=accept, verf=verf, body=u.rest())
        mismatch = (u.u32(), u.u32()) if accept == AcceptStat.PROG_MISMATCH else None
        return Reply(xid, stat, accept_stat=accept, verf=verf, mismatch=mismatch)
    if stat == ReplyStat.MSG_DENIED:
        reject = u.u32()
        if reject == RejectStat.RPC_MISMATCH:
            return Reply(xid, stat, reject_stat=reject, mismatch=(u.u32(), u.u32()))
        if reject == RejectStat.AUTH_ERROR:
            return Reply(xid, stat, reject_stat=reject, auth_stat=u.u32())
        raise ProtocolError(f"unknown reject status {reject}")
    raise ProtocolError(f"unknown reply status {stat}")


def _name(enum: type[IntEnum], value: int | None) -> str:
    try:
        return enum(value).name  # type: ignore[arg-type]
    except ValueError:
        return str(value)


def check_reply(reply: Reply, what: str = "") -> bytes:
    """Raise the typed RPC error for an unsuccessful reply; return the result bytes otherwise."""
    call = f"{what}: " if what else ""
    if reply.reply_stat == ReplyStat.MSG_DENIED:
        if reply.reject_stat == RejectStat.AUTH_ERROR:
            stat = _name(AuthStat, reply.auth_stat)
            weak = reply.auth_stat == AuthStat.AUTH_TOOWEAK
            advice = (
                "the server wants a privileged source port (try {privileged_port} as root)"
                if weak
                else "check {uid}/{gid} and that the export allows this client"
            )
            raise RpcDenied(
                f"{call}authentication refused ({stat}): {advice}", reply.auth_stat,
                fields=("privileged_port",) if weak else ("uid", "gid"),
                hint="auth_too_weak" if weak else "auth_refused",
            )
        raise RpcDenied(f"{call}server does not speak RPC version 2 (mismatch {reply.mismatch})")
    accept = reply.accept_stat
    if accept == AcceptStat.SUCCESS:
        return reply.body
    if accept in (AcceptStat.PROG_UNAVAIL, AcceptStat.PROG_MISMATCH, AcceptStat.PROC_UNAVAIL):
        extra = f" (server supports versions {reply.mismatch})" if reply.mismatch else ""
        raise ProgramUnavailable(
            f"{call}{_name(AcceptStat, accept)}{extra}: is this port really the NFS/MOUNT "
            "service? check {nfs_port}/{mount_port}/{portmap_port}",
            fields=("nfs_port", "mount_port", "portmap_port"), hint="wrong_port",
        )
    if accept == AcceptStat.GARBAGE_ARGS:
        raise GarbageArgs(f"{call}server could not decode the arguments (GARBAGE_ARGS)")
    if accept == AcceptStat.SYSTEM_ERR:
        raise RpcSystemError(f"{call}server reported an internal error (SYSTEM_ERR)")
    raise RpcError(f"{call}unexpected accept status {accept}")


# --- TCP record marking (RFC 5531 section 11) --------------------------------------------


def frame(message: bytes, max_fragment: int = 0x7FFFFFFF) -> bytes:
    """Record-mark one message, split into fragments of at most ``max_fragment`` bytes."""
    if len(message) <= max_fragment:
        return struct.pack(">I", LAST_FRAGMENT | len(message)) + message
    out = []
    for start in range(0, len(message), max_fragment):
        chunk = message[start : start + max_fragment]
        last = LAST_FRAGMENT if start + max_fragment >= len(message) else 0
        out.append(struct.pack(">I", last | len(chunk)) + chunk)
    return b"".join(out)


class RecordDecoder:
    """Reassembles record-marked messages from a TCP byte stream.

    ``feed(data)`` returns the records completed by ``data``. A record larger than
    ``max_record`` raises ProtocolError before its bytes are buffered, so a hostile length
    cannot make us allocate; so does a record of more than ``max_fragments`` fragments (empty
    non-final fragments add no bytes, so only their count can bound them). What is buffered
    is thus at most ``max_record`` bytes of the record plus one unread chunk.
    """

    def __init__(self, max_record: int = MAX_RECORD, max_fragments: int = MAX_FRAGMENTS) -> None:
        self.max_record = max_record
        self.max_fragments = max_fragments
        self._buf = bytearray()
        self._fragments: list[bytes] = []
        self._record_len = 0

    def feed(self, data: bytes) -> list[bytes]:
        if not self._buf and not self._fragments and type(data) is bytes:
            return self._feed_whole(data)
        self._buf += data
        return self._drain()

    def _feed_whole(self, data: bytes) -> list[bytes]:
        """The common case: nothing held over, so the single-fragment records at the front
        of ``data`` are sliced from it directly (one copy each) rather than through the
        buffer (append, copy out, delete, join); the first record that is split or has
        several fragments, and everything after it, goes the general way."""
        records: list[bytes] = []
        at, end = 0, len(data)
        max_record = self.max_record
        while end - at >= 4:
            (mark,) = _MARK.unpack_from(data, at)
            length = mark & 0x7FFFFFFF
            if not mark & LAST_FRAGMENT or length > max_record or end - at - 4 < length:
                break
            records.append(data[at + 4 : at + 4 + length])
            at += 4 + length
        if at < end:
            self._buf += data[at:] if at else data
            records.extend(self._drain())
        return records

    def _drain(self) -> list[bytes]:
        records: list[bytes] = []
        while len(self._buf) >= 4:
            (mark,) = struct.unpack_from(">I", self._buf)
            length = mark & 0x7FFFFFFF
            if self._record_len + length > self.max_record:
                raise ProtocolError(
                    f"record of {self._record_len + length} bytes exceeds {self.max_record}"
                )
            if len(self._fragments) >= self.max_fragments:
                raise ProtocolError(f"record of more than {self.max_fragments} fragments")
            if len(self._buf) < 4 + length:
                break
            self._fragments.append(bytes(self._buf[4 : 4 + length]))  # empty ones count too
            self._record_len += length
            del self._buf[: 4 + length]
            if mark & LAST_FRAGMENT:
                records.append(b"".join(self._fragments))
                self._fragments.clear()
                self._record_len = 0
        return records

    @property
    def pending(self) -> int:
        """Bytes of an incomplete record still buffered."""
        return len(self._buf) + self._record_len

    @property
    def fragments(self) -> int:
        """Fragments of the incomplete record held so far."""
        return len(self._fragments)
