"""NFS version 3 (RFC 1813): status codes, attribute types and procedure codecs.

Each procedure is one :class:`Procedure` holding its number and the XDR types of its arguments
and results, so the client (encode args, decode results) and the emulator (the reverse) cannot
drift apart. Results decode to ``(status, body)`` pairs; :func:`ok_body` turns a failure status
into a typed :class:`~hpccache_cli.nfs.errors.NfsError`.

The HPC Cache flush protocol rides on COMMIT: an ``offset`` of :data:`FLUSH_OFFSET` marks a
flush request and ``count`` selects sync flush, async start or status.

The numbers and enums are defined in :mod:`hpccache_cli.nfs.nfs3_const` (no codecs, cheap to
import) and re-exported here, so ``nfs3.Nfsstat3`` and ``nfs3.MAX_NAME`` read as before.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from hpccache_cli.nfs import xdr
from hpccache_cli.nfs.errors import NfsError as NfsError  # (callers catch nfs3.NfsError)
from hpccache_cli.nfs.errors import ProtocolError

# The numbers, status codes and file types live in nfs3_const (no codecs); re-exported here.
from hpccache_cli.nfs.nfs3_const import COOKIEVERF_SIZE as COOKIEVERF_SIZE
from hpccache_cli.nfs.nfs3_const import FHSIZE as FHSIZE
from hpccache_cli.nfs.nfs3_const import FLUSH_ASYNC_START as FLUSH_ASYNC_START
from hpccache_cli.nfs.nfs3_const import FLUSH_OFFSET as FLUSH_OFFSET
from hpccache_cli.nfs.nfs3_const import FLUSH_STATUS as FLUSH_STATUS
from hpccache_cli.nfs.nfs3_const import FLUSH_SYNC as FLUSH_SYNC
from hpccache_cli.nfs.nfs3_const import MAX_NAME as MAX_NAME
from hpccache_cli.nfs.nfs3_const import PROGRAM as PROGRAM
from hpccache_cli.nfs.nfs3_const import VERSION as VERSION
from hpccache_cli.nfs.nfs3_const import WRITEVERF_SIZE as WRITEVERF_SIZE
from hpccache_cli.nfs.nfs3_const import Ftype3 as Ftype3
from hpccache_cli.nfs.nfs3_const import Nfsstat3 as Nfsstat3
from hpccache_cli.nfs.nfs3_const import ok_body as ok_body
from hpccache_cli.nfs.nfs3_const import status_name as status_name

_status = xdr.Enum(Nfsstat3, lenient=True)
fh3 = xdr.Opaque(FHSIZE)
filename3 = xdr.String(MAX_NAME)


@xdr.struct_type([("seconds", xdr.u32), ("nseconds", xdr.u32)])
@dataclass(frozen=True, eq=False, repr=False)
class NfsTime3(xdr.Record):
    """nfstime3: seconds and nanoseconds."""

    seconds: int = 0
    nseconds: int = 0


@xdr.struct_type(
    [
        ("type", xdr.Enum(Ftype3, lenient=True)),
        ("mode", xdr.u32),
        ("nlink", xdr.u32),
        ("uid", xdr.u32),
        ("gid", xdr.u32),
        ("size", xdr.u64),
        ("used", xdr.u64),
        ("rdev_major", xdr.u32),
        ("rdev_minor", xdr.u32),
        ("fsid", xdr.u64),
        ("fileid", xdr.u64),
        ("atime", NfsTime3.xdr),
        ("mtime", NfsTime3.xdr),
        ("ctime", NfsTime3.xdr),
    ]
)
@dataclass(frozen=True, eq=False, repr=False)
class Fattr3(xdr.Record):
    """fattr3: a file's attributes (type, mode, size, times...), as GETATTR and the
    post-op attributes of most replies carry them."""

    type: int
    mode: int = 0o644
    nlink: int = 1
    uid: int = 0
    gid: int = 0
    size: int = 0
    used: int = 0
    rdev_major: int = 0
    rdev_minor: int = 0
    fsid: int = 0
    fileid: int = 0
    atime: NfsTime3 = NfsTime3()
    mtime: NfsTime3 = NfsTime3()
    ctime: NfsTime3 = NfsTime3()

    @property
    def is_dir(self) -> bool:
        return self.type == Ftype3.NF3DIR

    @property
    def is_regular(self) -> bool:
        return self.type == Ftype3.NF3REG


post_op_attr = xdr.Optional(Fattr3.xdr)


@xdr.struct_type([("size", xdr.u64), ("mtime", NfsTime3.xdr), ("ctime", NfsTime3.xdr)])
@dataclass(frozen=True, eq=False, repr=False)
class WccAttr(xdr.Record):
    """wcc_attr: the attributes a server reports from before an operation."""

    size: int = 0
    mtime: NfsTime3 = NfsTime3()
    ctime: NfsTime3 = NfsTime3()


@xdr.struct_type([("before", xdr.Optional(WccAttr.xdr)), ("after", post_op_attr)])
@dataclass(frozen=True, eq=False, repr=False)
class WccData(xdr.Record):
    """wcc_data: attributes before and after an operation (each optional)."""

    before: WccAttr | None = None
    after: Fattr3 | None = None


# --- arguments and results ------------------------------------------------------------------


@xdr.struct_type([("dir", fh3), ("name", filename3)])
@dataclass(frozen=True, eq=False, repr=False)
class LookupArgs(xdr.Record):
    """LOOKUP3args: a name in a directory."""

    dir: bytes
    name: bytes


@xdr.struct_type(
    [("object", fh3), ("obj_attributes", post_op_attr), ("dir_attributes", post_op_attr)]
)
@dataclass(frozen=True, eq=False, repr=False)
class LookupOk(xdr.Record):
    """LOOKUP3resok: the name's handle, with its and its directory's attributes."""

    object: bytes
    obj_attributes: Fattr3 | None = None
    dir_attributes: Fattr3 | None = None


@xdr.struct_type([("file", fh3), ("offset", xdr.u64), ("count", xdr.u32)])
@dataclass(frozen=True, eq=False, repr=False)
class CommitArgs(xdr.Record):
    """COMMIT3args; an HPC Cache flush request is one (offset FLUSH_OFFSET)."""

    file: bytes
    offset: int = 0
    count: int = 0


@xdr.struct_type([("file_wcc", WccData.xdr), ("verf", xdr.Fixed(WRITEVERF_SIZE))])
@dataclass(frozen=True, eq=False, repr=False)
class CommitOk(xdr.Record):
    """COMMIT3resok: the file's wcc_data and the write verifier."""

    file_wcc: WccData = WccData()
    verf: bytes = b"\0" * WRITEVERF_SIZE


