"""Tasks that each owe a path its outcome, even when they are cancelled before they ran.

Why a helper: a task cancelled before its first step never runs its body. asyncio starts it
with ``coro.throw(CancelledError)``, and a coroutine that has not started raises that at once,
outside every ``try``: the ``except CancelledError`` that records the path as ``unfinished``
never runs. A Ctrl-C between a spawn and the loop's next turn therefore lost the path (no line
in the report, none in ``--failed-to``, and, where the task held a slot, a slot never given
back). Seen once in CI, under load, as a refresh path missing from its report.

:class:`OwedTasks` runs each coroutine inside a wrapper that notes that it started; when a
task ends without having started, its ``never_ran`` callback settles the debt (emits the
path as unfinished, gives its slot back). The callback is added at spawn time, so it runs
before anything that waits for the task afterwards (asyncio calls a task's done callbacks
in the order they were added).

A task spawned after :meth:`OwedTasks.cancel` is cancelled at once (its path ``unfinished``
through ``never_ran``): a stop requested from inside a task's own synchronous code (a sink
whose write fails stops the run from ``emit``) comes after the live tasks were cancelled and
before that task spawns the directories it found; those used to run, and list the tree below
them, as if no stop had come.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class OwedTasks:
    """The live tasks of one engine run, each owing a path an outcome (see the module
    docstring)."""

    def __init__(self) -> None:
        self._live: set[asyncio.Task[None]] = set()
        self._cancelled = False  # cancel() was called: every later spawn is cancelled too

    def spawn(self, coro: Coroutine[Any, Any, None], never_ran: Callable[[], None]) -> None:
        """Run ``coro`` as a task; ``never_ran()`` is called instead if the task is cancelled
        before ``coro`` got its first step."""
        started = False

        async def body() -> None:
            nonlocal started
            started = True
            await coro

        task = asyncio.create_task(body())
        self._live.add(task)

        def done(ended: asyncio.Task[None]) -> None:
            self._live.discard(ended)
            if not started:
                coro.close()  # never awaited: closed, so no "never awaited" warning either
                never_ran()

        task.add_done_callback(done)
        if self._cancelled:  # a stop came first: never runs; never_ran settles its path
            task.cancel()

    def cancel(self) -> None:
        """Cancel every live task, and every task spawned from now on (each one still
        settles its path)."""
        self._cancelled = True
        for task in list(self._live):
            task.cancel()

    def live(self) -> list[asyncio.Task[None]]:
        """The tasks not ended yet (a copy: they end while the caller waits)."""
        return list(self._live)

    def __bool__(self) -> bool:
        return bool(self._live)

    def __len__(self) -> int:
        return len(self._live)


__all__ = ["OwedTasks"]
