"""Old home of :mod:`hpccache_cli.jobs.flush.fallback_outputs` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.fallback_outputs import (
    HeldOutputs as HeldOutputs,
)
from hpccache_cli.jobs.flush.fallback_outputs import (
    _held as _held,
)
from hpccache_cli.jobs.flush.fallback_outputs import (
    spill_dir_for as spill_dir_for,
)