@xdr.struct_type([("object", fh3), ("access", xdr.u32)])
@dataclass(frozen=True, eq=False, repr=False)
class AccessArgs(xdr.Record):
    """ACCESS3args: the access bits asked for."""

    object: bytes
    access: int


@xdr.struct_type([("obj_attributes", post_op_attr), ("access", xdr.u32)])
@dataclass(frozen=True, eq=False, repr=False)
class AccessOk(xdr.Record):
    """ACCESS3resok: the access bits granted."""

    obj_attributes: Fattr3 | None
    access: int


@xdr.struct_type([("file", fh3), ("offset", xdr.u64), ("count", xdr.u32)])
@dataclass(frozen=True, eq=False, repr=False)
class ReadArgs(xdr.Record):
    """READ3args: a byte range of a file."""

    file: bytes
    offset: int
    count: int


@xdr.struct_type(
    [("file_attributes", post_op_attr), ("count", xdr.u32), ("eof", xdr.boolean),
     ("data", xdr.Opaque())]
)
@dataclass(frozen=True, eq=False, repr=False)
class ReadOk(xdr.Record):
    """READ3resok: the bytes read."""

    file_attributes: Fattr3 | None
    count: int
    eof: bool
    data: bytes


@xdr.struct_type(
    [("dir", fh3), ("cookie", xdr.u64), ("cookieverf", xdr.Fixed(COOKIEVERF_SIZE)),
     ("dircount", xdr.u32), ("maxcount", xdr.u32)]
)
@dataclass(frozen=True, eq=False, repr=False)
class ReaddirplusArgs(xdr.Record):
    """READDIRPLUS3args: one page of a directory listing."""

    dir: bytes
    cookie: int = 0
    cookieverf: bytes = b"\0" * COOKIEVERF_SIZE
    dircount: int = 8192
    maxcount: int = 32768


