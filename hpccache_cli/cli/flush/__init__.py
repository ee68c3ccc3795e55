"""The ``hpccache flush`` command (also run by ``flush-file`` and ``demo``): the glue between
the command line and the flush library :mod:`hpccache_cli.flush`.

Here: the plain values a command line becomes (:mod:`.values`), how paths are named and the
option checks (:mod:`.naming`), the run (:mod:`.runner`), ``--fallback target-flush``
(:mod:`.fallback`, :mod:`.fallback_outputs`), console output (:mod:`.progress`) and pipeline
output (:mod:`.pipeline_run`, :mod:`.pipeline_sinks`, :mod:`.shard_resolve`). The library
imports nothing of this package (docs/DEVELOPING.md, tests/test_architecture.py).
"""
