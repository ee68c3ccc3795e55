"""Cancelling tasks that may lose a cancellation, and waiting until they have all ended.

Why a helper: before Python 3.12, ``asyncio.wait_for`` loses a cancellation that arrives in
the loop turn its awaited operation ends (CPython gh-86296). The pool's probes and connects
and the engine's workers are all cancelled through :func:`cancel_and_wait`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

_RECANCEL = 0.1  # seconds between cancels of a task that lost one (see cancel_and_wait)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any] | None]) -> None:
    """Cancel ``tasks`` and wait until they have all ended, cancelling again every
    ``_RECANCEL`` s while any is left.

    Why not ``cancel()`` once and ``gather``: before Python 3.12, ``asyncio.wait_for`` loses a
    cancellation that arrives in the loop turn its awaited operation ends (CPython
    gh-86296): the operation's own result or error comes out instead. A task that loops on
    errors (a probe reconnecting a dead address) then never ends, and a ``gather`` on it
    never returns. A lost cancel needs that exact timing, so the next one lands.
    """
    live = [t for t in tasks if t is not None]
    pending = {t for t in live if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=_RECANCEL)
    for task in live:  # retrieved, as gather(return_exceptions=True) would
        if not task.cancelled():
            task.exception()
