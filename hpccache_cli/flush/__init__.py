"""The per-file flush engine: a stream of paths in, one account per path out.

Scripts use :func:`flush_paths` (blocking) or :func:`flush_paths_async`; see
``hpccache_cli.flush.api``. Attributes are imported lazily so that importing this package (the
CLI does, for defaults) stays cheap.
"""

from __future__ import annotations

from typing import Any

#: Files in flight by default. HPC Cache writes back many files at once (the emulator: 64);
#: each file also spends time in LOOKUP and between polls, so keeping the back end's pipeline
#: full takes about twice its width (docs/benchmarks.md: 64 in flight reach ~70 % of the
#: emulator's limit, 128 over 90 %). In-flight flush requests cost the cache next to nothing.
DEFAULT_CONCURRENCY = 128
#: Files in flight at most (-j): beyond a few thousand, more only queue at the cache.
MAX_CONCURRENCY = 4096

_API = {
    "flush_paths": "hpccache_cli.flush.api",
    "flush_paths_async": "hpccache_cli.flush.api",
    "run_flush": "hpccache_cli.flush.api",
    "make_options": "hpccache_cli.flush.api",
    "FlushEngine": "hpccache_cli.flush.engine",
    "FlushOptions": "hpccache_cli.flush.options",
    "FlushSummary": "hpccache_cli.flush.results",
    "FileResult": "hpccache_cli.flush.results",
    "Outcome": "hpccache_cli.flush.results",
    "ExportResolver": "hpccache_cli.flush.resolve",
    "LayoutResolver": "hpccache_cli.flush.resolve_layout",
    "LocalPathResolver": "hpccache_cli.flush.resolve_local",
    "Target": "hpccache_cli.flush.resolve",
}

__all__ = ["DEFAULT_CONCURRENCY", "MAX_CONCURRENCY", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
