"""``--fallback target-flush``: after per-file flushing, flush the storage targets of the files
that failed, through Azure Resource Manager.

Why only on request: a storage-target flush writes back *every* dirty file of the target and
makes other clients see errors on its namespace paths until it ends, and it needs Contributor
rights on the cache. Asking for it with ``--fallback target-flush`` is the confirmation; there
is no prompt (pipelines run it unattended).

During the run :class:`TargetFallback` (a sink) watches failed results and keeps only a
counter per *site*: the storage target when the cache layout is known (``--cache``), else the
cache address and namespace directory, whose cache and target are found in Azure by address
after the run. That bounds memory by targets (or directories, capped), not by files.

Telling the truth afterwards: a failed file whose target flush succeeded *was* written back,
once a status COMMIT confirms it (:mod:`hpccache_cli.jobs.flush.fallback_verify`). The per-file
records (``--report``, ``--failed-to``, ``--junit``, and the ``##vso`` errors) hold back exactly
the failures a target flush may cover (spilled to disk, see
:mod:`hpccache_cli.jobs.flush.fallback_outputs`) and write them once the fallback has run: as
``flushed`` ("written back by the flush of storage target ...") when their target's flush
succeeded and the check found the file written back, else as they were (with what the check
found). :meth:`FallbackReport.settle` moves the same files from ``failed`` to ``flushed`` in
the summary (``-o json``, the text summary, pipeline output variables), so the report, the
failed list and the summary agree; ``fallback.failed_files_covered`` says how many of the
flushed files the fallback wrote back.

Failures a target flush cannot cure (the file does not exist, a bad name, no storage target)
are not covered. Exit code after a fallback: 0 when every failed file's target was flushed;
otherwise what the per-file run gave (1, or 4 when no mount address answered); 130 when
interrupted (an interrupted run flushes no targets).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from hpccache_cli.control.defaults import DEFAULT_OPERATION_TIMEOUT
from hpccache_cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UserError
from hpccache_cli.flush.results import OK_OUTCOMES, FileResult, FlushSummary, Outcome
from hpccache_cli.flush.sinks import Sink
from hpccache_cli.jobs.flush.sites import ExportSites as ExportSites  # (re-exported)
from hpccache_cli.jobs.flush.sites import LayoutSites as LayoutSites
from hpccache_cli.jobs.flush.sites import LocalSites as LocalSites
from hpccache_cli.jobs.flush.values import (
    ArmContext,
    AzureOptions,
    EnvironmentAzure,
    FlushRequest,
    Locator,
    Naming,
    Site,
)

if TYPE_CHECKING:  # the Azure SDK stays out of ``hpccache --help``
    from hpccache_cli.control.client import ArmSettings

#: Failure kinds a storage-target flush cannot fix: there is no dirty file behind the name.
NOT_COVERABLE = frozenset({"noent", "notdir", "nametoolong", "bad-path", "path", "no-junction",
                           "other-cache", "not-regular"})
#: Distinct sites remembered; failures beyond them are reported as not covered.
MAX_SITES = 1 << 16


@dataclass
class TargetFlush:
    """One storage-target flush of the fallback and how it ended."""

    cache: str
    resource_group: str
    target: str
    files: int = 0  # failed files it covers when it succeeds
    status: str = "not started"  # succeeded | failed | interrupted | not started
    reason: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"cache": self.cache, "resource_group": self.resource_group,
                "target": self.target, "failed_files": self.files, "status": self.status,
                "reason": self.reason, "seconds": round(self.seconds, 3)}

    def line(self) -> str:
        what = f"storage target {self.target} of cache {self.cache}"
        if self.status == "succeeded":
            return (f"flushed {what} in {self.seconds:.1f} s "
                    f"({self.files:,} failed file(s) on it)")
        return f"{self.status}: {what}" + (f": {self.reason}" if self.reason else "")


@dataclass
class FallbackReport:
    """What the fallback did; ``exit_code`` decides the run's code (module docstring)."""

    flushes: list[TargetFlush] = field(default_factory=list)
    not_coverable: int = 0  # failed files no target flush can help (or not placed)
    problems: list[str] = field(default_factory=list)
    interrupted: bool = False
    skipped: str = ""  # why nothing ran at all
    covered_kinds: Counter[str] = field(default_factory=Counter)  # per-file failure kinds
    settled_code: int | None = None  # settle() moved covered files to "flushed": the code
    # The check after the target flushes (hpccache_cli.jobs.flush.fallback_verify):
    still_dirty: Counter[str] = field(default_factory=Counter)  # kinds of covered files that
    # the status COMMIT found not written back: they stay failed
    verified: int = 0  # covered files the check found written back
    unverified: str = ""  # why covered files were not checked one by one

    @property
    def covered(self) -> int:
        """Failed files a target flush wrote back (those the check found dirty excluded)."""
        flushed = sum(f.files for f in self.flushes if f.status == "succeeded")
        return flushed - sum(self.still_dirty.values())

    @property
    def settled(self) -> bool:
        return self.settled_code is not None

    def _left(self, summary: FlushSummary) -> int:
        """Failed files no target flush covered (the summary already says so once settled)."""
        return summary.failed if self.settled else max(0, summary.failed - self.covered)

    def settle(self, summary: FlushSummary) -> int:
        """The run's exit code (decided on the per-file counts), then count the covered files
        as flushed in ``summary``, as the report and failed list do (once: later calls only
        return that code)."""
        if self.settled_code is not None:
            return self.settled_code
        self.settled_code = self.exit_code(summary)
        for kind, n in (self.covered_kinds - self.still_dirty).items():
            summary.counts[Outcome.FAILED.value] -= n
            summary.counts[Outcome.FLUSHED.value] += n
            summary.reasons[kind] -= n
            if summary.reasons[kind] <= 0:
                del summary.reasons[kind]
        return self.settled_code

    def exit_code(self, summary: FlushSummary) -> int:
        code = summary.exit_code
        if summary.interrupted or self.interrupted:
            return EXIT_INTERRUPTED
        if code in (EXIT_OK, EXIT_USAGE) or summary.failed == 0:
            return code
        others = any(summary.count(o) for o in Outcome
                     if o not in OK_OUTCOMES and o is not Outcome.FAILED)
        return EXIT_OK if not others and self.covered >= summary.failed else code

    def to_dict(self, summary: FlushSummary) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": "target-flush",
            "targets": [f.to_dict() for f in self.flushes],
            "failed_files_covered": self.covered,
            "failed_files_not_covered": self._left(summary),
        }
        data["failed_files_still_dirty"] = sum(self.still_dirty.values())
        data["failed_files_verified"] = self.verified
        if self.unverified:
            data["unverified"] = self.unverified
        if self.problems:
            data["problems"] = list(self.problems)
        if self.skipped:
            data["skipped"] = self.skipped
        return data

    def lines(self, summary: FlushSummary) -> list[str]:
        out = [f"fallback: {f.line()}" for f in self.flushes]
        out += [f"fallback: {p}" for p in self.problems]
        if self.skipped:
            out.append(f"fallback: {self.skipped}")
        if self.settled and self.covered:
            how = (f"; {self.unverified}" if self.unverified
                   else f", {self.verified:,} checked written back with a status request")
            out.append(f"fallback: {self.covered:,} file(s) that failed per file were written "
                       f"back by a target flush (counted as flushed{how})")
        dirty = sum(self.still_dirty.values())
        if dirty:
            out.append(f"fallback: {dirty:,} file(s) on a flushed storage target were not "
                       "written back after all (still failed; see their reasons)")
        left = self._left(summary)
        if self.flushes and left > 0:
            out.append(f"fallback: {left:,} failed file(s) not covered by a target flush")
        return out


