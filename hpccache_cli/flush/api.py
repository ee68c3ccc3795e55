"""The Python API for scripts: flush some paths, get a summary (and, if asked, each result).

Example::

    from hpccache_cli.flush import flush_paths

    summary = flush_paths(["run42/out.h5", "run42/log.txt"], ips=["10.0.0.11", "10.0.0.12"],
                          export="/NAS_12_exp5")
    for r in summary.results:
        print(r.outcome.value, r.path, r.reason)
    raise SystemExit(summary.exit_code)

The CLI runs the same engine (``FlushEngine``) with streaming input and file sinks. Ctrl-C in a
script cancels the run: every path still gets an outcome (sent to ``on_result``) before the
``KeyboardInterrupt`` propagates.

A value that cannot work raises :class:`~hpccache_cli.flush.errors.FlushOptionError` (a
``ValueError``) before anything is sent; its text names your keyword ("concurrency must be at
least 1, not 0"), ``exc.fields`` lists the keywords at fault and ``exc.hint`` says why in one
word (``too_small``, ``dotdot``, ``conflict``, ...).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from hpccache_cli.flush import (
    DEFAULT_CONCURRENCY,
    DEFAULT_CONNECTIONS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
)
from hpccache_cli.flush.engine import FlushEngine
from hpccache_cli.flush.inputs import IterableSource, PathSource
from hpccache_cli.flush.options import FlushOptions, Mode, Policies
from hpccache_cli.flush.resolve import ExportResolver, Resolver
from hpccache_cli.flush.results import FileResult, FlushSummary
from hpccache_cli.flush.sinks import CallbackSink, Sink
from hpccache_cli.nfs.client import ClientOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack


class ClientKeywords(TypedDict, total=False):
    """The :class:`ClientOptions` a caller may set by keyword (None keeps the default).

    Spelled out, rather than ``**kwargs: Any``, so a type checker rejects a misspelt keyword
    (``concurrrency=3``) in the caller's code instead of the run failing later.
    """

    uid: int | None
    gid: int | None
    gids: tuple[int, ...] | None
    machinename: str | None
    auth: str | None
    portmap_port: int | None
    mount_port: int | None
    nfs_port: int | None
    privileged_port: bool | None
    connect_timeout: float | None
    connect_attempts: int | None


class FlushKeywords(ClientKeywords, total=False):
    """The keywords of :func:`flush_paths` beyond its own: :func:`make_options`'s."""

    mode: Mode
    wait: bool
    status_only: bool
    recursive: bool
    concurrency: int
    timeout: float
    retries: int
    connections: int
    policies: Policies | None
    client_options: ClientOptions | None


async def run_flush(
    source: PathSource,
    resolver: Resolver,
    options: FlushOptions,
    sink: Sink | None = None,
    *,
    collect: bool = False,
    client_factory: Callable[..., Any] | None = None,
) -> FlushSummary:
    """The lowest public level: any source, any resolver, any sink."""
    engine = FlushEngine(resolver, options, sink, collect=collect,
                         client_factory=client_factory)
    return await engine.run(source)


def make_options(
    *,
    mode: Mode | Literal["auto", "async", "sync"] = Mode.AUTO,
    wait: bool = True,
    status_only: bool = False,
    recursive: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    connections: int = DEFAULT_CONNECTIONS,
    policies: Policies | None = None,
    client_options: ClientOptions | None = None,
    **client: Unpack[ClientKeywords],
) -> FlushOptions:
    """FlushOptions from keyword arguments; extra keywords go to ClientOptions
    (``portmap_port``, ``mount_port``, ``nfs_port``, ``uid``, ``gid``, ``privileged_port``)."""
    base = client_options or ClientOptions()
    for key, value in client.items():
        if not hasattr(base, key):
            raise TypeError(f"unknown option {key!r}")
        if value is not None:
            setattr(base, key, value)
    return FlushOptions(
        mode=mode, wait=wait, status_only=status_only, recursive=recursive,
        concurrency=concurrency, timeout=timeout, retries=retries, connections=connections,
        client=base, policies=policies or Policies(),
    )


async def flush_paths_async(
    paths: Iterable[str | bytes],
    *,
    ips: Sequence[str],
    export: str | bytes,
    on_result: Callable[[FileResult], None] | None = None,
    collect: bool = True,
    **kwargs: Unpack[FlushKeywords],
) -> FlushSummary:
    """Flush ``paths`` (relative to ``export``, as with ``hpccache flush --export``).

    ``collect=True`` keeps every FileResult in ``summary.results``; for millions of paths
    pass ``collect=False`` and an ``on_result`` callback instead.
    """
    options = make_options(**kwargs)
    sink = CallbackSink(on_result) if on_result is not None else None
    return await run_flush(IterableSource(paths), ExportResolver(ips, export), options, sink,
                           collect=collect)


def flush_paths(
    paths: Iterable[str | bytes],
    *,
    ips: Sequence[str],
    export: str | bytes,
    on_result: Callable[[FileResult], None] | None = None,
    collect: bool = True,
    **kwargs: Unpack[FlushKeywords],
) -> FlushSummary:
    """Blocking form of :func:`flush_paths_async` (runs its own event loop)."""
    return asyncio.run(flush_paths_async(paths, ips=ips, export=export, on_result=on_result,
                                         collect=collect, **kwargs))
