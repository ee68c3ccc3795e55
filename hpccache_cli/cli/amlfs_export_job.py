"""``hpccache amlfs export --via archive-job``: for a machine with no Lustre client, an Azure
archive of the directory covering the files (part 1's library and wait), then each file's
blob is checked. The Lustre side is not visible from there: a file counts as exported when
its blob is present after a Completed archive, and its record says the check was Blob-only.
"""

from __future__ import annotations

import posixpath
from functools import partial
from typing import TYPE_CHECKING, Any

from hpccache_cli.lustre.export import ExportResult

if TYPE_CHECKING:
    from hpccache_cli.cli.azure_options import AzureArgs


def covering_prefix(fs_paths: list[str]) -> str:
    """The deepest directory holding every path ('/' at worst)."""
    dirs = [posixpath.dirname(p) or "/" for p in fs_paths]
    return posixpath.commonpath(dirs) if dirs else "/"


def export_by_job(targets: list[Any], where: Any, az: AzureArgs, timeout: float,
                  emit: Any) -> bool:
    """Archive the covering directory in Azure, wait, check each blob; ``emit`` each file's
    end. A Ctrl-C (or SIGTERM, SIGHUP: a ``KeyboardInterrupt`` here) anywhere still ends
    every file, ``unfinished`` with where its export stands (the job goes on in Azure, and
    the commands that show or cancel it); returns True then. The caller makes ``emit`` give
    a file one record at most."""
    from hpccache_cli.cli.amlfs_wait import WaitReport, wait_and_report
    from hpccache_cli.control import amlfs
    from hpccache_cli.control.aml_wait import read_archive
    from hpccache_cli.errors import EXIT_INTERRUPTED, UserError
    from hpccache_cli.jobs.flush.streams import say
    from hpccache_cli.lustre.state import judge_files

    if not targets:
        return False
    fs = where.fs
    settings = az.settings()
    prefix = covering_prefix([t.fs_path for t in targets])
    label = f"archive of {prefix!r} on {fs.name}"
    show = f"hpccache amlfs show {fs.name} -g {fs.resource_group}"
    cancel = f"hpccache amlfs cancel-archive {fs.name} -g {fs.resource_group}"
    where_now = (f"interrupted while the {label} was being asked for: it may be running in "
                 f"Azure; show it: {show}; cancel it: {cancel}")
    try:
        before = amlfs.archive_progress(amlfs.start_archive(settings, fs.resource_group,
                                                            fs.name, prefix))
        where_now = (f"interrupted; {label} is still running in Azure; show it: {show}; "
                     f"cancel it: {cancel}")
        with amlfs.fs_client(settings, fs.resource_group, fs.name) as client:
            end = wait_and_report(
                partial(read_archive, client, fs.resource_group, fs.name, label, before),
                WaitReport(label), timeout=timeout, interval=settings.polling_interval,
                show=show, cancel=cancel)
        ended = f"the archive job ended {end.state}" + (f": {end.message}" if end.message
                                                        else "")
        where_now = f"interrupted while its blob was checked, after {ended}"
        _check(targets, judge_files(targets, None, fs.container), ended, emit)
        return False
    except UserError as exc:
        if exc.exit_code != EXIT_INTERRUPTED:
            raise
        where_now = str(exc)  # (the wait's own words: still running, show it, cancel it)
    except KeyboardInterrupt:
        pass
    if "in Azure" in where_now:
        say(f"hpccache: {where_now}", err=True)
    for t in targets:
        emit(ExportResult(t, "unfinished", "interrupted", where_now))
    return True


def _check(targets: list[Any], verdicts: list[Any], ended: str, emit: Any) -> None:
    for v, t in zip(verdicts, targets, strict=True):
        if v.blob is not None:
            emit(ExportResult(t, "exported", "in-blob", f"blob present after {ended} (Blob "
                              "side only: no Lustre client here)"))
        elif v.detail and v.verdict.value == "error":
            emit(ExportResult(t, "failed", "error", v.detail))
        else:
            emit(ExportResult(t, "failed", "no-blob", f"no blob {t.blob_name} after {ended}"))
