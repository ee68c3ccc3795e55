"""Errors of the flush library: typed, naming the keyword a Python caller passed.

The library speaks Python, the CLI speaks flags (issue 12 §2). ``flush_paths(...,
concurrency=0)`` raises :class:`FlushOptionError` whose text reads "concurrency must be at
least 1, not 0", with ``fields == ("concurrency",)`` and ``hint == "too_small"``; the CLI
renders the same error with its flags (``--concurrency must be ...``) through the one
field -> flag table it keeps (``hpccache_cli.cli.flags``). The mechanism, ``{field}`` in the
message and :meth:`~hpccache_cli.errors.FieldError.render`, is the NFS client's too.

Hints, one word each: ``too_small``, ``too_large``, ``invalid_choice``, ``conflict`` (two
keywords that do not go together), ``missing``, ``dotdot`` and ``too_long`` (an export),
``url``, ``network``, ``brackets``, ``port`` and ``not_an_ip`` (a mount address),
``no_junction`` (the cache has no such export), ``no_mount_addresses``.

The classes stay :class:`~hpccache_cli.errors.UsageError` (exit 2) and
:class:`~hpccache_cli.errors.AzureError` (exit 3), so the command's exit codes hold without
a mapping of their own; a bad value is also a ``ValueError`` to Python callers.
"""

from __future__ import annotations

from collections.abc import Mapping

from hpccache_cli.errors import AzureError, FieldError, UsageError


class FlushOptionError(FieldError, UsageError, ValueError):
    """A keyword of the flush library (``concurrency``, ``export``, ``ips``, ``path_kind``,
    ...) has a value that cannot work; ``fields`` names it, ``hint`` says why in one word."""

    def __init__(self, message: str, *, fields: tuple[str, ...], hint: str,
                 keywords: Mapping[str, str] | None = None) -> None:
        super().__init__(message, fields=fields, hint=hint, keywords=keywords)


class NoMountAddresses(FieldError, AzureError):
    """Azure lists no mount addresses for the cache (being created, or stopped): exit 3.
    ``fields`` names ``refresh``, the way to read the layout again once it runs."""

    def __init__(self, message: str) -> None:
        super().__init__(message, fields=("refresh",), hint="no_mount_addresses",
                         keywords={"refresh": "a fresh layout"})