@xdr.struct_type(
    [("fileid", xdr.u64), ("name", filename3), ("cookie", xdr.u64),
     ("name_attributes", post_op_attr), ("name_handle", xdr.Optional(fh3))]
)
@dataclass(frozen=True, eq=False, repr=False)
class EntryPlus(xdr.Record):
    """entryplus3: one directory entry with its attributes and handle."""

    fileid: int
    name: bytes
    cookie: int
    name_attributes: Fattr3 | None = None
    name_handle: bytes | None = None


@xdr.struct_type(
    [("dir_attributes", post_op_attr), ("cookieverf", xdr.Fixed(COOKIEVERF_SIZE)),
     ("entries", xdr.LinkedList(EntryPlus.xdr)), ("eof", xdr.boolean)]
)
@dataclass(frozen=True, eq=False, repr=False)
class ReaddirplusOk(xdr.Record):
    """READDIRPLUS3resok: one page of entries."""

    dir_attributes: Fattr3 | None
    cookieverf: bytes
    entries: list[EntryPlus]
    eof: bool


@xdr.struct_type(
    [("obj_attributes", post_op_attr), ("rtmax", xdr.u32), ("rtpref", xdr.u32),
     ("rtmult", xdr.u32), ("wtmax", xdr.u32), ("wtpref", xdr.u32), ("wtmult", xdr.u32),
     ("dtpref", xdr.u32), ("maxfilesize", xdr.u64), ("time_delta", NfsTime3.xdr),
     ("properties", xdr.u32)]
)
@dataclass(frozen=True, eq=False, repr=False)
class FsinfoOk(xdr.Record):
    """FSINFO3resok: the server's transfer sizes and limits."""

    obj_attributes: Fattr3 | None = None
    rtmax: int = 1 << 20
    rtpref: int = 1 << 20
    rtmult: int = 4096
    wtmax: int = 1 << 20
    wtpref: int = 1 << 20
    wtmult: int = 4096
    dtpref: int = 32768
    maxfilesize: int = (1 << 63) - 1
    time_delta: NfsTime3 = NfsTime3(0, 1)
    properties: int = 0x1B  # LINK | SYMLINK | HOMOGENEOUS | CANSETTIME


@xdr.struct_type(
    [("obj_attributes", post_op_attr), ("tbytes", xdr.u64), ("fbytes", xdr.u64),
     ("abytes", xdr.u64), ("tfiles", xdr.u64), ("ffiles", xdr.u64), ("afiles", xdr.u64),
     ("invarsec", xdr.u32)]
)
@dataclass(frozen=True, eq=False, repr=False)
class FsstatOk(xdr.Record):
    """FSSTAT3resok: space and file counts."""

    obj_attributes: Fattr3 | None = None
    tbytes: int = 1 << 40
    fbytes: int = 1 << 39
    abytes: int = 1 << 39
    tfiles: int = 1 << 30
    ffiles: int = 1 << 29
    afiles: int = 1 << 29
    invarsec: int = 0


@xdr.struct_type(
    [("obj_attributes", post_op_attr), ("linkmax", xdr.u32), ("name_max", xdr.u32),
     ("no_trunc", xdr.boolean), ("chown_restricted", xdr.boolean),
     ("case_insensitive", xdr.boolean), ("case_preserving", xdr.boolean)]
)
@dataclass(frozen=True, eq=False, repr=False)
class PathconfOk(xdr.Record):
    """PATHCONF3resok: name limits and case handling."""

    obj_attributes: Fattr3 | None = None
    linkmax: int = 1024
    name_max: int = 255
    no_trunc: bool = True
    chown_restricted: bool = True
    case_insensitive: bool = False
    case_preserving: bool = True


@dataclass(frozen=True)
class Procedure:
    """One RPC procedure: number and the XDR types of its arguments and results."""

    name: str
    number: int
    args: xdr.XdrType[Any]
    res: xdr.XdrType[Any]


