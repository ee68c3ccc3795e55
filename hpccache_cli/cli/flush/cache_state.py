"""Old home of :mod:`hpccache_cli.jobs.flush.cache_state` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.cache_state import (
    SERVING as SERVING,
)
from hpccache_cli.jobs.flush.cache_state import (
    state_problem as state_problem,
)
from hpccache_cli.jobs.flush.cache_state import (
    unreachable_cause as unreachable_cause,
)
