"""Client paths with no ``--ip``/``--export``/``--cache``: each file's mount says where it is.

``/mnt/cache/NAS_12_exp5/result/output3.txt`` on a client that mounted ``10.0.0.3:/`` at
``/mnt/cache`` is flushed by MOUNTing ``/`` on ``10.0.0.3`` and LOOKUPing
``NAS_12_exp5/result/output3.txt``: the Target mounts what the *client* mounted (a junction or
the namespace root) on the address the client mounted it from, so it reaches exactly the file
the client sees, with no Azure access. Files may span several mounts, addresses and junctions;
the engine keeps one session per address set, so they are grouped by address as they stream.

Ports: the mount's ``port=``/``mountport=`` options are *not* used. An HPC Cache serves NFS and
MOUNT through its portmapper on every mount address, which is the default here; the engine
has one set of port options per run (``--portmap-port``/``--mount-port``/``--nfs-port``), and a
mount-specific port is almost always a tunnel or a test server the user can name with those.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hpccache_cli.flush.resolve import PathRejected, Target, normalise_export
from hpccache_cli.flush.resolve_layout import checked_rel
from hpccache_cli.flush.results import FileResult, Outcome
from hpccache_cli.paths import InputResolver, MountTable, Translation
from hpccache_cli.paths.mountinfo import normpath

if TYPE_CHECKING:
    from hpccache_cli.flush.fallback import Site


class LocalPathResolver:
    """Client path -> Target(cache address of its mount, the mount's export, the rest)."""

    def __init__(self, table: MountTable, *, cwd: str | None = None) -> None:
        self.table = table
        self._inputs = InputResolver(table, None, "local", cwd)
        self._exports: dict[str, bytes] = {}

    def resolve(self, raw: bytes) -> Target | FileResult:
        placed = self._translate(raw)
        if isinstance(placed, FileResult):
            return placed
        translation, export_path, rest = placed
        export = self._exports.get(export_path)
        if export is None:
            export = self._exports[export_path] = normalise_export(os.fsencode(export_path))
        try:
            rel = checked_rel(os.fsencode(rest))
        except PathRejected as exc:
            return FileResult(raw, Outcome.FAILED, f"{exc}: refused", kind="bad-path")
        assert translation.cache_address is not None
        return Target((translation.cache_address,), export, rel)

    def site(self, raw: bytes) -> Site | None:
        """Cache address and namespace directory of a path: ``--fallback`` finds the cache
        (and so the storage target) by that address in Azure after the run."""
        from hpccache_cli.flush.fallback import Site

        placed = self._translate(raw)
        if isinstance(placed, FileResult):
            return None
        translation, _, _ = placed
        ns = normpath(translation.namespace_path or "/")
        return Site(address=translation.cache_address, directory=ns.rpartition("/")[0] or "/")

    def _translate(self, raw: bytes) -> tuple[Translation, str, str] | FileResult:
        """(translation, what the client mounted, the path under it) or the failure."""
        if b"\0" in raw:
            return FileResult(raw, Outcome.FAILED, "the name contains a NUL byte "
                              "(NUL-separated input needs -0): refused", kind="bad-path")
        t = self._inputs.resolve(os.fsdecode(raw))
        mount = t.mount
        if t.error is not None or mount is None or t.cache_address is None:
            return FileResult(raw, Outcome.FAILED, t.error or "not on an NFS mount of a cache",
                              kind="path")
        ns = normpath(t.namespace_path or "/")
        export = mount.export_path or "/"
        if export == "/":
            return t, "/", ns
        if ns == export or ns.startswith(export + "/"):
            return t, export, ns[len(export):]
        # A hand-made table whose root field climbs out of the export: the root always works.
        return t, "/", ns
