"""``--shard K/N`` in the flush engine: a Resolver wrapper that keeps only this job's share.

Why a resolver wrapper: the shard of a file is a function of its *namespace* path
(:mod:`hpccache_cli.pipelines.shard` says why), and only resolution knows that path. Client
paths, namespace paths and ``--export``-relative paths of the same file resolve to the same
junction + relative path, so they land in the same shard whichever way a job was given them.
Wrapping the resolver costs the engine one extra answer to handle, :data:`OUTSIDE_SHARD`
(dropped, counted in ``FlushSummary.outside_shard``, never reported per file), instead of a
second resolution pass or a shard filter inside every resolver.

Paths that do not resolve (no such junction, not on a mount of the cache, a bad name) have no
namespace path; they go to the shard of the path *as given*, so exactly one job reports each
of them instead of all N. With ``--recursive`` a listed directory is one path: the job that
owns the directory flushes every file under it.
"""

from __future__ import annotations

from hpccache_cli.flush.resolve import (
    OUTSIDE_SHARD,
    OutsideShard,
    Resolver,
    Target,
    split_components,
)
from hpccache_cli.flush.results import FileResult
from hpccache_cli.pipelines.shard import in_shard


def namespace_path(target: Target) -> bytes:
    """The file's path in the cache namespace: ``export + "/" + rel``, normalised
    (``/NAS_12_exp5`` + ``a//b`` -> ``/NAS_12_exp5/a/b``; the root export ``/`` adds nothing).

    Targets are already free of ``..`` (resolvers apply it lexically), so joining the
    components is the whole normalisation.
    """
    return b"/" + b"/".join(split_components(target.export) + split_components(target.rel))


class ShardResolver:
    """Resolve with ``inner``; answer OUTSIDE_SHARD for paths that shard ``k`` of ``n`` does
    not own. Only the engine sees it: ``--fallback`` places failed files with the locator
    of the Naming that holds ``inner`` (hpccache_cli.jobs.flush.values), whatever the order."""

    def __init__(self, inner: Resolver, k: int, n: int) -> None:
        if not 1 <= k <= n:
            raise ValueError(f"shard {k}/{n}: need 1 <= k <= n")
        self.inner = inner
        self.k = k
        self.n = n
        # (stale addresses are the inner resolver's business: see flush.resolve.Resolver)
        self.fresh_addresses = getattr(inner, "fresh_addresses", None)

    def resolve(self, raw: bytes) -> Target | FileResult | OutsideShard:
        resolved = self.inner.resolve(raw)
        if self.n == 1 or resolved is OUTSIDE_SHARD:
            return resolved
        key = namespace_path(resolved) if isinstance(resolved, Target) else raw
        return resolved if in_shard(key, self.k, self.n) else OUTSIDE_SHARD


__all__ = ["OUTSIDE_SHARD", "ShardResolver", "namespace_path"]