def _res(ok: xdr.XdrType[Any], fail: xdr.XdrType[Any] = xdr.void) -> xdr.StatusUnion:
    return xdr.StatusUnion(_status, ok, fail)


NULL = Procedure("NULL", 0, xdr.void, xdr.void)
GETATTR = Procedure("GETATTR", 1, fh3, _res(Fattr3.xdr))
LOOKUP = Procedure("LOOKUP", 3, LookupArgs.xdr, _res(LookupOk.xdr, post_op_attr))
ACCESS = Procedure("ACCESS", 4, AccessArgs.xdr, _res(AccessOk.xdr, post_op_attr))
READ = Procedure("READ", 6, ReadArgs.xdr, _res(ReadOk.xdr, post_op_attr))
READDIRPLUS = Procedure(
    "READDIRPLUS", 17, ReaddirplusArgs.xdr, _res(ReaddirplusOk.xdr, post_op_attr)
)
FSSTAT = Procedure("FSSTAT", 18, fh3, _res(FsstatOk.xdr, post_op_attr))
FSINFO = Procedure("FSINFO", 19, fh3, _res(FsinfoOk.xdr, post_op_attr))
PATHCONF = Procedure("PATHCONF", 20, fh3, _res(PathconfOk.xdr, post_op_attr))
COMMIT = Procedure("COMMIT", 21, CommitArgs.xdr, _res(CommitOk.xdr, WccData.xdr))


class _StatusOnly(xdr.XdrType[int]):
    """A COMMIT result checked whole but decoded for its nfsstat3 alone.

    The answer to an HPC Cache flush COMMIT *is* its status, and a flush of a million files
    sends millions of them: decoding attributes nobody reads was measurable client CPU. But
    a status word alone proves nothing (a truncated or garbled reply starting with 0 would
    count as "flushed"), so the layout is walked without building anything: the wcc_data's
    two optional attribute blocks (present or not: servers differ), the verifier on
    success, and not one byte more.
    """

    def pack(self, p: xdr.Packer, value: int) -> None:
        p.u32(int(value))

    def unpack(self, u: xdr.Unpacker) -> int:
        return self.decode(u.rest())

    def decode(self, data: bytes) -> int:
        end = len(data)
        if end < 12:
            raise ProtocolError(f"malformed COMMIT reply: {end} bytes, too short for its status")
        status: int
        pre: int
        status, pre = _WORDS2.unpack_from(data)
        at = 8 + _follows(pre, _WCC_ATTR_SIZE, "pre-op attributes")
        if end < at + 4:
            raise ProtocolError(f"malformed COMMIT reply: {end} bytes, cut in its wcc_data")
        at += 4 + _follows(_WORD.unpack_from(data, at)[0], _FATTR3_SIZE, "post-op attributes")
        if status == Nfsstat3.NFS3_OK:
            at += WRITEVERF_SIZE
        if at != end:
            raise ProtocolError(f"malformed COMMIT reply: {end} bytes where its layout says {at}")
        return status


_WORD, _WORDS2 = struct.Struct(">I"), struct.Struct(">II")
_WCC_ATTR_SIZE, _FATTR3_SIZE = 24, 84  # RFC 1813 wcc_attr and fattr3, fixed sizes


def _follows(flag: int, size: int, what: str) -> int:
    """The bytes an XDR optional (bool + value) holds after its flag."""
    if flag > 1:
        raise ProtocolError(f"malformed COMMIT reply: {what} flag {flag} is not a boolean")
    return size * flag


#: COMMIT as the client sends flush requests (see :class:`_StatusOnly`); not a server table
#: entry: the emulator answers every COMMIT through :data:`COMMIT`.
FLUSH_COMMIT = Procedure("COMMIT", 21, CommitArgs.xdr, _StatusOnly())

PROCEDURES: dict[int, Procedure] = {
    p.number: p
    for p in (NULL, GETATTR, LOOKUP, ACCESS, READ, READDIRPLUS, FSSTAT, FSINFO, PATHCONF, COMMIT)
}
