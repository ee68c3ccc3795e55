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
                  emit: Any) -> None:
    from hpccache_cli.cli.amlfs_wait import WaitReport, wait_and_report
    from hpccache_cli.control import amlfs
    from hpccache_cli.control.aml_wait import read_archive
    from hpccache_cli.lustre.state import judge_files

    if not targets:
        return
    fs = where.fs
    settings = az.settings()
    prefix = covering_prefix([t.fs_path for t in targets])
    before = amlfs.archive_progress(amlfs.start_archive(settings, fs.resource_group, fs.name,
                                                        prefix))
    label = f"archive of {prefix!r} on {fs.name}"
    with amlfs.fs_client(settings, fs.resource_group, fs.name) as client:
        end = wait_and_report(
            partial(read_archive, client, fs.resource_group, fs.name, label, before),
            WaitReport(label), timeout=timeout, interval=settings.polling_interval,
            show=f"hpccache amlfs show {fs.name} -g {fs.resource_group}",
            cancel=f"hpccache amlfs cancel-archive {fs.name} -g {fs.resource_group}")
    ended = f"the archive job ended {end.state}" + (f": {end.message}" if end.message else "")
    for v, t in zip(judge_files(targets, None, fs.container), targets, strict=True):
        if v.blob is not None:
            emit(ExportResult(t, "exported", "in-blob", f"blob present after {ended} (Blob "
                              "side only: no Lustre client here)"))
        elif v.detail and v.verdict.value == "error":
            emit(ExportResult(t, "failed", "error", v.detail))
        else:
            emit(ExportResult(t, "failed", "no-blob", f"no blob {t.blob_name} after {ended}"))
