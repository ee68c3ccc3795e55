"""The per-file flush engine: a stream of paths in, one account per path out.

Scripts use :func:`flush_paths` (blocking) or :func:`flush_paths_async`; see
``hpccache_cli.flush.api``. Attributes are imported lazily so that importing this package (the
CLI does, for defaults) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: Files in flight by default. HPC Cache writes back many files at once (the emulator: 64);
#: each file also spends time in LOOKUP and between polls, so keeping the back end's pipeline
#: full takes about twice its width (docs/benchmarks.md: 64 in flight reach ~70 % of the
#: emulator's limit, 128 over 90 %). In-flight flush requests cost the cache next to nothing.
DEFAULT_CONCURRENCY = 128
#: Files in flight at most (-j): beyond a few thousand, more only queue at the cache.
MAX_CONCURRENCY = 4096
#: Seconds a file may take in all (0: no limit); write-backs of large files take minutes.
DEFAULT_TIMEOUT = 300.0
#: Re-starts of a write-back that failed (NOTEMPTY, I/O error) before the file fails.
DEFAULT_RETRIES = 3
#: TCP connections per mount address.
DEFAULT_CONNECTIONS = 2

_API = {
    "flush_paths": "hpccache_cli.flush.api",
    "flush_paths_async": "hpccache_cli.flush.api",
    "run_flush": "hpccache_cli.flush.api",
    "make_options": "hpccache_cli.flush.api",
    "FlushEngine": "hpccache_cli.flush.engine",
    "FlushOptions": "hpccache_cli.flush.options",
    "FlushOptionError": "hpccache_cli.flush.errors",
    "FlushSummary": "hpccache_cli.flush.results",
    "FileResult": "hpccache_cli.flush.results",
    "Outcome": "hpccache_cli.flush.results",
    "ExportResolver": "hpccache_cli.flush.resolve",
    "LayoutResolver": "hpccache_cli.flush.resolve_layout",
    "LocalPathResolver": "hpccache_cli.flush.resolve_local",
    "Target": "hpccache_cli.flush.resolve",
}

__all__ = [
    "DEFAULT_CONCURRENCY", "DEFAULT_CONNECTIONS", "DEFAULT_RETRIES", "DEFAULT_TIMEOUT",
    "MAX_CONCURRENCY", *_API,
]

if TYPE_CHECKING:  # what the lazy __getattr__ below returns, for type checkers and IDEs
    from hpccache_cli.flush.api import flush_paths as flush_paths
    from hpccache_cli.flush.api import flush_paths_async as flush_paths_async
    from hpccache_cli.flush.api import make_options as make_options
    from hpccache_cli.flush.api import run_flush as run_flush
    from hpccache_cli.flush.engine import FlushEngine as FlushEngine
    from hpccache_cli.flush.errors import FlushOptionError as FlushOptionError
    from hpccache_cli.flush.options import FlushOptions as FlushOptions
    from hpccache_cli.flush.resolve import ExportResolver as ExportResolver
    from hpccache_cli.flush.resolve import Target as Target
    from hpccache_cli.flush.resolve_layout import LayoutResolver as LayoutResolver
    from hpccache_cli.flush.resolve_local import LocalPathResolver as LocalPathResolver
    from hpccache_cli.flush.results import FileResult as FileResult
    from hpccache_cli.flush.results import FlushSummary as FlushSummary
    from hpccache_cli.flush.results import Outcome as Outcome


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
