"""Read the client's mount table (``/proc/self/mountinfo`` format) into a fast lookup.

Why mountinfo and not ``/proc/mounts``: it has the mount's *root* field (bind mounts of a
subdirectory), mount and parent ids (which mount is on top when several cover a path) and
the same NFS source (``HOST:/PATH``) and options (``addr=``) that tell us which cache address
and which namespace path a client directory shows. So local -> namespace translation needs
no Azure access and no network call at all.

Names are bytes on Linux. Fields are unescaped at the byte level (the kernel writes space, tab,
newline and backslash as ``\\040``, ``\\011``, ``\\012``, ``\\134``) and only then decoded with
:func:`os.fsdecode` (surrogateescape), so a non-UTF-8 name round-trips through ``os.fsencode``
exactly, as every other path in this package does.

About the root field of NFS mounts: Linux prints ``/`` as the root of every NFS mount
(``nfs_show_path``) and puts the subdirectory of a bind mount into the *source* instead
(``nfs_show_devname`` is computed from the mount's root dentry). Joining ``source path +
root`` is therefore right for what the kernel writes and for tables where the root field
carries the subdirectory (other tools, hand-made copies): the two never both carry it.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from hpccache_cli.errors import UsageError

PROC_MOUNTINFO = "/proc/self/mountinfo"
ENV_MOUNTINFO = "HPCCACHE_MOUNTINFO"
NFS_FSTYPES = frozenset({"nfs", "nfs4"})
_DIR_MEMO_MAX = 1 << 16  # directories remembered by MountTable.find (then it starts over)

_ESCAPE = re.compile(rb"\\([0-3][0-7]{2})")


class MountTableError(UsageError):
    """The mount table cannot be read or is not in mountinfo format (exit 2)."""


def unescape(raw: bytes) -> str:
    """Decode one mountinfo field: octal escapes first, then fsdecode (bytes round-trip)."""
    if b"\\" in raw:
        raw = _ESCAPE.sub(lambda m: bytes((int(m.group(1), 8),)), raw)
    return os.fsdecode(raw)


def normpath(path: str) -> str:
    """Lexical normalisation of an absolute path: no ``.``, ``..``, ``//`` or trailing ``/``.

    The fast path skips :func:`posixpath.normpath` for paths already clean, which is most of
    them; POSIX's special leading ``//`` is folded to ``/`` (Linux treats them alike).
    """
    if "//" in path or "/." in path or (path.endswith("/") and path != "/"):
        path = posixpath.normpath(path)
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
    return path


def split_nfs_source(source: str) -> tuple[str, str] | None:
    """``HOST:/PATH`` -> (host, normalised path); brackets stripped from IPv6 hosts."""
    if source.startswith("["):
        end = source.find("]:")
        if end < 0:
            return None
        host, path = source[1:end], source[end + 2 :]
    else:
        host, sep, path = source.partition(":")
        if not sep:
            return None
    if not host or not path.startswith("/"):
        return None
    return host, normpath(path)


@dataclass(frozen=True, slots=True)
class Mount:
    """One line of the mount table.

    For NFS mounts whose source parses, ``host`` is the server as written (IPv4, IPv6 without
    brackets, or a host name), ``export_path`` the path after the colon, and ``namespace_root``
    the cache namespace path visible at ``mount_point`` (export path joined with ``root``).
    """

    mount_id: int
    parent_id: int
    root: str
    mount_point: str
    fstype: str
    source: str
    options: dict[str, str] = field(default_factory=dict, compare=False)
    host: str | None = None
    export_path: str | None = None
    namespace_root: str | None = None

    @property
    def is_nfs(self) -> bool:
        return self.fstype in NFS_FSTYPES

    @property
    def is_cache_candidate(self) -> bool:
        """An NFS mount whose source is ``HOST:/PATH``: what a cache mount looks like."""
        return self.namespace_root is not None

    @property
    def addr(self) -> str | None:
        """The server address the kernel connected to (``addr=`` option), when shown."""
        return self.options.get("addr")


def _parse_options(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in raw.split(","):
        key, _, value = item.partition("=")
        if key:
            out[key] = value
    return out


def parse_line(line: bytes) -> Mount | None:
    """Parse one mountinfo line; None when it is not in that format."""
    fields = line.rstrip(b"\n").split(b" ")
    try:
        sep = fields.index(b"-", 6)
        mount_id, parent_id = int(fields[0]), int(fields[1])
    except (ValueError, IndexError):
        return None
    if len(fields) < sep + 3 or not fields[4].startswith(b"/"):
        return None
    root = unescape(fields[3])
    fstype = unescape(fields[sep + 1])
    source = unescape(fields[sep + 2])
    options = _parse_options(unescape(fields[sep + 3])) if len(fields) > sep + 3 else {}
    host = export = ns_root = None
    if fstype in NFS_FSTYPES:
        parsed = split_nfs_source(source)
        if parsed is not None:
            host, export = parsed
            ns_root = normpath(export + "/" + root) if root not in ("", "/") else export
    return Mount(
        mount_id=mount_id,
        parent_id=parent_id,
        root=root,
        mount_point=normpath(unescape(fields[4])),
        fstype=fstype,
        source=source,
        options=options,
        host=host,
        export_path=export,
        namespace_root=ns_root,
    )


def _component_prefixes(path: str) -> Iterable[str]:
    """Strict ancestors of an absolute path, root first: '/a/b/c' -> '/', '/a', '/a/b'."""
    if path == "/":
        return
    yield "/"
    i = path.find("/", 1)
    while i > 0:
        yield path[:i]
        i = path.find("/", i + 1)


class MountTable:
    """The mounts of one machine, indexed by mount point for longest-prefix lookups.

    Only mounts a path lookup can reach are indexed: of several mounts stacked on one mount
    point (autofs then NFS, a remount) the last listed is on top, and a mount hidden by a
    later mount over one of its ancestors, which is not its own ancestor, is dropped.
    """

    def __init__(self, mounts: Iterable[Mount], source: str = "<memory>", skipped: int = 0):
        self.mounts: tuple[Mount, ...] = tuple(mounts)
        self.source = source
        self.skipped = skipped  # lines that were not mountinfo lines
        self._visible: dict[str, Mount] = _visible_mounts(self.mounts)
        self._by_dir: dict[str, Mount | None] = {}
        nfs = [m for m in self._visible.values() if m.is_cache_candidate]
        self.cache_mounts: tuple[Mount, ...] = tuple(
            sorted(nfs, key=lambda m: (len(m.mount_point), m.mount_point))
        )

    @classmethod
    def parse(cls, data: bytes, source: str = "<memory>") -> MountTable:
        mounts: list[Mount] = []
        skipped = 0
        for line in data.splitlines():
            if not line.strip():
                continue
            mount = parse_line(line)
            if mount is None:
                skipped += 1
            else:
                mounts.append(mount)
        if not mounts:
            raise MountTableError(
                f"{source} holds no mount table lines in /proc/self/mountinfo format "
                "(a copy of /proc/mounts will not do: copy /proc/self/mountinfo)"
            )
        return cls(mounts, source, skipped)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> MountTable:
        """Read ``path``, else ``$HPCCACHE_MOUNTINFO``, else ``/proc/self/mountinfo``."""
        origin = ""
        if path is None:
            env = os.environ.get(ENV_MOUNTINFO)
            path, origin = (env, f" (from ${ENV_MOUNTINFO})") if env else (PROC_MOUNTINFO, "")
        name = os.fsdecode(path)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            hint = " (not Linux? pass --mountinfo FILE)" if name == PROC_MOUNTINFO else ""
            raise MountTableError(
                f"cannot read mount table {name}{origin}: {exc.strerror or exc}{hint}"
            ) from None
        return cls.parse(data, name + origin)

    def find(self, path: str) -> Mount | None:
        """The visible mount holding absolute normalised ``path`` (longest mount point).

        A path that is not itself a mount point is on the mount of its directory, and the
        files of a list share few directories: the answer per directory is memoised, so most
        lookups cost two dict lookups instead of one per path component.
        """
        visible = self._visible
        mount = visible.get(path)
        if mount is not None:
            return mount
        cut = path.rfind("/")
        head = path[:cut] if cut > 0 else "/"
        by_dir = self._by_dir
        if head in by_dir:
            return by_dir[head]
        if len(by_dir) >= _DIR_MEMO_MAX:
            by_dir.clear()
        mount = by_dir[head] = self._walk(head)
        return mount

    def _walk(self, path: str) -> Mount | None:
        visible = self._visible
        mount = visible.get(path)
        if mount is not None:
            return mount
        i = len(path)
        while i > 0:
            i = path.rfind("/", 0, i)
            if i <= 0:
                break
            mount = visible.get(path[:i])
            if mount is not None:
                return mount
        return visible.get("/")

    def nfs_mounts(self) -> list[Mount]:
        """Visible NFS mounts with a ``HOST:/PATH`` source, shortest mount point first."""
        return list(self.cache_mounts)


def _visible_mounts(mounts: tuple[Mount, ...]) -> dict[str, Mount]:
    """Mount point -> the mount a lookup reaches there (see :class:`MountTable`).

    A later mount over an ancestor directory hides an earlier one unless it is that mount's
    ancestor; listing order alone is not trusted (Linux may list ``/`` after its children),
    and an inconsistent hand-made table (an earlier non-ancestor) hides nothing.
    """
    top: dict[str, tuple[int, Mount]] = {}
    for index, mount in enumerate(mounts):
        top[mount.mount_point] = (index, mount)
    by_id = {m.mount_id: m for m in mounts}
    visible: dict[str, Mount] = {}
    for point, (index, mount) in top.items():
        ancestors: set[int] = set()
        parent = by_id.get(mount.parent_id)
        while parent is not None and parent.mount_id not in ancestors:
            ancestors.add(parent.mount_id)
            parent = by_id.get(parent.parent_id)
        hidden = False
        for prefix in _component_prefixes(point):
            over = top.get(prefix)
            if over is not None and over[0] > index and over[1].mount_id not in ancestors:
                hidden = True
                break
        if not hidden:
            visible[point] = mount
    return visible
