"""The flush job: ``run(FlushRequest(...)) -> FlushOutcome``, shared by ``hpccache flush``,
``hpccache flush-file``, ``hpccache demo`` and Python callers.

Here: the plain values a request is made of (:mod:`.values`), how paths are named and the
checks of their combinations (:mod:`.naming`: ``--ip``/``--export``, ``--cache``, client
paths), the run itself and its exit code (:mod:`.job`), the records (:mod:`.records`),
signals (:mod:`.interrupts`), ``--fallback target-flush`` (:mod:`.fallback`,
:mod:`.fallback_outputs`, :mod:`.fallback_verify`) and the pipeline hooks
(:mod:`.pipeline_run`, :mod:`.pipeline_sinks`, :mod:`.shard_resolve`). The console (a Rich bar
or plain lines) and the summary's text stay in ``cli/flush/``.

The public names are imported lazily, so that ``import hpccache_cli.jobs.flush`` costs
nothing until one is used (the command line imports the modules it needs itself).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "flush": "hpccache_cli.jobs.flush.api",
    "run": "hpccache_cli.jobs.flush.job",
    "FlushOutcome": "hpccache_cli.jobs.flush.job",
    "FlushRequest": "hpccache_cli.jobs.flush.values",
    "EnvironmentAzure": "hpccache_cli.jobs.flush.values",
}

__all__ = sorted(_LAZY)

if TYPE_CHECKING:
    from hpccache_cli.jobs.flush.api import flush as flush
    from hpccache_cli.jobs.flush.job import FlushOutcome as FlushOutcome
    from hpccache_cli.jobs.flush.job import run as run
    from hpccache_cli.jobs.flush.values import EnvironmentAzure as EnvironmentAzure
    from hpccache_cli.jobs.flush.values import FlushRequest as FlushRequest


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
