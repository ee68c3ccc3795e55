"""Knobs of a flush run, with the defaults the CLI documents.

Poll and retry timing live here, not in the flow code, so tests and benchmarks can tighten
them and the numbers in docs have one home.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum

from hpccache_cli.flush import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECTIONS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    MAX_CONCURRENCY,
)
from hpccache_cli.flush.errors import FlushOptionError
from hpccache_cli.nfs.options import ClientOptions


class Choice(str, Enum):
    """A library choice that is also its string (``Mode.SYNC == "sync"``), so the CLI's option
    (Typer reads the values) and Python callers (who may pass the string) share one type, and
    the value is checked once, by :meth:`parse`."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def parse(cls, value: object, field_name: str) -> Choice:
        """``value`` as a member (a member, or its string), or FlushOptionError naming the
        keyword and the choices: the one check of the value."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise FlushOptionError(f"{{{field_name}}} must be one of {choices}, not {value!r}",
                                   fields=(field_name,), hint="invalid_choice") from None


class Mode(Choice):
    """``mode``: ``async`` starts each write-back and polls it; ``sync`` is one COMMIT;
    ``auto`` is async until the cache's answers say sync is cheaper (``flush.mode_choice``)."""

    AUTO = "auto"
    ASYNC = "async"
    SYNC = "sync"


class PathKind(Choice):
    """``path_kind``: how every input path is read; None (no member) recognises each."""

    LOCAL = "local"
    NAMESPACE = "namespace"
    EXPORT = "export"

#: ``wait`` is named by the value that conflicts (the CLI's ``--no-wait``), for Python callers.
_NO_WAIT = {"wait": "wait=False", "status_only": "status_only=True"}



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
    #: A file waiting on "busy, try later" (NFS3ERR_JUKEBOX) this long is announced on the
    #: console (not only -v), then again every ``notice_every`` seconds while any still waits.
    busy_notice: float = 3.0
    notice_every: float = 10.0
    #: Fewest files in flight the run backs off to on transport failures (see throttle.py);
    #: at or above --concurrency it never backs off (benchmarks compare that).
    backoff_floor: int = 4
    #: ``recursive``: READDIRPLUS pages one directory's listing may take (a server that
    #: never ends a listing; ~200 entries a page make this some 40 million entries), and
    #: directories nested in one tree (deeper than any path a client can name: 4,096 bytes).
    listing_pages: int = 200_000
    listing_depth: int = 2048


@dataclass
class FlushOptions:
    """What to do with each file and how hard to try."""

    mode: Mode | str = Mode.AUTO  # (validate() makes a string its member)
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

    @property
    def option_names(self) -> Mapping[str, str]:
        """How messages name this run's keywords: the front end's names (the CLI's flags,
        set on ``client.option_names``; one table for the NFS and the flush fields), or
        empty for Python callers, who read the keyword."""
        return self.client.option_names

    def validate(self) -> None:
        """Raise FlushOptionError (a UsageError: one line, exit 2) for values that cannot
        work; the message names the keyword (the CLI renders its flag)."""
        if not isinstance(self.mode, Mode):
            if self.mode not in ("auto", "async", "sync"):
                raise FlushOptionError(f"{{mode}} must be auto, async or sync, not {self.mode!r}",
                                       fields=("mode",), hint="invalid_choice")
            self.mode = Mode(self.mode)
        if self.concurrency < 1:
            raise FlushOptionError(f"{{concurrency}} must be at least 1, not {self.concurrency}",
                                   fields=("concurrency",), hint="too_small")
        if self.concurrency > MAX_CONCURRENCY:
            raise FlushOptionError(
                f"{{concurrency}} must be at most {MAX_CONCURRENCY}, "
                f"not {self.concurrency}: more files in flight only queue up at the cache "
                "while costing memory and start-up time here",
                fields=("concurrency",), hint="too_large")
        if self.timeout < 0:
            raise FlushOptionError(
                "{timeout} must be 0 (no limit) or a positive number of seconds",
                fields=("timeout",), hint="too_small")
        if self.retries < 0:
            raise FlushOptionError("{retries} must be 0 or more", fields=("retries",),
                                   hint="too_small")
        if self.connections < 1:
            raise FlushOptionError("{connections} must be at least 1", fields=("connections",),
                                   hint="too_small")
        if self.status_only and (self.mode == "sync" or not self.wait):
            raise FlushOptionError(
                "{status_only} only asks; do not combine it with {mode} sync or {wait}",
                fields=("status_only", "mode", "wait"), hint="conflict", keywords=_NO_WAIT)
        if not self.wait and self.mode == "sync":
            raise FlushOptionError(
                "{wait} starts write-backs without waiting, which {mode} sync cannot do; "
                "drop one of them", fields=("wait", "mode"), hint="conflict", keywords=_NO_WAIT)

    @property
    def deadline_seconds(self) -> float | None:
        return self.timeout if self.timeout > 0 else None
