"""Client path <-> cache namespace path, from the mount table alone.

A file at ``/mnt/cache/NAS_12_exp5/result/output3.txt`` on a client that mounted
``10.0.0.3:/NAS_12_exp5`` at ``/mnt/cache/NAS_12_exp5`` is ``/NAS_12_exp5/result/output3.txt``
in the cache namespace: the mounted namespace path plus what follows the mount point. That is
string work, and it is kept string work so a million paths take seconds: the table is indexed
by mount point (with the answer memoised per directory), ``.``/``//`` are removed lexically,
and symlinks are resolved with one ``lstat`` per file plus one ``realpath`` per *directory*
(cached), never a ``realpath`` per file; a file whose directory does not exist here costs no
syscall at all. ``resolve=False`` skips even the ``lstat``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hpccache_cli.paths.addresses import cache_address, matches_any
from hpccache_cli.paths.mountinfo import Mount, MountTable, normpath

NOT_LOCAL_NOTE = "does not exist on this machine; translated as written"
_DIR_MEMO_MAX = 1 << 16  # directories whose realpath a Translator remembers (then starts over)


@dataclass(slots=True)  # not frozen: that costs ~3 us a path, half the budget; read-only
class Translation:
    """Where one input path is, on the client and in the cache namespace.

    ``error`` is None when ``namespace_path`` is known, else the reason in one sentence.
    ``kind`` says how the input was read: ``local`` (a client path), ``namespace`` or
    ``export`` (see :func:`hpccache_cli.paths.classify_path`). ``exists_locally`` is None
    when it was not checked (``resolve=False`` or a non-local input).
    """

    input: str
    client_path: str | None = None
    mount_point: str | None = None
    mount_source: str | None = None
    cache_address: str | None = None
    namespace_path: str | None = None
    exists_locally: bool | None = None
    error: str | None = None
    note: str | None = None
    kind: str = "local"
    mount: Mount | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON keys of ``hpccache path`` (without the Azure ones)."""
        return {
            "input": self.input,
            "kind": self.kind,
            "client_path": self.client_path,
            "exists_locally": self.exists_locally,
            "mount_point": self.mount_point,
            "mount_source": self.mount_source,
            "cache_address": self.cache_address,
            "namespace_path": self.namespace_path,
            "note": self.note,
            "error": self.error,
        }


class _Resolver:
    """Symlink resolution with the directory part cached: one lstat per file, not a walk.

    Correct because ``.`` and ``//`` never change what a path names; a path with ``..`` in it
    (whose meaning depends on symlinks before it) bypasses the cache and gets ``realpath``.
    """

    def __init__(self) -> None:
        self._dirs: dict[str, tuple[str, bool]] = {}  # directory -> (realpath, is a directory)

    def resolve(self, path: str, lexical: str) -> tuple[str, bool]:
        """(resolved path, exists) of ``path`` (``lexical`` is its normpath); for a missing
        file, its directory's resolution + its name."""
        if "/.." in path:
            real = os.path.realpath(path)
            return real, os.path.lexists(real)
        path = lexical
        if path == "/":
            return path, True
        head, _, name = path.rpartition("/")
        known = self._dirs.get(head)
        if known is None:
            if len(self._dirs) >= _DIR_MEMO_MAX:
                self._dirs.clear()
            real_head = os.path.realpath(head or "/")
            known = self._dirs[head] = (real_head, os.path.isdir(real_head))
        real_head, is_dir = known
        full = (real_head if real_head != "/" else "") + "/" + name
        if not is_dir:  # no directory, no file: skip the lstat (paths from another machine)
            return full, False
        try:
            st = os.lstat(full)
        except OSError:
            return full, False
        if stat.S_ISLNK(st.st_mode):
            real = os.path.realpath(full)
            return real, os.path.lexists(real)
        return full, True


def _namespace_of(mount: Mount, path: str) -> str:
    """The namespace path of ``path`` (under ``mount.mount_point``) on ``mount``."""
    point = mount.mount_point
    rest = path[len(point) :] if point != "/" else path
    root = mount.namespace_root or "/"
    if root == "/":
        return rest or "/"
    return root + rest if rest != "/" else root


def _not_a_cache(path: str, mount: Mount | None, via_symlink: bool) -> str:
    where = f" (it resolves to {path})" if via_symlink else ""
    if mount is None:
        return f"not under any mount in the mount table{where}"
    if mount.is_nfs:
        return (
            f"on NFS mount {mount.mount_point} whose source {mount.source!r} is not "
            f"HOST:/PATH{where}"
        )
    hint = "; not mounted yet? access it once and retry" if mount.fstype == "autofs" else ""
    return (
        f"not under an NFS mount of a cache: it is on the {mount.fstype} mount at "
        f"{mount.mount_point}{where}{hint}"
    )


