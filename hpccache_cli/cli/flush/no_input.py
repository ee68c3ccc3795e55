"""Old home of :mod:`hpccache_cli.jobs.flush.no_input` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.no_input import (
    NothingToRead as NothingToRead,
)
from hpccache_cli.jobs.flush.no_input import (
    make_engine as make_engine,
)
