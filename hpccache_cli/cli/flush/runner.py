"""The flush commands' side of a run: the console, the summary and the lines after it.

The run itself (naming, input, records, pipeline sinks, signals, ``--fallback``, the exit
code) is the flush job, :func:`hpccache_cli.jobs.flush.job.run`, which never imports Typer
or Rich; :func:`execute` gives it the console (a Rich bar on a terminal, plain lines
otherwise) and renders its :class:`~hpccache_cli.jobs.flush.job.FlushOutcome`.

The old names of this module stay importable (``build_resolver``, ``_open_source``,
``_settle_outputs``, ``_unreachable_hint``, ``_announce``, ``say``, ``quiet_stream``,
``run_engine``, ``_run``): ``cli/refresh_run.py`` and other commands built on the flush's
pieces import them from here; new code imports the public names from ``jobs/flush/``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from hpccache_cli.cli.flush.progress import make_console_sink, summary_text
from hpccache_cli.errors import UsageError
from hpccache_cli.flush.results import FlushSummary
from hpccache_cli.flush.sinks import Sink
from hpccache_cli.jobs.flush.interrupts import Interrupted as Interrupted
from hpccache_cli.jobs.flush.interrupts import Interrupts as Interrupts
from hpccache_cli.jobs.flush.job import FlushOutcome, run
from hpccache_cli.jobs.flush.job import fallback_sink as _fallback
from hpccache_cli.jobs.flush.job import open_request_source as _open_source
from hpccache_cli.jobs.flush.job import run_and_settle as _run
from hpccache_cli.jobs.flush.job import run_engine as run_engine
from hpccache_cli.jobs.flush.job import settle_outputs as _settle_outputs
from hpccache_cli.jobs.flush.job import unreachable_hint as _unreachable_hint
from hpccache_cli.jobs.flush.naming import build_resolver as build_resolver
from hpccache_cli.jobs.flush.naming import cache_resolver as cache_resolver
from hpccache_cli.jobs.flush.naming import check_naming as check_naming
from hpccache_cli.jobs.flush.naming import local_resolver as local_resolver
from hpccache_cli.jobs.flush.naming import split_ips as split_ips
from hpccache_cli.jobs.flush.no_input import NothingToRead as NothingToRead
from hpccache_cli.jobs.flush.no_input import make_engine as make_engine
from hpccache_cli.jobs.flush.records import check_outputs_of as check_outputs_of
from hpccache_cli.jobs.flush.records import open_records as open_records
from hpccache_cli.jobs.flush.sites import ExportSites as ExportSites
from hpccache_cli.jobs.flush.streams import announce as _announce
from hpccache_cli.jobs.flush.streams import quiet_stream as quiet_stream
from hpccache_cli.jobs.flush.streams import say as say
from hpccache_cli.jobs.flush.values import QUIET, FlushRequest, Naming
from hpccache_cli.nfs.options import ClientOptions

if TYPE_CHECKING:
    from hpccache_cli.jobs.flush.fallback import FallbackReport

__all__ = [
    "ExportSites", "Interrupted", "Interrupts", "NothingToRead", "_announce", "_fallback",
    "_open_source", "_run", "_settle_outputs", "_unreachable_hint", "build_resolver",
    "cache_resolver", "check_naming", "check_outputs_of", "client_options", "execute",
    "local_resolver", "make_engine", "open_records", "print_summary", "quiet_stream",
    "render", "run_engine", "say", "split_ips",
]


def client_options(
    *,
    portmap_port: int | None = None,
    mount_port: int | None = None,
    nfs_port: int | None = None,
    uid: int | None = None,
    gid: int | None = None,
    privileged_port: bool = False,
) -> ClientOptions:
    """ClientOptions from the port/auth flags (None = the default: portmapper, caller's ids)."""
    opts = ClientOptions()
    for name, value, lo, hi in (("portmap-port", portmap_port, 1, 65535),
                                ("mount-port", mount_port, 1, 65535),
                                ("nfs-port", nfs_port, 1, 65535),
                                ("uid", uid, 0, 2**32 - 1), ("gid", gid, 0, 2**32 - 1)):
        if value is not None and not lo <= value <= hi:
            raise UsageError(f"--{name} must be between {lo} and {hi}, not {value}")
    if portmap_port is not None:
        opts.portmap_port = portmap_port
    opts.mount_port = mount_port
    opts.nfs_port = nfs_port
    if uid is not None:
        opts.uid = uid
    if gid is not None:
        opts.gid = gid
    opts.privileged_port = privileged_port
    return opts


def execute(
    request: FlushRequest,
    *,
    console: Sink | None = None,
    finish: Callable[[FlushSummary], None] | None = None,
    naming: Naming | None = None,
) -> int:
    """Run a flush command line; print the summary; return the exit code.

    ``console`` replaces the default console (``flush-file``'s log), ``finish`` the summary
    (``flush-file``'s closing lines)."""
    def show(outcome: FlushOutcome) -> None:
        render(outcome, finish)

    outcome = run(request, naming=naming, on_outcome=show,
                  console=console or (lambda: make_console_sink(request.verbosity)))
    return outcome.exit_code


def render(outcome: FlushOutcome, finish: Callable[[FlushSummary], None] | None = None) -> None:
    """The summary on stdout (or ``finish``'s lines), then the outcome's lines on stderr."""
    if not outcome.stopped_before_run:
        if finish is not None:
            try:
                finish(outcome.summary)
            except (OSError, ValueError, AttributeError):  # its console is gone: not the run
                quiet_stream(sys.stderr)
        else:
            print_summary(outcome.request, outcome.summary, outcome.fallback,
                          outcome.exit_code)
    for line in outcome.messages():
        say(line, err=True)


def _say_summary(data: dict[str, object], request: FlushRequest) -> None:
    """The summary object in ``-o``'s machine format, through the one renderer."""
    from hpccache_cli.cli.output.summary import summary_output

    text = summary_output(data, request.output, request.query)
    if text:
        say(text.rstrip("\n"))


def print_summary(request: FlushRequest, summary: FlushSummary,
                  fallback: FallbackReport | None = None, code: int | None = None) -> None:
    extras: dict[str, str] = {}
    if request.report:
        extras["report"] = request.report
    if request.failed_to:
        extras["failed list"] = request.failed_to
    if request.output != "text" or request.query:
        # A fixed key set (README, "-o json"): absent things are null, not missing keys.
        data = summary.to_dict()
        data["report"] = request.report
        data["failed_list"] = request.failed_to
        data["fallback"] = fallback.to_dict(summary) if fallback is not None else None
        if code is not None:
            data["exit_code"] = code
        _say_summary(data, request)
    elif request.verbosity > QUIET:
        lines = [] if fallback is None else fallback.lines(summary)
        say(summary_text(summary, extras) + "".join(f"\n  {x}" for x in lines))
