"""Ctrl-C, SIGTERM and SIGHUP end a flush the same way, wherever the run is when they come.

A closed terminal or a dropped ssh session sends SIGHUP; a scheduler or ``kill`` sends
SIGTERM. Left to their default action they end the process on the spot: no summary, no
report, the previous run's failed list left in place without this run's unflushed files, and
temporary files behind. So all three are handled as Ctrl-C always was, by phase:

* **before the run** (option checks, Azure look-ups, opening the outputs, a wait for a
  FIFO's reader): the handler raises :class:`Interrupted` (a ``KeyboardInterrupt``), which
  unwinds what is open: outputs abandoned, the old files left as they were, exit 130, one
  line saying nothing was flushed.
* **during the run** the loop's handlers ask the engine to stop (the second signal also
  stops reading the input), so every path gets its outcome and the records are written,
  exit 130. A signal that came between the two phases stops the engine as soon as it starts.
* **after the run** (closing the records, waiting for a pipe's reader): the handler only
  notes the signal (:meth:`Interrupts.count` grows, which ends a wait on an output), since
  an exception there could leave a record half written; a ``--fallback`` not yet started is
  skipped, one under way is interrupted as by Ctrl-C (:meth:`Interrupts.abortable`).

A signal that is ignored when the run starts (``nohup``, ``trap '' HUP``, a background job's
SIGINT) stays ignored: the user asked for the run to survive it. Handlers are only installed
from the main thread (Python's rule); elsewhere signals keep their old behaviour.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio

SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")

T = TypeVar("T")


class Interrupted(KeyboardInterrupt):
    """A handled signal unwinding the phase before (or the fallback after) the run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Interrupts:
    """The signal handling of one flush command line (see the module docstring)."""

    def __init__(self) -> None:
        self.received: list[int] = []  # every handled signal, in order
        self._old: dict[int, Any] = {}
        self._abort = True
        self.started = False  # hold() was called: the run has its outputs open

    def install(self) -> Interrupts:
        """Handle SIGINT, SIGTERM and SIGHUP (those not ignored) until :meth:`restore`."""
        if threading.current_thread() is not threading.main_thread():
            return self
        for name in SIGNALS:
            sig = getattr(signal, name, None)
            if sig is None:
                continue
            old = signal.getsignal(sig)
            if old == signal.SIG_IGN:
                continue  # nohup / trap '' : the user wants the run to survive it
            self._old[sig] = old
            signal.signal(sig, self._on_signal)
        return self

    def restore(self) -> None:
        with self._blocked():
            for sig, old in self._old.items():
                signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self._old.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if self._abort:
            self._abort = False  # once: a second signal must not cut the unwinding short
            raise Interrupted(signum)

    def count(self) -> int:
        """How many signals came so far (a wait on an output ends when this grows)."""
        return len(self.received)

    @property
    def first(self) -> str:
        """The first signal's name ("" if none)."""
        return signal_name(self.received[0]) if self.received else ""

    def hold(self) -> None:
        """The outputs are open: from now on a signal never raises (except in
        :meth:`abortable`); it is noted, and the run is stopped through the engine."""
        self._abort = False
        self.started = True

    @contextmanager
    def abortable(self) -> Iterator[None]:
        """A phase that Ctrl-C has always interrupted by exception (the fallback's Azure
        calls, which handle ``KeyboardInterrupt`` themselves)."""
        old, self._abort = self._abort, True
        try:
            yield
        finally:
            self._abort = old

    def route(self, loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> None:
        """While the engine runs on ``loop``: each signal calls ``stop`` there (safely, through
        the loop's own handlers). Signals noted before it started stop it now."""
        with self._blocked():
            pending = len(self.received)
            for sig in self._old:
                loop.add_signal_handler(sig, self._on_loop_signal, sig, stop)
        for _ in range(min(pending, 2)):  # a second one stops input reading too
            stop()

    def _on_loop_signal(self, sig: int, stop: Callable[[], None]) -> None:
        self.received.append(sig)
        stop()

    def unroute(self, loop: asyncio.AbstractEventLoop) -> None:
        """The engine ended: back to noting signals (no instant without a handler: the loop's
        removal would otherwise restore the default action for a moment)."""
        with self._blocked():
            for sig in self._old:
                loop.remove_signal_handler(sig)
                signal.signal(sig, self._on_signal)

    @contextmanager
    def _blocked(self) -> Iterator[None]:
        """Our signals held back while handlers change (delivered, to the new one, after)."""
        sigs = set(self._old)
        if not sigs or threading.current_thread() is not threading.main_thread():
            yield
            return
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


async def run_until_stopped(
    run: Callable[[], Awaitable[T]], request_stop: Callable[[], None],
    interrupts: Interrupts | None = None,
) -> T:
    """Await ``run()`` with SIGINT, SIGTERM and SIGHUP calling ``request_stop`` instead of
    ending the process: the engine's own stop, so its report is still written and every path
    still gets an outcome. With ``interrupts`` (a command's own, see :func:`command_signals`)
    the signals go through it (:meth:`Interrupts.route`), so a signal after the run is only
    noted; without, the loop's handlers are removed again when ``run()`` ends."""
    import asyncio
    import contextlib

    loop = asyncio.get_running_loop()
    if interrupts is not None:
        interrupts.route(loop, request_stop)
        try:
            return await run()
        finally:
            interrupts.unroute(loop)
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, request_stop)
            installed.append(sig)
    try:
        return await run()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


