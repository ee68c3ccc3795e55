"""Old home of :mod:`hpccache_cli.jobs.flush.local_hint` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.local_hint import (
    _MEMO_MAX as _MEMO_MAX,
)
from hpccache_cli.jobs.flush.local_hint import (
    NAMESPACE_HINT as NAMESPACE_HINT,
)
from hpccache_cli.jobs.flush.local_hint import (
    HintingResolver as HintingResolver,
)
