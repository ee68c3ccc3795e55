"""The plain values of the flush command, shared by its modules: what a command line says
(:class:`FlushRequest`), which cache ARM names (:class:`ArmContext`), the Azure options it
needs (:class:`AzureOptions`), where a failed file is (:class:`Site`) and how its paths are
named (:class:`Naming`).

Why one leaf module: naming, the runner, the fallback and the pipeline hooks all speak these
values; when each defined some of them they imported one another (at run time inside
functions, or only for type checking) in a cycle. This module imports nothing of the command
package, so every other module of it can import from here and none needs to import back.
It is also light (plain values: no engine, asyncio or NFS client), as every flush command
imports it before it knows whether there is anything to flush.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from hpccache_cli.control.defaults import DEFAULT_OPERATION_TIMEOUT
from hpccache_cli.flush.inputs import NEWLINE, NUL
from hpccache_cli.flush.options import Choice, FlushOptions

if TYPE_CHECKING:  # the Azure SDK stays out of ``hpccache --help``; the rest is for types only
    from hpccache_cli.control.client import ArmSettings
    from hpccache_cli.flush.resolve import Resolver
    from hpccache_cli.flush.results import FlushSummary
    from hpccache_cli.flush.sinks import Sink
    from hpccache_cli.layout import CacheLayout

#: Console verbosity (``-q``, default, ``-v``).
QUIET, NORMAL, VERBOSE = -1, 0, 1

#: Called while a long Azure operation runs: (seconds so far, its state).
ProgressUpdate = Callable[[float, str], None]


class AzureOptions(Protocol):
    """What the flush needs of the shared Azure options (``cli.azure_options.AzureArgs``)."""

    refresh: bool

    def settings(self, subscription: str | None = None) -> ArmSettings: ...

    def progress(self, label: str) -> AbstractContextManager[ProgressUpdate | None]:
        """How a long Azure operation shows it is alive (a spinner on a terminal), or None."""
        ...


class Fallback(Choice):
    """``fallback``: what is done for the files per-file flushing could not flush."""

    TARGET_FLUSH = "target-flush"


@dataclass
class EnvironmentAzure:
    """Azure settings from the environment, for callers without the CLI's options: ``env``
    instead of ``os.environ`` and a ``credential`` of the caller's (any azure-identity
    credential) when given; ``refresh`` re-reads the cache's layout from Azure."""

    refresh: bool = False
    env: Mapping[str, str] | None = None
    credential: Any = None

    def settings(self, subscription: str | None = None) -> ArmSettings:
        from hpccache_cli.control.client import ArmSettings

        return ArmSettings.resolve(subscription=subscription, env=self.env,
                                   credential=self.credential)

    def progress(self, label: str) -> AbstractContextManager[ProgressUpdate | None]:
        return nullcontext(None)


@dataclass(frozen=True)
class ArmContext:
    """One cache as ARM names it: where a storage-target flush (``--fallback``) goes."""

    settings: ArmSettings
    resource_group: str
    name: str
    layout: CacheLayout


@dataclass(frozen=True)
class Site:
    """Where a failed file is: its storage ``target`` when the layout is known, else the cache
    ``address`` it was flushed through and its namespace ``directory``."""

    target: str | None = None
    address: str | None = None
    directory: str | None = None


class Locator(Protocol):
    """The site of a path, for ``--fallback target-flush`` (None: no target flush covers it)."""

    def site(self, raw: bytes) -> Site | None: ...


@dataclass(frozen=True)
class Naming:
    """How the input paths are named, as :func:`hpccache_cli.jobs.flush.naming.build_resolver`
    decided: the ``resolver`` the engine uses, the ``locator`` the fallback places failed files
    with, and the cache as ARM names it (``--cache``/``--cache-id`` only).

    Why one value: the fallback takes ``locator`` and the shard wrapper (``--shard``) wraps
    ``resolver``, so neither depends on the other's order and the fallback never sees a
    wrapped resolver.
    """

    resolver: Resolver
    locator: Locator
    arm: ArmContext | None = None


class PipelineHooks(Protocol):
    """What the runner calls of ``--shard``/``--junit``/``TF_BUILD``/``--allow-partial``
    (implemented by :class:`hpccache_cli.jobs.flush.pipeline_run.PipelineRun`)."""

    @property
    def junit(self) -> str | None: ...

    @property
    def commands_to_stderr(self) -> bool: ...

    def wrap(self, resolver: Resolver) -> Resolver: ...

    def open_sinks(self, report: str | None = None, failed_to: str | None = None, *,
                   on_wait: Callable[[str], None] | None = None,
                   signals: Callable[[], int] | None = None) -> list[Sink]: ...

    def finish(self, summary: FlushSummary, code: int) -> int: ...


@dataclass
class FlushRequest:
    """Everything a flush command line says, after parsing."""

    paths: Sequence[str] = ()
    from_file: str | None = None
    null: bool = False
    ips: Sequence[str] = ()
    export: str | None = None
    options: FlushOptions = field(default_factory=FlushOptions)
    output: str = "text"  # text | json | jsonc | yaml | yamlc | tsv | table | none
    query: str | None = None  # --query JMESPATH over the summary (with text: printed as JSON)
    report: str | None = None
    failed_to: str | None = None
    verbosity: int = NORMAL
    strip: bool = False  # flush_file.py: surrounding whitespace of each line is not the name
    # How paths are named besides --ip/--export (see hpccache_cli.jobs.flush.naming):
    cache: str | None = None  # --cache NAME (or a resource id)
    resource_group: str | None = None
    cache_id: str | None = None
    path_kind: str | None = None  # local | namespace | export; None: recognise each path
    mountinfo: str | None = None  # mount table for client paths (default: /proc/self/mountinfo)
    force: bool = False  # also flush files of targets whose usage model does not cache writes
    fallback: str | None = None  # "target-flush": flush the targets of failed files via ARM
    fallback_timeout: float = DEFAULT_OPERATION_TIMEOUT  # each target flush of the fallback
    azure: AzureOptions | None = None  # the shared Azure options (settings(), refresh)
    pipeline: PipelineHooks | None = None  # --shard/--junit/TF_BUILD/--allow-partial (flush)
    only_errors: bool = False  # --only-show-errors: no warning line, only errors (as az)

    @property
    def separator(self) -> bytes:
        return NUL if self.null else NEWLINE
