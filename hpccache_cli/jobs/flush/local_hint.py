"""Client paths, with a hint for the namespace path given without ``--cache``.

A new user's first try is often ``hpccache flush /NAS_12_exp5/result/x``: the path as the
cache's namespace calls it, with no ``--cache``. Read as a client path it is on no cache
mount, and the plain reason ("not under an NFS mount of a cache") does not say what to do.
When such a path's top directory (``/NAS_12_exp5``) does not exist on this machine, it is
almost surely a namespace path, so its reason ends with how to name the cache. The library's
resolver stays flag-free; the hint is the command's, so it names flags.
"""

from __future__ import annotations

import os

from hpccache_cli.flush.resolve import Target
from hpccache_cli.flush.resolve_local import LocalPathResolver
from hpccache_cli.flush.results import FileResult
from hpccache_cli.paths import MountTable

#: Added to the reason of a path on no cache mount that reads as a namespace path.
NAMESPACE_HINT = ("; a namespace path? name its cache: --cache NAME -g RG (or --ip ADDRESS "
                  "--export /JUNCTION)")
_MEMO_MAX = 4096  # top directories remembered (then the memo starts over)


class HintingResolver(LocalPathResolver):
    """:class:`LocalPathResolver` whose "not on a cache mount" reasons carry
    :data:`NAMESPACE_HINT` for paths whose top directory is not on this machine."""

    def __init__(self, table: MountTable, *, cwd: str | None = None) -> None:
        super().__init__(table, cwd=cwd)
        self._absent: dict[bytes, bool] = {}  # top directory -> not on this machine

    def resolve(self, raw: bytes) -> Target | FileResult:
        out = super().resolve(raw)
        if isinstance(out, FileResult) and out.kind == "path" and self._namespace_like(raw):
            out.reason += NAMESPACE_HINT
        return out

    def _namespace_like(self, raw: bytes) -> bool:
        """An absolute path whose first directory does not exist here (one lstat each)."""
        if not raw.startswith(b"/"):
            return False
        top = b"/" + raw.lstrip(b"/").split(b"/", 1)[0]
        absent = self._absent.get(top)
        if absent is None:
            if len(self._absent) >= _MEMO_MAX:
                self._absent.clear()
            absent = self._absent[top] = top != b"/" and not os.path.lexists(top)
        return absent
