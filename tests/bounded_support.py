"""Running an asyncio test scenario with a bound: a run that never ends (a lost wake-up: a
future nobody sets, a cancel a task never sees) fails the test with the await chain of every
task on its loop, instead of holding the suite until CI's own timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
#: Far beyond any run bounded here (they take a second or two): only a run that never ends
#: gets there.
RUN_LIMIT = 120.0


def run_bounded(coro: Coroutine[Any, Any, T], limit: float = RUN_LIMIT) -> T:
    """``asyncio.run(coro)``, but a run still going after ``limit`` s fails the test with the
    await chain of every task on its loop, instead of hanging. Not asyncio.run plus wait_for:
    both wait, unbounded, for tasks to honour their cancellation, which is the very thing a
    hang here may be about."""
    loop = asyncio.new_event_loop()
    main = loop.create_task(coro)
    def stop(_: object) -> None:
        loop.stop()

    main.add_done_callback(stop)
    timer = loop.call_later(limit, loop.stop)
    try:
        loop.run_forever()
        timer.cancel()
        main.remove_done_callback(stop)
        if not main.done():
            stacks = "\n".join(await_chain(t) for t in asyncio.all_tasks(loop))
            raise AssertionError(f"run still going after {limit:g} s; its tasks:\n{stacks}")
        return main.result()
    finally:
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        if left:  # a bounded goodbye: a task that ignores cancels must not hang us here
            loop.run_until_complete(asyncio.wait(left, timeout=5.0))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def await_chain(task: asyncio.Task[Any]) -> str:
    """``task`` and where it waits, coroutine by coroutine down to the awaited future
    (``Task.print_stack`` shows only the outermost coroutine of a suspended task)."""
    lines = [repr(task)]
    coro: Any = task.get_coro()
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        lines.append(f"  {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return "\n".join(lines)