@contextmanager
def command_signals() -> Iterator[Interrupts]:
    """SIGINT, SIGTERM and SIGHUP for a whole ``refresh`` or ``copy`` command line, in the
    flush's phases (the module docstring): before :meth:`Interrupts.hold` a signal raises
    :class:`Interrupted` (nothing started, outputs abandoned), during the run it stops the
    engine (:func:`run_until_stopped` with the interrupts), after it it is only noted, so the
    records are closed whole. Whatever the ending, no temporary output file of this run is
    left behind (:func:`hpccache_cli.flush.leftovers.remove_own`)."""
    from hpccache_cli.flush.leftovers import remove_own

    interrupts = Interrupts().install()
    try:
        yield interrupts
    finally:
        remove_own()  # (before the handlers go: a signal now must not cut it short)
        interrupts.restore()


@contextmanager
def signals_as_ctrl_c() -> Iterator[None]:
    """For the block, SIGTERM and SIGHUP (a scheduler's time limit, a closed terminal) raise
    as Ctrl-C does (:class:`Interrupted`, a ``KeyboardInterrupt``): for the Azure waits, whose
    Ctrl-C line says the operation goes on in Azure and how to follow or cancel it. A signal
    ignored when the block starts (``nohup``) stays ignored; the old handlers come back."""
    interrupts = Interrupts().install()
    try:
        yield
    finally:
        interrupts.restore()


def interrupted_before_line(exc: Interrupted, what: str) -> str:
    """The one line of a command a signal ended before its run: ``what`` none was done."""
    return (f"hpccache: interrupted ({signal_name(exc.signum)}) before any {what}: no output "
            "was written, old files are as they were")


def run_command(what: str, body: Callable[[Interrupts], int]) -> int:
    """A whole command line under :func:`command_signals`: ``body(interrupts)``'s exit code.
    A signal before ``body`` held its outputs open (:meth:`Interrupts.hold`) ends it with one
    line saying no ``what`` (e.g. "path was refreshed"), and exit 130."""
    from hpccache_cli.errors import EXIT_INTERRUPTED
    from hpccache_cli.jobs.flush.streams import say

    with command_signals() as interrupts:
        try:
            return body(interrupts)
        except Interrupted as exc:
            if interrupts.started:
                raise
            say(interrupted_before_line(exc, what), err=True)
            return EXIT_INTERRUPTED
