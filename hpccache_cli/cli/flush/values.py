"""Old home of :mod:`hpccache_cli.jobs.flush.values` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.values import (
    NORMAL as NORMAL,
)
from hpccache_cli.jobs.flush.values import (
    QUIET as QUIET,
)
from hpccache_cli.jobs.flush.values import (
    VERBOSE as VERBOSE,
)
from hpccache_cli.jobs.flush.values import (
    ArmContext as ArmContext,
)
from hpccache_cli.jobs.flush.values import (
    AzureOptions as AzureOptions,
)
from hpccache_cli.jobs.flush.values import (
    EnvironmentAzure as EnvironmentAzure,
)
from hpccache_cli.jobs.flush.values import (
    Fallback as Fallback,
)
from hpccache_cli.jobs.flush.values import (
    FlushRequest as FlushRequest,
)
from hpccache_cli.jobs.flush.values import (
    Locator as Locator,
)
from hpccache_cli.jobs.flush.values import (
    Naming as Naming,
)
from hpccache_cli.jobs.flush.values import (
    PipelineHooks as PipelineHooks,
)
from hpccache_cli.jobs.flush.values import (
    ProgressUpdate as ProgressUpdate,
)
from hpccache_cli.jobs.flush.values import (
    Site as Site,
)
