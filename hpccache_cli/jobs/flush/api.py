"""``hpccache flush`` from Python: every way of naming paths, ``--fallback`` and the records.

Example::

    from hpccache_cli.jobs.flush.api import flush

    outcome = flush(["/NAS_12_exp5/run42/out.h5"], cache="mycache", resource_group="myrg",
                    fallback="target-flush", report="flush.jsonl", collect=True)
    for r in outcome.summary.results or []:
        print(r.outcome.value, r.path, r.reason)
    raise SystemExit(outcome.exit_code)

Why beside :func:`hpccache_cli.flush.flush_paths`: that one is the engine alone (``ips`` and
``export``, no Azure, no files written). This one is the command's run without its command
line (:func:`hpccache_cli.jobs.flush.job.run`): the cache named by name or id (its layout from
Azure and the resolution cache), client paths through the mount table, ``--fallback
target-flush``, ``--report``/``--failed-to`` files, and the exit code the command would exit
with. Keywords are typed (a misspelt one or a wrong fallback is a type error in the caller's
code), and each value is checked once, where the command checks it: bad values raise a
``UsageError`` (a ``ValueError`` for the flush options) before anything is sent.

Azure: the settings come from the environment as for the command (``HPCCACHE_*`` and
``AZURE_*``, the Azure CLI's sign-in), or from ``azure=EnvironmentAzure(env=...,
credential=...)``. Signals: as the command, SIGINT, SIGTERM and SIGHUP during the run stop it
with every path accounted for (``exit_code`` 130, ``summary.interrupted``) when called from
the main thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from hpccache_cli.control.defaults import DEFAULT_OPERATION_TIMEOUT
from hpccache_cli.flush.options import FlushOptions
from hpccache_cli.flush.results import FileResult
from hpccache_cli.flush.sinks import CallbackSink, Sink
from hpccache_cli.jobs.flush.job import FlushOutcome, Notice, run
from hpccache_cli.jobs.flush.streams import to_stderr
from hpccache_cli.jobs.flush.values import AzureOptions, FlushRequest

#: How every path is read (``--path-kind``); None: each path is recognised.
PathKind = Literal["local", "namespace", "export"]
#: What ``--fallback`` does for the files per-file flushing could not flush.
Fallback = Literal["target-flush"]


def flush(
    paths: Iterable[str] = (),
    *,
    from_file: str | None = None,
    null: bool = False,
    cache: str | None = None,
    resource_group: str | None = None,
    cache_id: str | None = None,
    ips: Sequence[str] = (),
    export: str | None = None,
    path_kind: PathKind | None = None,
    mountinfo: str | None = None,
    force: bool = False,
    fallback: Fallback | None = None,
    fallback_timeout: float = DEFAULT_OPERATION_TIMEOUT,
    options: FlushOptions | None = None,
    report: str | None = None,
    failed_to: str | None = None,
    azure: AzureOptions | None = None,
    on_result: Callable[[FileResult], None] | None = None,
    collect: bool = False,
    notice: Notice = to_stderr,
) -> FlushOutcome:
    """Flush ``paths`` (or the list in ``from_file``) as ``hpccache flush`` would.

    Name the cache one way: ``cache`` + ``resource_group`` (or ``cache_id``): namespace and
    client paths, layout from Azure; ``ips`` + ``export``: paths under that junction; neither:
    client paths, placed by the mount table (``mountinfo``). ``fallback="target-flush"``
    flushes the storage target of each file that failed, through Azure, after the per-file
    flush (see ``hpccache flush --help``: it disrupts other clients of that target).
    ``options`` are the engine's (:func:`hpccache_cli.flush.make_options`).

    ``collect=True`` keeps every result in ``outcome.summary.results``; ``on_result`` gets
    each as it comes. ``notice`` gets the lines the run says while it runs (stderr by default).
    No path and no ``from_file`` is an empty run, never a read of stdin.
    """
    listed = list(paths)
    if not listed and from_file is None:
        from_file = os.devnull
    request = FlushRequest(
        paths=listed, from_file=from_file, null=null, ips=list(ips), export=export,
        options=options or FlushOptions(), report=report, failed_to=failed_to,
        cache=cache, resource_group=resource_group, cache_id=cache_id, path_kind=path_kind,
        mountinfo=mountinfo, force=force, fallback=fallback, fallback_timeout=fallback_timeout,
        azure=azure,
    )
    results: list[FileResult] = []
    sinks: list[Sink] = []
    if collect:
        sinks.append(CallbackSink(results.append))
    if on_result is not None:
        sinks.append(CallbackSink(on_result))
    outcome = run(request, sinks=sinks, notice=notice)
    if collect:
        outcome.summary.results = results
    return outcome
