"""``--fallback target-flush`` checks what it claims: after a storage-target flush Azure
reported Succeeded, each file it was meant to cover gets one status COMMIT.

Why: "Succeeded" means the target's dirty data *at the time* went back. A file a client wrote
again while the flush ran, or one the back end still refuses, can be dirty afterwards; calling
it flushed would make a pipeline skip work that is not done. So the held-back failures (see
:mod:`hpccache_cli.jobs.flush.fallback_outputs`) of covered sites are asked for their write-back
state, through the same resolver and options as the run, in ``--status-only`` mode:

- written back (or clean): reported as ``flushed`` (kind ``target-flush``);
- dirty or still being written back, or the check failed for another reason: the file stays
  ``failed``, its reason saying what the check found, and the run's counts and exit code agree;
- no mount address answered the run itself (the usual reason for the fallback: an agent
  outside the cache's network), so nothing can be checked: Azure's word is taken, and the
  summary and each record say the files were not verified one by one.

Cost: one status COMMIT per covered file, and the held-back files' paths in memory while the
check runs (failures only, which a run normally has few of).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, cast

from hpccache_cli.flush.results import FileResult, FlushSummary, Outcome

if TYPE_CHECKING:
    from hpccache_cli.flush.options import FlushOptions
    from hpccache_cli.flush.resolve import Resolver
    from hpccache_cli.jobs.flush.fallback import FallbackReport, TargetFallback
    from hpccache_cli.jobs.flush.fallback_outputs import HeldOutputs

#: What the status check may answer for a file that is no longer dirty.
WRITTEN = frozenset({Outcome.WRITTEN_BACK, Outcome.CLEAN})


def verify_covered(
    held: HeldOutputs, fallback: TargetFallback, report: FallbackReport,
    summary: FlushSummary, options: FlushOptions,
) -> None:
    """Check each covered file once; record the ones not written back in ``held.verdicts``
    (what the records will say) and ``report.still_dirty`` (what the counts will say)."""
    if report.covered <= 0 or report.interrupted:
        return
    if summary.unreachable:
        report.unverified = ("not checked file by file: no mount address of the cache "
                             "answered this run; Azure reported the target flush Succeeded")
        return
    kinds: dict[bytes, str] = {}
    for result, site_id in held.held_results():
        if fallback.covering(site_id) is not None:
            kinds[result.path] = result.kind or "failed"
    if not kinds:
        return
    # The resolver of the run (ExportSites wraps an ExportResolver; a LayoutResolver is both).
    resolver = cast("Resolver", getattr(fallback.locator, "resolver", fallback.locator))
    status = dataclasses.replace(options, status_only=True, wait=True, recursive=False)
    found: dict[bytes, FileResult] = {}

    def take(result: FileResult) -> None:
        if result.outcome not in WRITTEN:
            found[result.path] = result

    from hpccache_cli.flush.api import run_flush
    from hpccache_cli.flush.inputs import IterableSource
    from hpccache_cli.flush.sinks import CallbackSink

    try:
        checked = asyncio.run(run_flush(IterableSource(list(kinds)), resolver, status,
                                        CallbackSink(take)))
    except KeyboardInterrupt:
        report.unverified = "not checked file by file: interrupted during the check"
        return
    if checked.unreachable:
        report.unverified = ("not checked file by file: no mount address of the cache "
                             "answered the check; Azure reported the target flush Succeeded")
        return
    for path, result in found.items():
        state = {Outcome.DIRTY: "still dirty", Outcome.FLUSHING: "still being written back"
                 }.get(result.outcome, "not confirmed written back")
        held.verdicts[path] = f"{state} after the storage target flush ({result.reason})"
        report.still_dirty[kinds[path]] += 1
    report.verified = len(kinds) - len(found)
