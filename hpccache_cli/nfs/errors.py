"""Errors of the bundled NFS client, one type per thing the user must check.

Protocol errors (bad bytes) are separate from RPC failures (the server said no, or did not
answer) and from NFS/MOUNT status errors (the server answered with a failure status). Every
message says what to check next, because these reach users of the flush command directly.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from hpccache_cli.errors import FieldError


class NfsClientError(FieldError):
    """Base of every error raised by ``hpccache_cli.nfs``.

    The library speaks Python, not flags: an error that a :class:`ClientOptions` field may
    fix names that field in its text as ``{field}`` and lists it in ``fields``, and ``hint``
    says in one machine-readable word what to check (the model is h11's
    ``error_status_hint``). ``str(exc)`` names the fields as Python callers know them (the
    keyword); a front end renders its own names with :meth:`render`, e.g. the CLI's flags
    (``ClientOptions.option_names``), so its users read ``--mount-port``. The mechanism is
    :class:`hpccache_cli.errors.FieldError`, shared with the flush library's errors.
    """


class ProtocolError(NfsClientError):
    """Bytes on the wire that do not decode: a bug, or not an NFS server at that port."""


class RpcError(NfsClientError):
    """The RPC call did not produce a result."""


class RpcDenied(RpcError):
    """MSG_DENIED: RPC version mismatch or authentication refused."""

    def __init__(self, message: str, auth_stat: int | None = None, *,
                 fields: tuple[str, ...] = (), hint: str = "") -> None:
        super().__init__(message, fields=fields, hint=hint)
        self.auth_stat = auth_stat


class ProgramUnavailable(RpcError):
    """The server does not run this program/version/procedure (PROG_UNAVAIL and friends)."""


class GarbageArgs(RpcError):
    """The server could not decode our arguments (GARBAGE_ARGS)."""


class RpcSystemError(RpcError):
    """The server failed internally (SYSTEM_ERR)."""


class RpcTimeout(RpcError):
    """No reply within the call's timeout."""


class ConnectionLost(RpcError):
    """The TCP connection closed or could not be opened."""


class StatusError(NfsClientError):
    """A procedure answered with a failure status (typed subclasses carry the enum)."""

    kind = "status"

    def __init__(self, status: int, name: str, context: str = "") -> None:
        self.status = int(status)
        self.name = name
        self.context = context
        where = f" ({context})" if context else ""
        super().__init__(f"{name} ({self.status}){where}")


class NfsError(StatusError):
    """An NFSv3 status other than NFS3_OK, e.g. ``NFS3ERR_NOENT (2)``."""

    kind = "nfs"


class MountError(StatusError):
    """A MOUNTv3 status other than MNT3_OK, e.g. ``MNT3ERR_ACCES (13)``."""

    kind = "mount"


def status_label(statuses: type[IntEnum], status: int, unknown_prefix: str) -> str:
    """``NFS3ERR_NOENT`` for a known status; ``NFS3ERR_UNKNOWN_12345`` for one we don't know."""
    try:
        return statuses(status).name
    except ValueError:
        return f"{unknown_prefix}_UNKNOWN_{status}"


def checked_body(
    result: tuple[Any, Any],
    statuses: type[IntEnum],
    error: type[StatusError],
    unknown_prefix: str,
    context: str = "",
) -> Any:
    """The body of a ``(status, body)`` result whose status is 0; otherwise raise ``error``."""
    status, body = result
    if int(status) != 0:
        raise error(int(status), status_label(statuses, int(status), unknown_prefix), context)
    return body
