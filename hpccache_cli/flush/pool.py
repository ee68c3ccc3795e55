"""All mount addresses of one cache, used as one: least-loaded choice, failover, recovery.

An HPC Cache answers flush requests on every mount address and its handles are valid on all
of them, so any call may go to any address. Each address gets one :class:`NfsClient` (with
``connections`` TCP connections). A call that fails in transport (connection lost, refused,
no reply) marks its address *down*, and is re-issued on another address right away; a probe
task reconnects the down address in the background (at once, then with back-off) and puts
it back in service when it answers. When every address has been down for
``unreachable_after`` seconds, or none ever answered, calls fail with
:class:`CacheUnreachable` instead of waiting out each file's timeout.

An address that fails again soon after it came back (a server that resets the connection
after half a reply answers the probe's NULL but never a COMMIT) is probed later each time:
the pause grows with its failures in a row (``Policies.reconnect``, jittered, capped) until
it answers a call again, so one file cannot make thousands of reconnects (while an address
that drops now and then, but answers in between, is still reconnected at once). A call that runs
out of time after such failures says so: "COMMIT: connection reset by ADDRESS 37 times".
Repeated run-level lines are summarised (:mod:`hpccache_cli.flush.repeats`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from hpccache_cli.errors import render_error
from hpccache_cli.flush.cancelling import cancel_and_wait as cancel_and_wait  # (re-exported)
from hpccache_cli.flush.options import Policies
from hpccache_cli.flush.repeats import RepeatFilter, loss_kind, times, within
from hpccache_cli.flush.throttle import Throttle
from hpccache_cli.nfs.client import ClientOptions, NfsClient
from hpccache_cli.nfs.errors import ConnectionLost, RpcTimeout, StatusError

T = TypeVar("T")
_NO_DEADLINE = 7 * 24 * 3600.0  # to_deadline calls without a deadline: a week stands in
ClientFactory = Callable[[str, ClientOptions], Any]
#: Asks where the cache is now (Azure), when no address it was given ever answered: the new
#: addresses, or None when they are the same or cannot be had.
Readdress = Callable[[], Awaitable[Sequence[str] | None]]


class CacheUnreachable(Exception):
    """No mount address of the cache answers."""


class DeadlineExceeded(Exception):
    """The file's time ran out while a call was in flight or waiting for an address.

    ``awaited`` says what the file was waiting for when it ran out ("no reply to LOOKUP from
    127.0.0.5 in 30 s", "the server was busy ..."), or is empty for a plain pause."""

    def __init__(self, awaited: str = "") -> None:
        super().__init__(awaited or "time ran out")
        self.awaited = awaited


class NoTimeLeft(DeadlineExceeded):
    """The file's time was up before a call could even be sent: what it waited for is
    whatever came before (a pause, a JUKEBOX, another file's shared lookup)."""


def describe(exc: BaseException, names: Mapping[str, str] | None = None) -> str:
    """One short phrase for a transport failure (``names``: see ``NfsClientError.render``)."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = render_error(exc, names).strip()
    return text or type(exc).__name__


class Endpoint:
    """One mount address: its client, load and health."""

    def __init__(self, address: str, client: Any) -> None:
        self.address = address
        self.client = client
        self.inflight = 0
        self.up = False
        self.connected = False
        self.last_error = "not connected yet"
        self.probe: asyncio.Task[None] | None = None
        #: Times it went down without answering a call in between (a probe's NULL does not
        #: count: a server may answer NULL and reset every COMMIT): how long its probe
        #: waits. ``answered``: calls it answered; ``answered_at_up``: that when it came up.
        self.failures = 0
        self.answered = 0
        self.answered_at_up = 0


class AddressPool:
    """Spreads calls over the healthy addresses of one cache and moves them off dead ones."""

    def __init__(
        self,
        addresses: Sequence[str],
        options: ClientOptions,
        policies: Policies,
        *,
        client_factory: ClientFactory = NfsClient,
        log: Callable[[str], None] | None = None,
        throttle: Throttle | None = None,
        readdress: Readdress | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.policies = policies
        self._factory = client_factory
        self._readdress = readdress  # used at most once (see _try_readdress)
        self._readdressing: asyncio.Future[bool] | None = None
        self._notice = notice or log or (lambda _msg: None)
        self.throttle = throttle  # told of every answer and transport failure (AIMD)
        self.options = options
        self.endpoints = [Endpoint(a, client_factory(a, replace(options))) for a in addresses]
        self._log = log or (lambda _msg: None)
        self._repeats = RepeatFilter(self._log)
        self._up = asyncio.Event()
        self._all_down_since: float | None = time.monotonic()
        self._ever_up = False
        self._closed = False
        self._connects: list[asyncio.Task[None]] = []
        self.answered = 0  # calls that got any reply: "did we ever reach the cache?"

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect every address at once; return as soon as one answers (or all failed), so
        one unresponsive address does not hold up the run for its connect timeout. The
        others finish connecting, or start probing, in the background."""
        tasks = [asyncio.create_task(self._connect(ep)) for ep in self.endpoints]
        self._connects += tasks
        up = asyncio.create_task(self._up.wait())
        try:
            while not up.done() and not all(t.done() for t in tasks):
                waiting = {up, *(t for t in tasks if not t.done())}
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            up.cancel()

    async def _connect(self, ep: Endpoint) -> None:
        try:
            await ep.client.connect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            ep.last_error = describe(exc, self.options.option_names)
            self._repeats.say(("silent", ep.address),
                              f"mount address {ep.address} does not answer ({ep.last_error})")
            self._start_probe(ep, immediate=False)
            return
        ep.connected = True
        self._set_up(ep)

    async def close(self) -> None:
        """Stop connecting and probing, then close every client. Probes also stop by
        themselves once ``_closed`` is set: see :func:`cancel_and_wait` for why."""
        self._closed = True
        await cancel_and_wait(self._connects)
        await cancel_and_wait([ep.probe for ep in self.endpoints if ep.probe is not None])
        await asyncio.gather(
            *(self._close_client(ep) for ep in self.endpoints), return_exceptions=True
        )
        self._repeats.close()

    @staticmethod
    async def _close_client(ep: Endpoint) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ep.client.close(), 2.0)

    # -- health -----------------------------------------------------------------------------

    @property
    def any_up(self) -> bool:
        return any(ep.up for ep in self.endpoints)

    def down_reason(self) -> str:
        parts = [f"{ep.address}: {ep.last_error}" for ep in self.endpoints if not ep.up]
        return "no mount address answers (" + "; ".join(parts) + ")"

    def _set_up(self, ep: Endpoint) -> None:
        was_down = not ep.up
        ep.up = True
        if was_down:
            ep.answered_at_up = ep.answered
        self._ever_up = True
        self._all_down_since = None
        self._up.set()
        if was_down and ep.connected and ep.last_error != "not connected yet":
            self._repeats.say(("again", ep.address), f"mount address {ep.address} answers again")

    def mark_down(self, ep: Endpoint, exc: BaseException) -> None:
        """A transport failure on ``ep``: stop using it until its probe gets an answer."""
        if self._closed:
            return
        ep.last_error = describe(exc, self.options.option_names)
        if not ep.up:
            return
        ep.up = False
        # It answered calls since it came back: a new trouble, reconnected at once; else
        # the same one again, and the probe waits longer (see _probe_delays).
        ep.failures = 1 if ep.answered > ep.answered_at_up else ep.failures + 1
        if not self.any_up:
            self._up.clear()
            self._all_down_since = time.monotonic()
        others = "its work moves to the others" if self.any_up else "waiting for it"
        self._repeats.say(("failed", ep.address),
                          f"mount address {ep.address} failed ({ep.last_error}); {others}")
        self._start_probe(ep, immediate=True)

    def _start_probe(self, ep: Endpoint, *, immediate: bool) -> None:
        if self._closed:  # a connect that outlived close() (its cancel was lost)
            return
        if ep.probe is None or ep.probe.done():
            ep.probe = asyncio.create_task(self._probe(ep, immediate))

    async def _probe(self, ep: Endpoint, immediate: bool) -> None:
        """Reconnect ``ep``: at once after a drop (most drops are one connection), then
        with back-off, until it answers or the pool closes. The loop checks ``_closed``
        itself rather than trusting cancellation alone to end it (see cancel_and_wait)."""
        for delay in self._probe_delays(ep, immediate):
            if self._closed:
                return
            if delay:
                await asyncio.sleep(delay)
            try:
                if ep.connected:
                    await asyncio.wait_for(ep.client.null(), self.options.connect_timeout + 1)
                else:
                    await ep.client.connect()
                    ep.connected = True
            except asyncio.CancelledError:
                raise
            except (asyncio.TimeoutError, RpcTimeout):  # still silent: the first sentence stays
                continue
            except Exception as exc:
                ep.last_error = describe(exc, self.options.option_names)
                continue
            self._set_up(ep)
            return

    def _probe_delays(self, ep: Endpoint, immediate: bool) -> Iterator[float]:
        """At once after a first drop (most drops are one connection); after more failures
        in a row, the reconnect back-off from the step those failures reached, each pause
        jittered (x0.5..1) so many clients of one cache do not reconnect in step."""
        if immediate and ep.failures <= 1:
            yield 0.0
        b = self.policies.reconnect
        step = max(0, ep.failures - 1)
        while True:
            yield min(b.cap, b.first * b.factor ** min(step, 64)) * random.uniform(0.5, 1.0)
            step += 1

    def _pick(self) -> Endpoint | None:
        best: Endpoint | None = None
        for ep in self.endpoints:
            if ep.up and (best is None or ep.inflight < best.inflight):
                best = ep
        return best

    async def _wait_up(self, deadline: float | None) -> None:
        """Wait for an address to come back; raise when the cache counts as unreachable."""
        if not self._ever_up:
            if await self._try_readdress():
                return  # the new addresses: the caller picks again
            # Never reached: fail fast rather than hold every file for its whole timeout.
            raise CacheUnreachable(self.down_reason())
        since = self._all_down_since or time.monotonic()
        limit = since + self.policies.unreachable_after
        now = time.monotonic()
        if now >= limit:
            raise CacheUnreachable(self.down_reason())
        wait = limit - now
        if deadline is not None:
            if now >= deadline:
                raise DeadlineExceeded(self.down_reason())
            wait = min(wait, deadline - now)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._up.wait(), wait)

    async def _try_readdress(self) -> bool:
        """No address ever answered: ask once where the cache is now (addresses from the
        resolution cache may be stale) and, if it moved, use the new addresses. Every
        caller waits for the one question; True when the pool now has new addresses."""
        if self._readdressing is None:
            if self._readdress is None or self._closed:
                return False
            self._readdressing = asyncio.ensure_future(self._readdress_once(self._readdress))
            self._readdress = None
        return await asyncio.shield(self._readdressing)

    async def _readdress_once(self, readdress: Readdress) -> bool:
        old = [ep.address for ep in self.endpoints]
        try:
            fresh = list(dict.fromkeys(await readdress() or ()))
        except Exception as exc:  # the caller's hook: its failure leaves "unreachable"
            self._log(f"asking where the cache is now failed: {describe(exc)}")
            return False
        if not fresh or set(fresh) == set(old) or self._closed:
            return False
        self._notice(f"the mount addresses in use ({', '.join(old)}) do not answer; Azure now "
                     f"lists {', '.join(fresh)}: using those")
        gone, self.endpoints = self.endpoints, [
            Endpoint(a, self._factory(a, replace(self.options))) for a in fresh]
        await cancel_and_wait([ep.probe for ep in gone])
        await asyncio.gather(*(self._close_client(ep) for ep in gone), return_exceptions=True)
        self._all_down_since = time.monotonic()
        await self.start()
        return True

    # -- calls ------------------------------------------------------------------------------

    async def call(
        self, fn: Callable[..., Awaitable[T]], deadline: float | None = None,
        on_retry: Callable[[], None] | None = None, *, what: str = "a call",
        to_deadline: bool = False,
    ) -> T:
        """``await fn(client)`` on the least-loaded healthy address, failing over on transport
        errors until it gets an answer, the deadline passes or the cache is unreachable.
        ``on_retry`` is told when a call is re-issued (its first try may have been done).
        ``what``: the procedure, for the reason when the file's time runs out waiting.

        ``to_deadline``: ``fn(client, timeout)`` takes its call's timeout, and gets the time
        left to ``deadline`` (a SYNC flush, answered when the write-back ends). The client's
        own timer then ends the call at the file's deadline, and its RpcTimeout means the
        file's time ran out (not that the address failed): no ``wait_for`` task per call."""
        lost: dict[str, int] | None = None  # transport failures of this call, by kind
        try:
            throttle = self.throttle
            while True:
                ep = self._pick()
                if ep is None:
                    await self._wait_up(deadline)
                    continue
                if throttle is not None and not throttle.try_acquire():
                    if not await throttle.acquire(deadline):
                        raise DeadlineExceeded(
                            f"waiting for a turn to send {what}: {throttle.limit} files may call "
                            f"the cache at once after transport failures (of {throttle.ceiling})"
                        )
                    ep = self._pick() or ep  # the wait may have changed which address is best
                ep.inflight += 1
                remaining = None
                try:
                    if to_deadline:
                        remaining = (_NO_DEADLINE if deadline is None
                                     else deadline - time.monotonic())
                        if remaining <= 0:
                            raise NoTimeLeft()
                        result = await fn(ep.client, remaining)
                    elif deadline is None or deadline - time.monotonic() >= self.options.timeout:
                        result = await fn(ep.client)  # far from the deadline: no task of its own
                    else:
                        result = await self._bounded(fn(ep.client), deadline, what, ep.address)
                    self.answered += 1
                    ep.answered += 1
                    if throttle is not None:
                        throttle.answered()
                    return result
                except StatusError:
                    self.answered += 1
                    ep.answered += 1
                    if throttle is not None:
                        throttle.answered()
                    raise
                except (ConnectionLost, RpcTimeout, OSError) as exc:
                    if (remaining is not None and deadline is not None
                            and isinstance(exc, RpcTimeout)):
                        raise DeadlineExceeded(  # the client's timer was the file's deadline
                            f"no reply to {what} from {ep.address} {within(remaining)}"
                        ) from None
                    if throttle is not None and not self._closed:
                        throttle.failed(f"{what} to {ep.address} failed ({describe(exc)})")
                    lost = lost or {}
                    kind = loss_kind(exc, ep.address)
                    lost[kind] = lost.get(kind, 0) + 1
                    self.mark_down(ep, exc)
                    if on_retry is not None:
                        on_retry()
                finally:
                    ep.inflight -= 1
                    if throttle is not None:
                        throttle.release()
        except (DeadlineExceeded, CacheUnreachable) as exc:
            if not lost:
                raise
            losses = ", ".join(f"{kind} {times(n)}" for kind, n in lost.items())
            if isinstance(exc, CacheUnreachable):
                raise CacheUnreachable(f"{exc}; {what}: {losses}") from None
            raise type(exc)(f"{what}: {losses}") from None

    async def _bounded(
        self, aw: Awaitable[T], deadline: float, what: str = "a call", address: str = "",
    ) -> T:
        """The call with the file's deadline applied, when that is nearer than the call's own
        timeout (a ``wait_for`` costs a task: only calls close to their deadline pay it)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if asyncio.iscoroutine(aw):
                aw.close()
            raise NoTimeLeft()
        try:
            return await asyncio.wait_for(aw, remaining)
        except asyncio.TimeoutError:
            source = f"{what} from {address}" if address else what
            raise DeadlineExceeded(
                f"no reply to {source} {within(remaining)}"
            ) from None


