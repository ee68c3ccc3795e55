"""Defaults of Azure control-plane calls that the CLI's option declarations need.

A leaf module: ``flush`` and ``flush-file`` read :data:`DEFAULT_OPERATION_TIMEOUT` for their
``--fallback-timeout`` before anyone knows whether Azure will be called at all, and importing
:mod:`hpccache_cli.control.client` (credentials, subscription resolution) for one number cost
every run's start-up milliseconds.
"""

from __future__ import annotations

#: How long flush/suspend/resume/invalidate are followed before "still running in Azure".
DEFAULT_OPERATION_TIMEOUT = 3600.0
