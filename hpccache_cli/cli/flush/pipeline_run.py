"""Old home of :mod:`hpccache_cli.jobs.flush.pipeline_run` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.pipeline_run import (
    PipelineRun as PipelineRun,
)
from hpccache_cli.jobs.flush.pipeline_run import (
    __all__ as __all__,
)
