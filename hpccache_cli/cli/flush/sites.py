"""Old home of :mod:`hpccache_cli.jobs.flush.sites` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.sites import (
    ExportSites as ExportSites,
)
from hpccache_cli.jobs.flush.sites import (
    LayoutSites as LayoutSites,
)
from hpccache_cli.jobs.flush.sites import (
    LocalSites as LocalSites,
)