class TargetFallback(Sink):
    """Counts failed files per site while the run goes; ``run`` then flushes their targets."""

    def __init__(
        self, locator: Locator, arm: ArmContext | None, azure: AzureOptions | None = None,
        *, quiet: bool = False, stream: IO[str] | None = None,
        timeout: float = DEFAULT_OPERATION_TIMEOUT,
    ) -> None:
        self.locator = locator
        self.timeout = timeout  # --fallback-timeout: each target flush, then "still running"
        self.arm = arm
        self.azure = azure or EnvironmentAzure()
        self.quiet = quiet
        self.stream = stream
        self.sites: dict[Site, int] = {}  # site -> its id: the index in self.kinds
        self.kinds: list[Counter[str]] = []  # per site id: failure kind -> failed files
        self.not_coverable = 0
        self._settings: ArmSettings | None = None
        self._found: dict[str, ArmContext | None] = {}
        self._flush_of: dict[int, TargetFlush] = {}  # site id -> its target's flush

    def emit(self, result: FileResult) -> None:
        self.take(result)

    def take(self, result: FileResult) -> int | None:
        """Count a failed result on its site; the site's id when a target flush may cover
        it (the held-back records keep that id, not the site), else None."""
        if result.outcome is not Outcome.FAILED:
            return None
        site = None if result.kind in NOT_COVERABLE else self.locator.site(result.path)
        if site is None:
            self.not_coverable += 1
            return None
        site_id = self.sites.get(site)
        if site_id is None:
            if len(self.sites) >= MAX_SITES:
                self.not_coverable += 1
                return None
            site_id = self.sites[site] = len(self.kinds)
            self.kinds.append(Counter())
        self.kinds[site_id][result.kind or "failed"] += 1
        return site_id

    def covering(self, site_id: int) -> TargetFlush | None:
        """The target flush that wrote back the files of site ``site_id``, if it succeeded."""
        flush = self._flush_of.get(site_id)
        return flush if flush is not None and flush.status == "succeeded" else None

    # -- after the run --------------------------------------------------------------------

    def run(self, summary: FlushSummary) -> FallbackReport:
        report = FallbackReport(not_coverable=self.not_coverable)
        if summary.interrupted:
            report.skipped = "not run: the flush was interrupted"
            return report
        plan: dict[tuple[str, str, str], tuple[ArmContext, TargetFlush]] = {}
        try:
            for site, site_id in self.sites.items():
                count = sum(self.kinds[site_id].values())
                context, target = self._place(site, report)
                if context is None or target is None:
                    report.not_coverable += count
                    continue
                key = (context.resource_group.lower(), context.name.lower(), target.lower())
                if key not in plan:
                    flush = TargetFlush(context.layout.name, context.resource_group, target)
                    plan[key] = (context, flush)
                    report.flushes.append(flush)
                plan[key][1].files += count
                self._flush_of[site_id] = plan[key][1]
        except KeyboardInterrupt:  # while finding caches in Azure: nothing was flushed yet
            report.interrupted, report.skipped = True, "interrupted before any target flush"
            return report
        for context, flush in plan.values():
            if report.interrupted:
                break
            self._flush(context, flush, report)
        for site_id in self._flush_of:
            if self.covering(site_id) is not None:
                report.covered_kinds.update(self.kinds[site_id])
        return report

    def _place(self, site: Site, report: FallbackReport) -> tuple[ArmContext | None, str | None]:
        if site.target is not None:
            return self.arm, site.target
        if site.address is None:
            return None, None
        context = self._discover(site.address, report)
        if context is None:
            return None, None
        junction = context.layout.junction_for(site.directory or "/")
        return context, junction.storage_target if junction else None

    def _discover(self, address: str, report: FallbackReport) -> ArmContext | None:
        """The cache whose mount address ``address`` is (resolution cache first), once."""
        if address in self._found:
            return self._found[address]
        from hpccache_cli.control.resolve import discover_by_address

        context = None
        try:
            if self._settings is None:
                self._settings = self.azure.settings()
            settings = self._settings
            layout = discover_by_address(settings, address, refresh=self.azure.refresh)
        except UserError as exc:
            report.problems.append(f"cannot find the cache of mount address {address}: {exc}")
        else:
            if layout is None:
                report.problems.append(
                    f"no cache in subscription {settings.subscription_id} has mount "
                    f"address {address}; its files are not covered")
            else:
                context = ArmContext(settings, layout.resource_group, layout.name, layout)
        self._found[address] = context
        return context

    def _flush(self, context: ArmContext, flush: TargetFlush, report: FallbackReport) -> None:
        from hpccache_cli.control.operations import flush_target

        self._say(f"hpccache: fallback: flushing storage target {flush.target} of cache "
                  f"{flush.cache} for {flush.files:,} failed file(s); clients see errors on "
                  "its namespace paths until it ends")
        try:
            with self.azure.progress(
                    f"Flushing storage target {flush.target} of {flush.cache}") as tick:
                result = flush_target(context.settings, context.resource_group, context.name,
                                      flush.target, wait=True, on_progress=tick,
                                      timeout=self.timeout)
        except UserError as exc:
            flush.status, flush.reason = "failed", str(exc)
        except KeyboardInterrupt:
            flush.status = "interrupted"
            flush.reason = "the flush may still be running in Azure (hpccache target show)"
            report.interrupted = True
        else:
            flush.status, flush.seconds = "succeeded", result.elapsed_s
        if flush.status != "succeeded" or not self.quiet:
            self._say(f"hpccache: fallback: {flush.line()}")

    def _say(self, text: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(text + "\n")
        stream.flush()


def make_fallback(
    naming: Naming, azure: AzureOptions | None, *, quiet: bool,
    timeout: float = DEFAULT_OPERATION_TIMEOUT,
) -> TargetFallback:
    """The fallback sink for paths named as ``naming`` says: it places failed files with its
    locator (never with a resolver the shard wrapper wrapped) in its ARM context, if any."""
    return TargetFallback(naming.locator, naming.arm, azure, quiet=quiet, timeout=timeout)


def fallback_for(request: FlushRequest, naming: Naming) -> TargetFallback | None:
    """The fallback sink a FlushRequest asks for (``--fallback target-flush``), else None."""
    if request.fallback is None:
        return None
    return make_fallback(naming, request.azure, quiet=request.verbosity < 0,
                         timeout=request.fallback_timeout)
