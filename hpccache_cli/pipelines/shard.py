"""``--shard K/N`` and ``--shard auto``: split one flush list over N parallel jobs.

A list too large for one agent is spread over the pipeline's own parallel jobs
(``strategy: parallel: N``): every job gets the *same* input list and flushes only the paths
whose shard is its own. No coordination is needed, because the choice is a pure function of the
path: shard = ``int.from_bytes(blake2b(namespace_path, digest_size=8).digest(), "big") % N + 1``.

The hash is of the *namespace* path (the path in the cache's aggregated namespace, as bytes), not
of the client path: two agents that mount the cache at different places still agree, and a file
listed twice goes to one job. It is blake2b, not Python's ``hash()``, which is randomised per
process (``PYTHONHASHSEED``) and would give each job a different split. The formula above is a
contract: jobs of one run must compute the same shards, so it must not change between versions.

``auto`` reads the agent's ``System.JobPositionInPhase`` (1-based) and
``System.TotalJobsInPhase``, which steps see as the environment variables
``SYSTEM_JOBPOSITIONINPHASE`` and ``SYSTEM_TOTALJOBSINPHASE``, or a batch scheduler's job
array (Slurm, PBS Pro, LSF, Grid Engine: :mod:`hpccache_cli.pipelines.schedulers`, which says
when a task can know its position and refuses when it cannot). Outside a parallel job the
agent sets both to 1, and outside a pipeline or array they are absent: ``auto`` then means
``1/1`` (everything), so the same command line works in a single job and on a laptop.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping

from hpccache_cli.errors import UsageError
from hpccache_cli.pipelines.schedulers import (
    POSITION_VAR,
    TOTAL_VAR,
    PbsRangeReader,
    ShardFound,
    detect,
)

_FORM = "give K/N (the K-th of N jobs, e.g. --shard 2/4) or --shard auto"


def _whole(text: str) -> int | None:
    """A positive decimal integer, or None (no signs, no spaces inside, no '1e3')."""
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value > 0 else None


def parse_shard(text: str, environ: Mapping[str, str],
                read_pbs_range: PbsRangeReader | None = None) -> tuple[int, int]:
    """Parse ``--shard`` into ``(k, n)`` with ``1 <= k <= n``; UsageError (exit 2) if bad."""
    found = find_shard(text, environ, read_pbs_range)
    return found.k, found.n


def find_shard(text: str, environ: Mapping[str, str],
               read_pbs_range: PbsRangeReader | None = None) -> ShardFound:
    """``--shard`` as a :class:`ShardFound` (what ``auto`` read, for ``-v``); UsageError."""
    spec = text.strip()
    if spec.lower() == "auto":
        return detect(environ, read_pbs_range)
    k_text, slash, n_text = spec.partition("/")
    if not slash:
        raise UsageError(f"--shard {text!r} is not K/N; {_FORM}")
    k, n = _whole(k_text), _whole(n_text)
    if k is None or n is None:
        raise UsageError(f"--shard {text!r}: K and N must be whole numbers from 1 up; {_FORM}")
    if k > n:
        raise UsageError(f"--shard {text!r}: K must be between 1 and N={n}; {_FORM}")
    return ShardFound(k, n, "--shard", f"{k}/{n}")


def shard_of(namespace_path: bytes | str, n: int) -> int:
    """The 1-based shard (of ``n``) that owns ``namespace_path``; str is taken as fsencoded."""
    if n < 1:
        raise ValueError(f"shard count must be >= 1, not {n}")
    if isinstance(namespace_path, str):
        namespace_path = os.fsencode(namespace_path)
    digest = hashlib.blake2b(namespace_path, digest_size=8).digest()
    return int.from_bytes(digest, "big") % n + 1


def in_shard(namespace_path: bytes | str, k: int, n: int) -> bool:
    """True when shard ``k`` of ``n`` (1-based) owns ``namespace_path``."""
    if not 1 <= k <= n:
        raise ValueError(f"shard {k}/{n}: need 1 <= k <= n")
    return shard_of(namespace_path, n) == k


__all__ = ["POSITION_VAR", "TOTAL_VAR", "ShardFound", "find_shard", "in_shard", "parse_shard",
           "shard_of"]
