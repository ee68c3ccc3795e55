"""Old home of :mod:`hpccache_cli.jobs.flush.fallback_verify` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.fallback_verify import (
    WRITTEN as WRITTEN,
)
from hpccache_cli.jobs.flush.fallback_verify import (
    verify_covered as verify_covered,
)
