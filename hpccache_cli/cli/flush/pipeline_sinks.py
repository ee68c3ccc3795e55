"""Old home of :mod:`hpccache_cli.jobs.flush.pipeline_sinks` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.pipeline_sinks import (
    RETRY_STORM_ATTEMPTS as RETRY_STORM_ATTEMPTS,
)
from hpccache_cli.jobs.flush.pipeline_sinks import (
    JUnitSink as JUnitSink,
)
from hpccache_cli.jobs.flush.pipeline_sinks import (
    PipelineLogSink as PipelineLogSink,
)
from hpccache_cli.jobs.flush.pipeline_sinks import (
    ShardMark as ShardMark,
)
from hpccache_cli.jobs.flush.pipeline_sinks import (
    __all__ as __all__,
)
