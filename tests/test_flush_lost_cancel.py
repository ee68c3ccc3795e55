"""Cancellations that get lost, and the pool and engine ending anyway.

Before Python 3.12, ``asyncio.wait_for`` loses a cancel that lands in the loop turn its
awaited operation ends (CPython gh-86296): the operation's own result or error comes out
instead. That once left a probe of a dead address reconnecting forever after ``close()`` had
cancelled it, with ``close()`` waiting for it: test_flush_faults'
test_address_down_at_start_work_goes_to_the_others hung, under load, when the run outlived
the first connect of the dead address. The race needs exact timing; the client below loses
cancels every time, at the call a test picks.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from bounded_support import await_chain, run_bounded
from emulator_support import JUNCTION
from test_flush_support import FAST, dirty_cache, emulator, outcomes

from hpccache_cli.flush.api import make_options
from hpccache_cli.flush.engine import FlushEngine
from hpccache_cli.flush.inputs import IterableSource
from hpccache_cli.flush.options import Backoff
from hpccache_cli.flush.pool import AddressPool
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.results import FlushSummary
from hpccache_cli.nfs.client import ClientOptions, FlushOp, NfsClient
from hpccache_cli.nfs.errors import ConnectionLost

T = TypeVar("T")
A1, A3 = "127.0.0.33", "127.0.0.35"
#: How long a test waits for something that takes milliseconds when all is well.
PATIENCE = 30.0


class CancelLosingClient(NfsClient):
    """A real client whose ``connect``/``flush`` turn a cancel into ConnectionLost, as a
    wait_for inside them can: ``lose`` maps the method to how many cancels to lose (-1: all).
    ``connecting``: inside connect() right now."""

    def __init__(self, host: str, options: ClientOptions, lose: dict[str, int]) -> None:
        super().__init__(host, options)
        self.lose = dict(lose)
        self.lost = 0
        self.connects = 0
        self.connecting = False

    async def _losing(self, name: str, aw: Coroutine[Any, Any, T]) -> T:
        try:
            return await aw
        except asyncio.CancelledError:
            left = self.lose.get(name, 0)
            if left == 0:
                raise
            self.lose[name] = left - 1 if left > 0 else left
            self.lost += 1
            raise ConnectionLost(f"{name} ended as it was cancelled: the cancel is lost") from None

    async def connect(self) -> None:
        self.connects += 1
        self.connecting = True
        try:
            await self._losing("connect", super().connect())
        finally:
            self.connecting = False

    async def flush(self, fh: bytes, op: FlushOp, timeout: float | None = None) -> int:
        return await self._losing("flush", super().flush(fh, op, timeout))


async def until(predicate: Callable[[], Any], what: str, limit: float = PATIENCE) -> None:
    """Poll ``predicate`` on the loop until it is true; fail after ``limit`` s."""
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not after {limit:g} s"
        await asyncio.sleep(0.005)


@pytest.fixture(name="refusing_port")
def refusing_port_fixture() -> Iterator[int]:
    """A port on A3 that refuses connections (bound, never listening): an address that is
    down for good."""
    with socket.socket() as sock:
        sock.bind((A3, 0))
        yield sock.getsockname()[1]


def test_close_ends_a_probe_that_loses_its_cancel(refusing_port: int) -> None:
    """close() ends the probe of an address that never answers even when the probe loses
    close()'s cancel: it stops by itself once the pool is closed."""

    async def scenario() -> tuple[bool, bool]:
        options = ClientOptions(mount_port=refusing_port, nfs_port=refusing_port,
                                connect_attempts=2)
        # No pause between probes: the probe is always inside connect(), where the cancel
        # is lost, never in its own sleep.
        policies = replace(FAST, reconnect=Backoff(0.0, 2.0, 0.0))
        clients: list[CancelLosingClient] = []

        def factory(host: str, opts: ClientOptions) -> CancelLosingClient:
            clients.append(CancelLosingClient(host, opts, {"connect": -1}))
            return clients[-1]

        pool = AddressPool([A3], options, policies, client_factory=factory)
        await pool.start()
        await until(lambda: clients[0].connects >= 2, "the probe did not start")
        in_connect = clients[0].connecting  # where the cancel will land
        closer = asyncio.ensure_future(pool.close())
        done, _ = await asyncio.wait({closer}, timeout=PATIENCE)
        if not done:  # the regression: let the next cancel through so the test can end
            clients[0].lose.clear()
            closer.cancel()
            await asyncio.wait({closer}, timeout=PATIENCE)
        return bool(done), in_connect

    closed, in_connect = run_bounded(scenario())
    assert in_connect, "the probe was not connecting when closed: this test proves nothing"
    assert closed, "close() waited for ever on a probe whose cancel was lost"


