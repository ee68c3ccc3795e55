"""From an input path to *where* to flush it: cache addresses, junction (export), relative path.

Resolution is a pluggable step so the engine never cares how a path was named: today a path
relative to ``--export`` on ``--ip`` addresses (flush_file.py semantics); later a ``--cache``
namespace path or a client-local path through the mount table. Each kind is one class with
``resolve(raw) -> Target | FileResult``; :func:`hpccache_cli.jobs.flush.naming.build_resolver` picks
one from the command-line options. Resolution is pure string work (no I/O), so it runs on the
event loop for every path at input speed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from hpccache_cli.errors import fill_fields
from hpccache_cli.flush.errors import FlushOptionError
from hpccache_cli.flush.results import FileResult, Outcome, display_path
from hpccache_cli.nfs.nfs3_const import MAX_NAME

#: Longest export (MOUNT dirpath) the protocol carries.
MAX_EXPORT = 1024


@dataclass(frozen=True, slots=True)
class Target:
    """A file (or directory) on a cache: mount ``export`` on any of ``addresses``, then
    LOOKUP each component of ``rel`` (``b""`` is the export's root).

    ``alt``: a second reading of the same input (``flush --export`` without ``--path-kind``,
    for ``/JUNCTION/x``: ``rel`` is ``x``, the namespace path; ``alt`` is ``JUNCTION/x``,
    relative to the export). The flow looks both up and flushes only one that exists alone.
    """

    addresses: tuple[str, ...]
    export: bytes
    rel: bytes
    alt: bytes | None = None

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
    or :data:`OUTSIDE_SHARD` (only ``flush.shard_resolve.ShardResolver`` answers that).

    A resolver whose addresses may be stale (a layout from the resolution cache) may also
    have ``async fresh_addresses(addresses) -> Sequence[str] | None``: the engine asks it
    once when none of ``addresses`` ever answered, and uses the new ones it returns."""

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


#: Why a name with a NUL byte is refused, in every resolver's words.
NUL_REJECTED = "the name contains a NUL byte (NUL-separated input needs -0)"


def reject_nul(raw: bytes) -> None:
    """Raise PathRejected for a NUL byte: no NFS name holds one, and in a newline-separated
    input it usually means the input was NUL-separated (``find -print0``) without ``-0``."""
    if b"\0" in raw:
        raise PathRejected(NUL_REJECTED)


def checked_rel(parts: Sequence[bytes]) -> bytes:
    """The one path validator: ``parts`` (components under an export, empty and ``.`` ones
    already dropped) as Target.rel, ``..`` applied. Raises PathRejected for a ``..`` that
    climbs out or an over-long component, so reports read alike whatever the resolver."""
    out = resolve_dots(parts)
    for part in out:
        if len(part) > MAX_NAME:
            raise PathRejected(
                f"a component is {len(part)} bytes long; NFS names are at most {MAX_NAME}"
            )
    return b"/".join(out)


def rel_under_export(rest: bytes) -> bytes:
    """``rest`` (a path under an export) as Target.rel, checked by :func:`checked_rel`."""
    reject_nul(rest)
    return checked_rel(split_components(rest))


def normalise_export(export: str | bytes) -> bytes:
    """``NAS_12_exp5/`` -> ``/NAS_12_exp5``: one leading slash, no empty/``.`` components."""
    raw = export.encode() if isinstance(export, str) else export
    parts = split_components(raw)
    if b".." in parts:
        raise FlushOptionError(
            "{export} " + repr(raw.decode(errors="replace")) + " must not contain '..'",
            fields=("export",), hint="dotdot")
    norm = b"/" + b"/".join(parts)
    if len(norm) > MAX_EXPORT:
        raise FlushOptionError(f"{{export}} is longer than {MAX_EXPORT} bytes",
                               fields=("export",), hint="too_long")
    return norm


#: How ExportResolver reads a path that starts with the junction's own name.
READINGS = ("export", "namespace")


class ExportResolver:
    """Paths under the export (junction) ``export`` on the mount addresses ``ips``, read as
    ``path_kind`` says.

    * ``"export"`` (flush_file.py, ``flush-file``, ``--path-kind export``): every path is
      relative to the export, as flush_file.py LOOKUPs it from the mounted root:
      ``/JUNCTION/x`` is ``JUNCTION/x`` inside the export. Nothing is ever stripped.
    * ``"namespace"`` (``--path-kind namespace``): namespace paths; each must start with the
      junction's own path, which is stripped (``/JUNCTION/x`` is ``x``).
    * None (``flush --export`` alone): relative to the export, except that an absolute path
      that starts with the junction's components may also be its namespace path: such a
      Target carries both readings (``rel`` stripped, ``alt`` not) and the flow picks the one
      that exists, or fails the path when both do (see ``flow.FileFlow``).

    ``..`` is applied lexically and may not climb above the export.
    """

    def __init__(
        self, ips: Sequence[str], export: str | bytes, path_kind: str | None = None, *,
        option_names: Mapping[str, str] | None = None,
    ) -> None:
        if not ips:
            raise FlushOptionError("give at least one cache mount address with {ips}",
                                   fields=("ips",), hint="missing")
        if path_kind is not None and path_kind not in READINGS:
            raise FlushOptionError(
                f"{{path_kind}} must be one of {', '.join(READINGS)} or None, not {path_kind!r}",
                fields=("path_kind",), hint="invalid_choice")
        self.addresses = tuple(dict.fromkeys(ips))
        self.export = normalise_export(export)
        self.reading = path_kind
        #: How per-path reasons name the keywords (the CLI: its flags); see FieldError.
        self.option_names = option_names
        self._export_parts = split_components(self.export)

    def resolve(self, raw: bytes) -> Target | FileResult:
        try:
            rel, alt = self.readings(raw)
        except PathRejected as exc:
            return FileResult(raw, Outcome.FAILED, f"{exc}: refused", kind="bad-path")
        return Target(self.addresses, self.export, rel, alt)

    def relative(self, raw: bytes) -> bytes:
        """The path inside the export, components joined by ``/`` (``b""`` = the root); of
        two readings, the namespace one."""
        return self.readings(raw)[0]

    def readings(self, raw: bytes) -> tuple[bytes, bytes | None]:
        """``(rel, alt)``: the path inside the export, and its other reading or None."""
        reject_nul(raw)
        parts = split_components(raw)
        ex = self._export_parts
        under = bool(ex) and parts[: len(ex)] == ex
        if self.reading == "namespace":
            if not under:
                raise PathRejected(fill_fields(
                    f"not under the {{export}} junction {display_path(self.export)} "
                    "({path_kind} namespace)", ("export", "path_kind"), self.option_names))
            return checked_rel(parts[len(ex):]), None
        if self.reading is None and under and raw.startswith(b"/"):
            return checked_rel(parts[len(ex):]), checked_rel(parts)
        return checked_rel(parts), None
