"""NFS version 3 (RFC 1813) write path: SETATTR, WRITE, CREATE, MKDIR and REMOVE codecs.

Apart from :mod:`hpccache_cli.nfs.nfs3` because only ``hpccache copy`` and the emulator's
write path need them: a flush never builds these records, so it never pays for them at import.
The shapes shared with the read path (``fattr3``, ``wcc_data``, file handles, names) come from
``nfs3``, so both directions of every procedure still use one declaration.

The two discriminated unions of ``sattr3`` are plain Python values here: ``set_mode3`` and
friends are exactly XDR optionals (a boolean, then the value), and a ``set_atime``/``set_mtime``
is an :class:`NfsTime3` (SET_TO_CLIENT_TIME) or a :class:`TimeHow` (leave it, or the server's
clock). ``createhow3`` is :class:`CreateHow`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from hpccache_cli.nfs import xdr
from hpccache_cli.nfs.nfs3 import Fattr3 as Fattr3
from hpccache_cli.nfs.nfs3 import (
    NfsTime3,
    Procedure,
    WccData,
    _res,
    fh3,
    filename3,
    post_op_attr,
)
from hpccache_cli.nfs.nfs3_const import WRITEVERF_SIZE, CreateMode, StableHow, TimeHow
from hpccache_cli.nfs.xdr_bytes import DEFAULT_MAX_OPAQUE

#: Most bytes one WRITE carries (and the emulator accepts): 1 MiB, the usual wtmax. A client
#: splits at ``min(wtmax, MAX_WRITE)``; a server never buffers more for one call.
MAX_WRITE = DEFAULT_MAX_OPAQUE
CREATEVERF_SIZE = 8

SetTime = Union[NfsTime3, TimeHow]  # noqa: UP007 - a runtime alias on Python 3.10 too


class _SetTime(xdr.XdrType[SetTime]):
    """``set_atime``/``set_mtime``: ``union switch (time_how) { case SET_TO_CLIENT_TIME:
    nfstime3; default: void; }``."""

    _how = xdr.Enum(TimeHow)

    def pack(self, p: xdr.Packer, value: SetTime) -> None:
        if isinstance(value, NfsTime3):
            p.u32(TimeHow.SET_TO_CLIENT_TIME)
            NfsTime3.xdr.pack(p, value)
        elif value == TimeHow.SET_TO_CLIENT_TIME:
            raise xdr.XdrError("SET_TO_CLIENT_TIME needs the time itself (an NfsTime3)")
        else:
            p.u32(int(value))

    def unpack(self, u: xdr.Unpacker) -> SetTime:
        how: TimeHow = self._how.unpack(u)
        if how == TimeHow.SET_TO_CLIENT_TIME:
            return NfsTime3.xdr.unpack(u)
        return how


set_time = _SetTime()


@xdr.struct_type(
    [("mode", xdr.Optional(xdr.u32)), ("uid", xdr.Optional(xdr.u32)),
     ("gid", xdr.Optional(xdr.u32)), ("size", xdr.Optional(xdr.u64)),
     ("atime", set_time), ("mtime", set_time)]
)
@dataclass(frozen=True, eq=False, repr=False)
class Sattr3(xdr.Record):
    """sattr3: the attributes a client sets (None / DONT_CHANGE: leave it as it is)."""

    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: int | None = None
    atime: SetTime = TimeHow.DONT_CHANGE
    mtime: SetTime = TimeHow.DONT_CHANGE


@dataclass(frozen=True)
class CreateHow:
    """createhow3: UNCHECKED or GUARDED with the new file's attributes, or EXCLUSIVE with a
    verifier (the server keeps it to recognise a retried CREATE)."""

    mode: CreateMode = CreateMode.UNCHECKED
    attributes: Sattr3 = Sattr3()
    verf: bytes = b"\0" * CREATEVERF_SIZE


class _CreateHowType(xdr.XdrType[CreateHow]):
    _mode = xdr.Enum(CreateMode)
    _verf = xdr.Fixed(CREATEVERF_SIZE)

    def pack(self, p: xdr.Packer, value: CreateHow) -> None:
        p.u32(int(value.mode))
        if value.mode == CreateMode.EXCLUSIVE:
            self._verf.pack(p, value.verf)
        else:
            Sattr3.xdr.pack(p, value.attributes)

    def unpack(self, u: xdr.Unpacker) -> CreateHow:
        mode: CreateMode = self._mode.unpack(u)
        if mode == CreateMode.EXCLUSIVE:
            return CreateHow(mode, Sattr3(), self._verf.unpack(u))
        return CreateHow(mode, Sattr3.xdr.unpack(u))


@xdr.struct_type([("object", fh3), ("new_attributes", Sattr3.xdr),
                  ("guard", xdr.Optional(NfsTime3.xdr))])
@dataclass(frozen=True, eq=False, repr=False)
class SetattrArgs(xdr.Record):
    """SETATTR3args: the attributes to set; ``guard`` (the ctime the client last saw) makes
    the server refuse with NFS3ERR_NOT_SYNC when the file changed since."""

    object: bytes
    new_attributes: Sattr3
    guard: NfsTime3 | None = None


@xdr.struct_type([("dir", fh3), ("name", filename3), ("how", _CreateHowType())])
@dataclass(frozen=True, eq=False, repr=False)
class CreateArgs(xdr.Record):
    """CREATE3args: a regular file named ``name`` in ``dir``."""

    dir: bytes
    name: bytes
    how: CreateHow = CreateHow()


@xdr.struct_type([("dir", fh3), ("name", filename3), ("attributes", Sattr3.xdr)])
@dataclass(frozen=True, eq=False, repr=False)
class MkdirArgs(xdr.Record):
    """MKDIR3args: a directory named ``name`` in ``dir``."""

    dir: bytes
    name: bytes
    attributes: Sattr3 = Sattr3()


@xdr.struct_type([("obj", xdr.Optional(fh3)), ("obj_attributes", post_op_attr),
                  ("dir_wcc", WccData.xdr)])
@dataclass(frozen=True, eq=False, repr=False)
class CreateOk(xdr.Record):
    """CREATE3resok and MKDIR3resok (one layout): the new object's handle and attributes,
    each optional (a server may leave them out: the client then looks the name up)."""

    obj: bytes | None = None
    obj_attributes: Fattr3 | None = None
    dir_wcc: WccData = WccData()


@xdr.struct_type([("file", fh3), ("offset", xdr.u64), ("count", xdr.u32),
                  ("stable", xdr.Enum(StableHow)), ("data", xdr.Opaque(MAX_WRITE))])
@dataclass(frozen=True, eq=False, repr=False)
class WriteArgs(xdr.Record):
    """WRITE3args: ``data`` at ``offset`` (``count`` is its length)."""

    file: bytes
    offset: int
    count: int
    stable: StableHow
    data: bytes


@xdr.struct_type([("file_wcc", WccData.xdr), ("count", xdr.u32),
                  ("committed", xdr.Enum(StableHow)), ("verf", xdr.Fixed(WRITEVERF_SIZE))])
@dataclass(frozen=True, eq=False, repr=False)
class WriteOk(xdr.Record):
    """WRITE3resok: bytes taken, how stably, and the write verifier (a different verifier at
    COMMIT means the server lost unstable data: write it again)."""

    file_wcc: WccData
    count: int
    committed: StableHow
    verf: bytes


@xdr.struct_type([("dir", fh3), ("name", filename3)])
@dataclass(frozen=True, eq=False, repr=False)
class RemoveArgs(xdr.Record):
    """REMOVE3args: a name in a directory."""

    dir: bytes
    name: bytes


SETATTR = Procedure("SETATTR", 2, SetattrArgs.xdr, _res(WccData.xdr, WccData.xdr))
WRITE = Procedure("WRITE", 7, WriteArgs.xdr, _res(WriteOk.xdr, WccData.xdr))
CREATE = Procedure("CREATE", 8, CreateArgs.xdr, _res(CreateOk.xdr, WccData.xdr))
MKDIR = Procedure("MKDIR", 9, MkdirArgs.xdr, _res(CreateOk.xdr, WccData.xdr))
REMOVE = Procedure("REMOVE", 12, RemoveArgs.xdr, _res(WccData.xdr, WccData.xdr))

#: The write procedures by number (the emulator adds them to ``nfs3.PROCEDURES``).
PROCEDURES: dict[int, Procedure] = {p.number: p for p in (SETATTR, WRITE, CREATE, MKDIR, REMOVE)}

__all__ = ["CREATE", "MAX_WRITE", "MKDIR", "PROCEDURES", "REMOVE", "SETATTR", "WRITE",
           "CreateArgs", "CreateHow", "CreateMode", "CreateOk", "MkdirArgs", "RemoveArgs",
           "Sattr3", "SetTime", "SetattrArgs", "StableHow", "TimeHow", "WriteArgs", "WriteOk"]
