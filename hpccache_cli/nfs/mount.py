"""MOUNT version 3 (RFC 1813 appendix I): the codec for getting a root handle of an export.

HPC Cache answers MNT for each junction (namespace path); the handle it returns is where the
per-component LOOKUPs of a flush start.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from hpccache_cli.nfs import xdr
from hpccache_cli.nfs.errors import MountError, checked_body, status_label
from hpccache_cli.nfs.nfs3 import FHSIZE, Procedure

PROGRAM = 100005
VERSION = 3
MNTPATHLEN = 1024
MNTNAMLEN = 255


class Mountstat3(IntEnum):
    MNT3_OK = 0
    MNT3ERR_PERM = 1
    MNT3ERR_NOENT = 2
    MNT3ERR_IO = 5
    MNT3ERR_ACCES = 13
    MNT3ERR_NOTDIR = 20
    MNT3ERR_INVAL = 22
    MNT3ERR_NAMETOOLONG = 63
    MNT3ERR_NOTSUPP = 10004
    MNT3ERR_SERVERFAULT = 10006


def status_name(status: int) -> str:
    return status_label(Mountstat3, status, "MNT3ERR")


def ok_body(result: tuple[Any, Any], context: str = "") -> Any:
    """The body of an MNT3_OK result; any other status raises MountError."""
    return checked_body(result, Mountstat3, MountError, "MNT3ERR", context)


dirpath = xdr.String(MNTPATHLEN)


@xdr.struct_type([("fhandle", xdr.Opaque(FHSIZE)), ("auth_flavors", xdr.Array(xdr.u32, 64))])
@dataclass(frozen=True, eq=False, repr=False)
class MountOk(xdr.Record):
    """mountres3_ok: the export's root handle and the auth flavors it accepts."""

    fhandle: bytes
    auth_flavors: list[int]


@xdr.struct_type([("dir", dirpath), ("groups", xdr.LinkedList(xdr.String(MNTNAMLEN)))])
@dataclass(frozen=True, eq=False, repr=False)
class ExportNode(xdr.Record):
    """exportnode: one export and the groups allowed to mount it."""

    dir: bytes
    groups: list[bytes]


@xdr.struct_type([("hostname", xdr.String(MNTNAMLEN)), ("directory", dirpath)])
@dataclass(frozen=True, eq=False, repr=False)
class MountBody(xdr.Record):
    """mountbody: one client mount, as DUMP lists them."""

    hostname: bytes
    directory: bytes


NULL = Procedure("NULL", 0, xdr.void, xdr.void)
MNT = Procedure(
    "MNT", 1, dirpath, xdr.StatusUnion(xdr.Enum(Mountstat3, lenient=True), MountOk.xdr)
)
DUMP = Procedure("DUMP", 2, xdr.void, xdr.LinkedList(MountBody.xdr))
UMNT = Procedure("UMNT", 3, dirpath, xdr.void)
UMNTALL = Procedure("UMNTALL", 4, xdr.void, xdr.void)
EXPORT = Procedure("EXPORT", 5, xdr.void, xdr.LinkedList(ExportNode.xdr))

PROCEDURES: dict[int, Procedure] = {p.number: p for p in (NULL, MNT, DUMP, UMNT, UMNTALL, EXPORT)}
