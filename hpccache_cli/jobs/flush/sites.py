"""Where a failed file is (a :class:`~hpccache_cli.jobs.flush.values.Site`), for each way of
naming paths: the locators that ``--fallback target-flush`` places failed files with.

Apart from :mod:`hpccache_cli.jobs.flush.fallback`: every run builds one (with its resolver,
:func:`hpccache_cli.jobs.flush.naming.build_resolver`), few runs ask for the fallback, and
the fallback's own code is loaded only by those (start-up, issue #14).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hpccache_cli.flush.resolve import ExportResolver, PathRejected
from hpccache_cli.jobs.flush.values import Site

if TYPE_CHECKING:
    from hpccache_cli.flush.resolve_layout import LayoutResolver
    from hpccache_cli.flush.resolve_local import LocalPathResolver


class ExportSites:
    """Sites for ``--ip``/``--export`` paths: first address + namespace directory."""

    def __init__(self, resolver: ExportResolver) -> None:
        self.resolver = resolver

    def site(self, raw: bytes) -> Site | None:
        try:
            rel = self.resolver.relative(raw)
        except PathRejected:
            return None
        path = self.resolver.export.rstrip(b"/") + (b"/" + rel if rel else b"")
        directory = path.rpartition(b"/")[0] or b"/"
        return Site(address=self.resolver.addresses[0], directory=os.fsdecode(directory))


class LayoutSites:
    """Sites for ``--cache`` paths: the storage target the layout places each on."""

    def __init__(self, resolver: LayoutResolver) -> None:
        self.resolver = resolver

    def site(self, raw: bytes) -> Site | None:
        target = self.resolver.storage_target(raw)
        return Site(target=target) if target is not None else None


class LocalSites:
    """Sites for client paths: cache address + namespace directory of each, by which the
    fallback finds the cache (and so the storage target) in Azure after the run."""

    def __init__(self, resolver: LocalPathResolver) -> None:
        self.resolver = resolver

    def site(self, raw: bytes) -> Site | None:
        placed = self.resolver.cache_path(raw)
        if placed is None:
            return None
        address, ns = placed
        return Site(address=address, directory=ns.rpartition("/")[0] or "/")
