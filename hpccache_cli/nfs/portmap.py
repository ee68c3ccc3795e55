"""Portmapper version 2 (RFC 1833): where MOUNT and NFS listen, when not given explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from hpccache_cli.nfs import xdr
from hpccache_cli.nfs.nfs3 import Procedure

PROGRAM = 100000
VERSION = 2
DEFAULT_PORT = 111
IPPROTO_TCP = 6
IPPROTO_UDP = 17


@xdr.struct_type([("prog", xdr.u32), ("vers", xdr.u32), ("prot", xdr.u32), ("port", xdr.u32)])
@dataclass(frozen=True, eq=False, repr=False)
class Mapping(xdr.Record):
    """mapping: a program and version on a protocol and port."""

    prog: int
    vers: int
    prot: int = IPPROTO_TCP
    port: int = 0


NULL = Procedure("NULL", 0, xdr.void, xdr.void)
SET = Procedure("SET", 1, Mapping.xdr, xdr.boolean)
UNSET = Procedure("UNSET", 2, Mapping.xdr, xdr.boolean)
GETPORT = Procedure("GETPORT", 3, Mapping.xdr, xdr.u32)
DUMP = Procedure("DUMP", 4, xdr.void, xdr.LinkedList(Mapping.xdr))

PROCEDURES: dict[int, Procedure] = {p.number: p for p in (NULL, SET, UNSET, GETPORT, DUMP)}