class Translator:
    """Translate client paths one at a time against one table, sharing a symlink cache.

    For a caller that gets paths one by one (the flush's per-path resolver); a directory's
    ``realpath`` is computed once for all the files in it. ``resolve=False`` is pure string
    work (no syscall per path): use it when the paths are known canonical, e.g. from ``find``.
    """

    def __init__(self, table: MountTable, cwd: str | None = None, resolve: bool = True) -> None:
        self.table = table
        self._cwd = cwd
        self._resolver = _Resolver() if resolve else None

    def translate(self, raw: str) -> Translation:
        if not raw:
            return Translation(raw, error="empty path")
        path = raw
        if not path.startswith("/"):
            if self._cwd is None:
                try:
                    self._cwd = os.getcwd()
                except OSError as exc:
                    return Translation(raw, error=f"relative path, and no current directory: {exc}")
            path = self._cwd + "/" + path
        exists: bool | None = None
        lexical = normpath(path)
        if self._resolver is not None:
            # A missing file keeps its name as written; only its directories' links resolve.
            path, exists = self._resolver.resolve(path, lexical)
        else:
            path = lexical
        mount = self.table.find(path)
        if mount is None or not mount.is_cache_candidate:
            return Translation(
                raw,
                client_path=path,
                mount_point=mount.mount_point if mount else None,
                exists_locally=exists,
                error=_not_a_cache(path, mount, via_symlink=path != lexical),
            )
        return Translation(
            raw,
            client_path=path,
            mount_point=mount.mount_point,
            mount_source=mount.source,
            cache_address=cache_address(mount),
            namespace_path=_namespace_of(mount, path),
            exists_locally=exists,
            note=NOT_LOCAL_NOTE if exists is False else None,
            mount=mount,
        )


def translate_many(
    paths: Iterable[str],
    table: MountTable,
    cwd: str | None = None,
    resolve: bool = True,
) -> Iterator[Translation]:
    """:func:`translate` for many paths, lazily, sharing one :class:`Translator`."""
    one = Translator(table, cwd, resolve).translate
    for raw in paths:
        yield one(raw)


def translate(
    client_path: str, table: MountTable, cwd: str | None = None, resolve: bool = True
) -> Translation:
    """Translate one client path into its cache address and namespace path.

    The path is made absolute against ``cwd`` (default: the current directory) and
    normalised; when it exists locally its symlinks are resolved (so a link inside the mount
    that points elsewhere is translated where it points), otherwise it is translated
    lexically and ``note`` says so. A path not under an NFS mount gets ``error``, not a guess.
    """
    return Translator(table, cwd, resolve).translate(client_path)


def local_matches(
    namespace_path: str,
    table: MountTable,
    cache_addresses: Iterable[str] | None = None,
) -> list[tuple[str, Mount]]:
    """(client path, mount) pairs where ``namespace_path`` is visible on this machine.

    Every NFS mount whose namespace root holds the path gives a candidate (a root mount and
    a junction mount of the same cache both do); a candidate is kept only when a lookup of it
    really lands on that mount, so a path hidden by a nested mount is not offered.
    """
    ns = normpath(namespace_path if namespace_path.startswith("/") else "/" + namespace_path)
    wanted = tuple(cache_addresses) if cache_addresses is not None else None
    out: list[tuple[str, Mount]] = []
    for mount in table.cache_mounts:
        root = mount.namespace_root or "/"
        if root == "/":
            rest = ns if ns != "/" else ""
        elif ns == root:
            rest = ""
        elif ns.startswith(root + "/"):
            rest = ns[len(root) :]
        else:
            continue
        if wanted is not None and not matches_any(mount, wanted):
            continue
        point = mount.mount_point
        local = (point if point != "/" else "") + rest or "/"
        if table.find(local) is mount and all(local != p for p, _ in out):
            out.append((local, mount))
    return out


def to_local(
    namespace_path: str, table: MountTable, cache_addresses: Iterable[str] | None = None
) -> list[str]:
    """The client paths where ``namespace_path`` is visible (shortest mount point first).

    ``cache_addresses`` (a cache's mount addresses) keeps only mounts of that cache; without
    it any NFS mount that shows the namespace path counts.
    """
    return [p for p, _ in local_matches(namespace_path, table, cache_addresses)]


def group_by_address(translations: Iterable[Translation]) -> dict[str, list[Translation]]:
    """Successful translations grouped by cache address, input order kept within a group.

    The flush talks to one cache address per connection; files from several mounts and
    junctions of the same address share it.
    """
    groups: dict[str, list[Translation]] = {}
    for t in translations:
        if t.ok and t.cache_address is not None:
            groups.setdefault(t.cache_address, []).append(t)
    return groups
