"""From an input path to *where* to flush it: cache addresses, junction (export), relative path.

Resolution is a pluggable step so the engine never cares how a path was named: today a path
relative to ``--export`` on ``--ip`` addresses (flush_file.py semantics); later a ``--cache``
namespace path or a client-local path through the mount table. Each kind is one class with
``resolve(raw) -> Target | FileResult``; :func:`hpccache_cli.cli.flush.runner.build_resolver` picks
one from the command-line options. Resolution is pure string work (no I/O), so it runs on the
event loop for every path at input speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from hpccache_cli.errors import UsageError
from hpccache_cli.flush.results import FileResult, Outcome
from hpccache_cli.nfs.nfs3 import MAX_NAME

#: Longest export (MOUNT dirpath) the protocol carries.
MAX_EXPORT = 1024


@dataclass(frozen=True, slots=True)
class Target:
    """A file (or directory) on a cache: mount ``export`` on any of ``addresses``, then
    LOOKUP each component of ``rel`` (``b""`` is the export's root)."""

    addresses: tuple[str, ...]
    export: bytes
    rel: bytes

    @property
    def parent(self) -> bytes:
        return self.rel.rpartition(b"/")[0]

    @property
    def name(self) -> bytes:
        return self.rel.rpartition(b"/")[2]


class OutsideShard(Enum):
    """The type of :data:`OUTSIDE_SHARD` (an Enum so type checkers narrow ``is`` tests)."""

    OUTSIDE_SHARD = "outside-shard"


#: What a resolver answers for a path that belongs to another ``--shard`` job: not this run's
#: input, so the engine drops it without an outcome and counts it in ``outside_shard``.
OUTSIDE_SHARD = OutsideShard.OUTSIDE_SHARD


class Resolver(Protocol):
    """Turns one raw input path into a Target, or a final outcome (failed/skipped + reason),
    or :data:`OUTSIDE_SHARD` (only ``flush.shard_resolve.ShardResolver`` answers that)."""

    def resolve(self, raw: bytes) -> Target | FileResult | OutsideShard: ...


class PathRejected(ValueError):
    """A path that cannot name a file under the export; the message is the user's reason."""


def split_components(path: bytes) -> list[bytes]:
    """Components of ``path`` without empty and ``.`` parts (``a//./b/`` -> ``[a, b]``)."""
    return [c for c in path.split(b"/") if c and c != b"."]


def resolve_dots(parts: Sequence[bytes]) -> list[bytes]:
    """Apply ``..`` lexically; raise PathRejected when it climbs above the start."""
    out: list[bytes] = []
    for part in parts:
        if part == b"..":
            if not out:
                raise PathRejected("'..' escapes the export")
            out.pop()
        else:
            out.append(part)
    return out


def normalise_export(export: str | bytes) -> bytes:
    """``NAS_12_exp5/`` -> ``/NAS_12_exp5``: one leading slash, no empty/``.`` components."""
    raw = export.encode() if isinstance(export, str) else export
    parts = split_components(raw)
    if b".." in parts:
        raise UsageError(f"--export {raw.decode(errors='replace')!r} must not contain '..'")
    norm = b"/" + b"/".join(parts)
    if len(norm) > MAX_EXPORT:
        raise UsageError(f"--export is longer than {MAX_EXPORT} bytes")
    return norm


class ExportResolver:
    """flush_file.py semantics: every path is relative to the export (junction) ``export``.

    ``dir/file``, ``/dir/file`` and ``/EXPORT/dir/file`` all name ``EXPORT/dir/file``: an
    *absolute* path that starts with the export's components has them stripped, because users
    often paste the namespace path. A relative path is never stripped, so a directory inside
    the export that happens to carry the export's name is reached as ``EXPORT/...`` (no
    leading slash). ``..`` is applied lexically and may not climb above the export.
    """

    def __init__(self, addresses: Sequence[str], export: str | bytes) -> None:
        if not addresses:
            raise UsageError("give at least one cache mount address with --ip")
        self.addresses = tuple(dict.fromkeys(addresses))
        self.export = normalise_export(export)
        self._export_parts = split_components(self.export)

    def resolve(self, raw: bytes) -> Target | FileResult:
        try:
            rel = self.relative(raw)
        except PathRejected as exc:
            return FileResult(raw, Outcome.FAILED, f"{exc}: refused", kind="bad-path")
        return Target(self.addresses, self.export, rel)

    def relative(self, raw: bytes) -> bytes:
        """The path inside the export, components joined by ``/`` (``b""`` = the root)."""
        if b"\0" in raw:
            raise PathRejected("the name contains a NUL byte (NUL-separated input needs -0)")
        parts = split_components(raw)
        ex = self._export_parts
        if ex and raw.startswith(b"/") and parts[: len(ex)] == ex:
            parts = parts[len(ex) :]
        parts = resolve_dots(parts)
        for part in parts:
            if len(part) > MAX_NAME:
                raise PathRejected(
                    f"a component is {len(part)} bytes long; NFS names are at most {MAX_NAME}"
                )
        return b"/".join(parts)
