"""Old home of :mod:`hpccache_cli.jobs.flush.naming` (moved with the flush job, #18):
its names stay importable from here for code written against it."""

from hpccache_cli.jobs.flush.naming import (
    FALLBACKS as FALLBACKS,
)
from hpccache_cli.jobs.flush.naming import (
    PATH_KINDS as PATH_KINDS,
)
from hpccache_cli.jobs.flush.naming import (
    _mention_store_problems as _mention_store_problems,
)
from hpccache_cli.jobs.flush.naming import (
    _note as _note,
)
from hpccache_cli.jobs.flush.naming import (
    build_resolver as build_resolver,
)
from hpccache_cli.jobs.flush.naming import (
    cache_resolver as cache_resolver,
)
from hpccache_cli.jobs.flush.naming import (
    check_naming as check_naming,
)
from hpccache_cli.jobs.flush.naming import (
    load_cache as load_cache,
)
from hpccache_cli.jobs.flush.naming import (
    local_resolver as local_resolver,
)
from hpccache_cli.jobs.flush.naming import (
    mount_table as mount_table,
)
from hpccache_cli.jobs.flush.naming import (
    refreshed_layout as refreshed_layout,
)
from hpccache_cli.jobs.flush.naming import (
    split_ips as split_ips,
)
