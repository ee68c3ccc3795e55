"""Knobs of a flush run, with the defaults the CLI documents.

Poll and retry timing live here, not in the flow code, so tests and benchmarks can tighten
them and the numbers in docs have one home.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from hpccache_cli.errors import UsageError
from hpccache_cli.flush import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECTIONS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    MAX_CONCURRENCY,
)
from hpccache_cli.nfs.client import ClientOptions

Mode = Literal["async", "sync"]



@dataclass(frozen=True)
class Backoff:
    """Delays ``first, first*factor, ...`` capped at ``cap``.

    Why not a fixed 250 ms like flush_file.py: most write-backs of small files finish in tens
    of milliseconds, so a short first interval answers them quickly, while a long write-back
    is polled at most once per ``cap`` seconds: ~300 polls for five minutes instead of 1,200.
    """

    first: float
    factor: float
    cap: float

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(delay * self.factor, self.cap)


@dataclass(frozen=True)
class Policies:
    """Timing of polls and retries."""

    poll: Backoff = Backoff(0.02, 2.0, 1.0)  # STATUS while a write-back runs
    first_poll: float = 0.05  # first STATUS before the run has learned (flush.poll_timing)
    jukebox: Backoff = Backoff(0.05, 2.0, 2.0)  # server said "busy, try later"
    restart: Backoff = Backoff(0.1, 2.0, 2.0)  # before re-starting a failed write-back
    reconnect: Backoff = Backoff(0.05, 2.0, 5.0)  # probing an address that stopped answering
    stale_retries: int = 3  # fresh lookups after NFS3ERR_STALE before giving up
    unreachable_after: float = 10.0  # all addresses down this long -> "cache unreachable"
    drain_idle: float = 1.0  # after Ctrl-C: stop reading input idle this long
    #: Fewest files in flight the run backs off to on transport failures (see throttle.py);
    #: at or above --concurrency it never backs off (benchmarks compare that).
    backoff_floor: int = 4


@dataclass
class FlushOptions:
    """What to do with each file and how hard to try."""

    mode: Mode = "async"
    wait: bool = True  # False: --no-wait (start write-backs and return)
    status_only: bool = False  # only ask where each file stands
    recursive: bool = False
    concurrency: int = DEFAULT_CONCURRENCY  # files in flight
    timeout: float = DEFAULT_TIMEOUT  # per file, seconds; 0 = no limit
    retries: int = DEFAULT_RETRIES  # re-starts of a write-back that failed
    connections: int = DEFAULT_CONNECTIONS  # TCP connections per mount address
    dir_cache: int = 16384  # directory handles kept
    expanders: int = 4  # directories listed at once with --recursive
    client: ClientOptions = field(default_factory=ClientOptions)
    policies: Policies = field(default_factory=Policies)

    def validate(self) -> None:
        """Raise UsageError for values that cannot work (one line, exit 2)."""
        if self.mode not in ("async", "sync"):
            raise UsageError(f"--mode must be async or sync, not {self.mode!r}")
        if self.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        if self.concurrency > MAX_CONCURRENCY:
            raise UsageError(
                f"--concurrency (-j; flush-file --threads) must be at most {MAX_CONCURRENCY}, "
                f"not {self.concurrency}: more files in flight only queue up at the cache "
                "while costing memory and start-up time here"
            )
        if self.timeout < 0:
            raise UsageError("--timeout must be 0 (no limit) or a positive number of seconds")
        if self.retries < 0:
            raise UsageError("--retries must be 0 or more")
        if self.connections < 1:
            raise UsageError("--connections must be at least 1")
        if self.status_only and (self.mode == "sync" or not self.wait):
            raise UsageError("--status-only only asks; do not combine it with --mode sync or "
                             "--no-wait")
        if not self.wait and self.mode == "sync":
            raise UsageError("--no-wait starts write-backs without waiting, which --mode sync "
                             "cannot do; drop one of them")

    @property
    def deadline_seconds(self) -> float | None:
        return self.timeout if self.timeout > 0 else None
