"""Old home of :mod:`hpccache_cli.jobs.flush.records` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.records import (
    check_outputs_of as check_outputs_of,
)
from hpccache_cli.jobs.flush.records import (
    open_records as open_records,
)
