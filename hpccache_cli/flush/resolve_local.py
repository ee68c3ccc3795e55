"""Client paths with no ``--ip``/``--export``/``--cache``: each file's mount says where it is.

``/mnt/cache/NAS_12_exp5/result/output3.txt`` on a client that mounted ``10.0.0.3:/`` at
``/mnt/cache`` is flushed by MOUNTing ``/`` on ``10.0.0.3`` and LOOKUPing
``NAS_12_exp5/result/output3.txt``: the Target mounts what the *client* mounted (a junction or
the namespace root) on the address the client mounted it from, so it reaches exactly the file
the client sees, with no Azure access. Files may span several mounts, addresses and junctions;
the engine keeps one session per address set, so they are grouped by address as they stream.

One file, one Target: when the client mounted several exports from the same address (the
root ``/`` and the junction ``/NAS_12_exp5``), a file is placed under the *deepest* of them
that holds its namespace path, whichever mount the input named. So
``/mnt/cache/NAS_12_exp5/a`` and ``/mnt/nas/a`` are both ``(10.0.0.3, /NAS_12_exp5, a)``, and
the engine's duplicate check (address set, export, path) sees the second as a duplicate, as
it does with ``--cache`` (which always places files on their junction). The key is therefore
(address, namespace path); no state per path is kept for it. The deeper export is one the
client mounted from that very address, so MOUNTing it is allowed, and it names the same file.

Why not across addresses: a cache has several mount addresses, but nothing in the mount table
says that two addresses are the same cache (that takes Azure: ``--cache``, where the layout
lists them and every Target carries all of them). So the same file mounted through two
addresses of one cache is flushed once per address without ``--cache``: a second round trip,
nothing left unflushed. Conservative on purpose: a wrong "duplicate" would leave a file of
another cache unflushed.

Ports: the mount's ``port=``/``mountport=`` options are *not* used. An HPC Cache serves NFS and
MOUNT through its portmapper on every mount address, which is the default here; the engine
has one set of port options per run (``--portmap-port``/``--mount-port``/``--nfs-port``), and a
mount-specific port is almost always a tunnel or a test server the user can name with those.
"""
from __future__ import annotations

import os

from hpccache_cli.flush.resolve import (
    NUL_REJECTED,
    PathRejected,
    Target,
    normalise_export,
    rel_under_export,
)
from hpccache_cli.flush.results import FileResult, Outcome
from hpccache_cli.paths import InputResolver, MountTable, Translation, cache_address
from hpccache_cli.paths.mountinfo import normpath


class LocalPathResolver:
    """Client path -> Target(cache address of its mount, the deepest export mounted from
    that address that holds the file, the rest): see the module docstring."""

    def __init__(self, table: MountTable, *, cwd: str | None = None) -> None:
        self.table = table
        self._inputs = InputResolver(table, None, "local", cwd)
        self._exports: dict[str, bytes] = {}
        # address -> the exports the client mounted from it, deepest first ("/" last).
        mounted: dict[str, set[str]] = {}
        for mount in table.cache_mounts:
            address = cache_address(mount)
            if address is not None:
                mounted.setdefault(address, set()).add(normpath(mount.export_path or "/"))
        self._mounted = {a: tuple(sorted(e, key=len, reverse=True)) for a, e in mounted.items()}

    def resolve(self, raw: bytes) -> Target | FileResult:
        placed = self._translate(raw)
        if isinstance(placed, FileResult):
            return placed
        translation, export_path, rest = placed
        export = self._exports.get(export_path)
        if export is None:
            export = self._exports[export_path] = normalise_export(os.fsencode(export_path))
        try:
            rel = rel_under_export(os.fsencode(rest))
        except PathRejected as exc:
            return FileResult(raw, Outcome.FAILED, f"{exc}: refused", kind="bad-path")
        assert translation.cache_address is not None
        return Target((translation.cache_address,), export, rel)

    def cache_path(self, raw: bytes) -> tuple[str, str] | None:
        """(cache address, namespace path) of a client path, None when it does not place: by
        that address Azure names the cache, and the layout the storage target (``--fallback``
        finds them after the run)."""
        placed = self._translate(raw)
        if isinstance(placed, FileResult):
            return None
        translation, _, _ = placed
        assert translation.cache_address is not None  # _translate fails paths without one
        return translation.cache_address, normpath(translation.namespace_path or "/")

    def _translate(self, raw: bytes) -> tuple[Translation, str, str] | FileResult:
        """(translation, the export to MOUNT, the path under it) or the failure."""
        if b"\0" in raw:
            return FileResult(raw, Outcome.FAILED, f"{NUL_REJECTED}: refused", kind="bad-path")
        t = self._inputs.resolve(os.fsdecode(raw))
        mount = t.mount
        if t.error is not None or mount is None or t.cache_address is None:
            return FileResult(raw, Outcome.FAILED, t.error or "not on an NFS mount of a cache",
                              kind="path")
        ns = normpath(t.namespace_path or "/")
        for export in self._mounted.get(t.cache_address, ()):
            if export == "/":
                break
            if ns == export or ns.startswith(export + "/"):
                return t, export, ns[len(export):]
        # The root, mounted or not: a hand-made table whose root field climbs out of the
        # export lands here too, and the namespace root always works.
        return t, "/", ns
