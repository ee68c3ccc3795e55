"""NFS version 3's numbers (RFC 1813): program, sizes and limits, the HPC Cache flush magic,
status codes and file types; no codecs.

Why apart from :mod:`hpccache_cli.nfs.nfs3`: code that only checks a name's length or reads
a status (the flush library's path checks, error messages) should not pay for building the
codecs' record classes at import, which every flush command would before knowing it has
anything to send. :mod:`~hpccache_cli.nfs.nfs3` re-exports every name here.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from hpccache_cli.nfs.errors import NfsError, checked_body, status_label

PROGRAM = 100003
VERSION = 3
FHSIZE = 64
MAX_NAME = 1024  # filename3 is unbounded in the RFC; real servers cap names at 255
COOKIEVERF_SIZE = 8
WRITEVERF_SIZE = 8

# HPC Cache flush magic (public flush_file.py documentation).
FLUSH_OFFSET = 0x1234ABCDDEADDEAD
FLUSH_SYNC = 0xABADBEEF
FLUSH_ASYNC_START = 0xADEADBE6
FLUSH_STATUS = 0xADEADBE5


class Nfsstat3(IntEnum):
    NFS3_OK = 0
    NFS3ERR_PERM = 1
    NFS3ERR_NOENT = 2
    NFS3ERR_IO = 5
    NFS3ERR_NXIO = 6
    NFS3ERR_ACCES = 13
    NFS3ERR_EXIST = 17
    NFS3ERR_XDEV = 18
    NFS3ERR_NODEV = 19
    NFS3ERR_NOTDIR = 20
    NFS3ERR_ISDIR = 21
    NFS3ERR_INVAL = 22
    NFS3ERR_FBIG = 27
    NFS3ERR_NOSPC = 28
    NFS3ERR_ROFS = 30
    NFS3ERR_MLINK = 31
    NFS3ERR_NAMETOOLONG = 63
    NFS3ERR_NOTEMPTY = 66
    NFS3ERR_DQUOT = 69
    NFS3ERR_STALE = 70
    NFS3ERR_REMOTE = 71
    NFS3ERR_BADHANDLE = 10001
    NFS3ERR_NOT_SYNC = 10002
    NFS3ERR_BAD_COOKIE = 10003
    NFS3ERR_NOTSUPP = 10004
    NFS3ERR_TOOSMALL = 10005
    NFS3ERR_SERVERFAULT = 10006
    NFS3ERR_BADTYPE = 10007
    NFS3ERR_JUKEBOX = 10008


class Ftype3(IntEnum):
    NF3REG = 1
    NF3DIR = 2
    NF3BLK = 3
    NF3CHR = 4
    NF3LNK = 5
    NF3SOCK = 6
    NF3FIFO = 7

    @property
    def label(self) -> str:
        """The type in words, for messages (``NF3LNK`` -> "symbolic link")."""
        return _FTYPE_LABELS[self]


_FTYPE_LABELS = {
    Ftype3.NF3REG: "regular file", Ftype3.NF3DIR: "directory", Ftype3.NF3BLK: "block device",
    Ftype3.NF3CHR: "character device", Ftype3.NF3LNK: "symbolic link", Ftype3.NF3SOCK: "socket",
    Ftype3.NF3FIFO: "FIFO",
}


def status_name(status: int) -> str:
    return status_label(Nfsstat3, status, "NFS3ERR")


def ok_body(result: tuple[Any, Any], context: str = "") -> Any:
    """The body of an NFS3_OK result; any other status raises NfsError."""
    return checked_body(result, Nfsstat3, NfsError, "NFS3ERR", context)


class StableHow(IntEnum):
    """stable_how of WRITE: how far the server must have stored the data before it answers."""

    UNSTABLE = 0
    DATA_SYNC = 1
    FILE_SYNC = 2


class CreateMode(IntEnum):
    """createmode3: what CREATE does with a name that exists (UNCHECKED: reuse it, GUARDED:
    fail with NFS3ERR_EXIST, EXCLUSIVE: the verifier decides)."""

    UNCHECKED = 0
    GUARDED = 1
    EXCLUSIVE = 2


class TimeHow(IntEnum):
    """time_how of sattr3: leave a time alone, or set it to the server's clock (the client's
    own time is given as an ``NfsTime3`` instead)."""

    DONT_CHANGE = 0
    SET_TO_SERVER_TIME = 1
    SET_TO_CLIENT_TIME = 2