def test_stop_while_connecting_leaves_no_task_running(refusing_port: int) -> None:
    """Stopped while the only address still refuses (its connect retrying for seconds): the
    session whose start was cancelled is closed too, so none of its tasks outlive the run."""

    async def scenario() -> tuple[FlushSummary, list[str]]:
        options = make_options(mount_port=refusing_port, nfs_port=refusing_port,
                               policies=FAST, connect_attempts=8)  # ~13 s of back-off
        clients: list[CancelLosingClient] = []

        def factory(host: str, opts: ClientOptions) -> CancelLosingClient:
            clients.append(CancelLosingClient(host, opts, {}))  # loses nothing: counts
            return clients[-1]

        engine = FlushEngine(ExportResolver([A3], JUNCTION), options, client_factory=factory,
                             collect=True)
        run = asyncio.ensure_future(engine.run(IterableSource([b"a"])))
        await until(lambda: clients and clients[0].connects, "the session did not connect")
        engine.request_stop()
        await asyncio.wait({run}, timeout=PATIENCE)
        assert run.done(), "the stopped run did not end"
        left = asyncio.all_tasks() - {asyncio.current_task()}
        return run.result(), [await_chain(t) for t in left]

    summary, left = run_bounded(scenario())
    assert outcomes(summary) == {"unfinished": 1}
    assert not left, "tasks left running:\n" + "\n".join(left)


def test_stop_ends_a_worker_that_loses_its_cancel(tmp_path: Path) -> None:
    """Stopped while a sync COMMIT waits for a paused write-back, the worker loses the stop's
    cancel (its flush fails over instead) and would go on flushing; it is cancelled again,
    and the file is recorded as unfinished."""
    names = dirty_cache(tmp_path, ["w/one"])
    with emulator(tmp_path, [A1]) as emu:
        wb = emu.namespace.writeback
        emu.run(wb.pause)

        async def scenario() -> tuple[bool, FlushSummary, int]:
            # No deadline: the flush is awaited in the worker itself (a deadline would put
            # it under a wait_for of its own, whose cancel always gets through).
            options = make_options(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs,
                                   policies=FAST, mode="sync", timeout=0)
            clients: list[CancelLosingClient] = []

            def factory(host: str, opts: ClientOptions) -> CancelLosingClient:
                clients.append(CancelLosingClient(host, opts, {"flush": 1}))
                return clients[-1]

            engine = FlushEngine(ExportResolver([A1], JUNCTION), options,
                                 client_factory=factory, collect=True)
            run = asyncio.ensure_future(engine.run(IterableSource(names)))
            deadline = time.monotonic() + PATIENCE
            while await asyncio.to_thread(emu.run, wb.running_count) < 1:  # SYNC waits
                assert time.monotonic() < deadline, "the write-back did not start"
                await asyncio.sleep(0.005)
            engine.request_stop()
            done, _ = await asyncio.wait({run}, timeout=PATIENCE)
            if not done:  # the regression: end the write-back and the run, then fail
                await asyncio.to_thread(emu.run, wb.resume)
                run.cancel()
                await asyncio.wait({run}, timeout=PATIENCE)
            summary = run.result() if run.done() and not run.cancelled() else FlushSummary()
            return bool(done), summary, clients[0].lost

        try:
            ended, summary, lost = run_bounded(scenario())
        finally:
            emu.run(wb.resume)
    assert lost == 1, "the stop's cancel never reached the flush: this test proves nothing"
    assert ended, "the stop waited for a worker that had lost its cancel"
    assert outcomes(summary) == {"unfinished": 1}
