"""Old home of :mod:`hpccache_cli.jobs.flush.shard_resolve` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.shard_resolve import (
    ShardResolver as ShardResolver,
)
from hpccache_cli.jobs.flush.shard_resolve import (
    __all__ as __all__,
)
from hpccache_cli.jobs.flush.shard_resolve import (
    namespace_path as namespace_path,
)
