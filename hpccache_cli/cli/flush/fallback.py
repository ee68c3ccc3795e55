"""Old home of :mod:`hpccache_cli.jobs.flush.fallback` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.fallback import (
    MAX_SITES as MAX_SITES,
)
from hpccache_cli.jobs.flush.fallback import (
    NOT_COVERABLE as NOT_COVERABLE,
)
from hpccache_cli.jobs.flush.fallback import (
    ExportSites as ExportSites,
)
from hpccache_cli.jobs.flush.fallback import (
    FallbackReport as FallbackReport,
)
from hpccache_cli.jobs.flush.fallback import (
    LayoutSites as LayoutSites,
)
from hpccache_cli.jobs.flush.fallback import (
    LocalSites as LocalSites,
)
from hpccache_cli.jobs.flush.fallback import (
    TargetFallback as TargetFallback,
)
from hpccache_cli.jobs.flush.fallback import (
    TargetFlush as TargetFlush,
)
from hpccache_cli.jobs.flush.fallback import (
    fallback_for as fallback_for,
)
from hpccache_cli.jobs.flush.fallback import (
    make_fallback as make_fallback,
)
