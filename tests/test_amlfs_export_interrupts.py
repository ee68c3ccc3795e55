"""Ctrl-C in ``amlfs export`` (a KeyboardInterrupt: the command has no event loop) lands
where it lands; every file still gets exactly one result, and the report and the failed list
never disagree. Each interrupt is placed exactly (raised by the HSM side as its ``lfs``
returns, or a real SIGINT sent from inside ``emit``), never after a sleep."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator, Sequence

import pytest
from lustre_support import LustreWorld

from hpccache_cli.lustre.export import ExportOptions, ExportResult, export_files
from hpccache_cli.lustre.hsm import LfsCommand
from hpccache_cli.lustre.hsm_state import Failed
from hpccache_cli.lustre.mounts import LustreMounts
from hpccache_cli.lustre.state import Target
from hpccache_cli.paths.mountinfo import MountTable


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt, as in the command (whatever the test runner set)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def targets_of(lw: LustreWorld, paths: Sequence[str]) -> list[Target]:
    mounts = LustreMounts(MountTable.load(lw.client.mountinfo))
    out = []
    for p in paths:
        m = mounts.find(p)
        assert m is not None
        out.append(Target(p, m.fs_path(p), p, m))
    return out


class CtrlCAsArchivesQueue(LfsCommand):
    """The archives are queued (lfs hsm_archive ran), then Ctrl-C: before any wait."""

    def archive(self, paths: Sequence[str], archive_id: int = 0) -> dict[str, Failed]:
        super().archive(paths, archive_id)
        raise KeyboardInterrupt


def test_a_ctrl_c_while_archives_are_queued_still_ends_every_file(lw: LustreWorld) -> None:
    paths = [lw.write(f"q/{n}", n.encode()) for n in "abc"]
    seen: list[ExportResult] = []
    try:
        run = export_files(targets_of(lw, paths), CtrlCAsArchivesQueue(
            str(lw.client.bin_dir / "lfs")), lw.aml.container, ExportOptions(poll=0.05),
            seen.append)
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C escaped the export: no file got a result")
    assert run.interrupted
    assert Counter(r.target.path for r in seen) == Counter(paths)
    assert {(r.outcome, r.reason) for r in seen} == {
        ("unfinished", "interrupted before its wait began")}


def test_a_ctrl_c_inside_emit_cuts_no_record_and_ends_no_file_twice(
    lw: LustreWorld, default_sigint: None,
) -> None:
    """The SIGINT comes while the first exported file's result is written, between its
    report line and its failed-list line (here: two lists)."""
    paths = [lw.write(f"e/{n}", n.encode() * 3) for n in "ab"]
    report: list[ExportResult] = []
    failed_list: list[ExportResult] = []

    def emit(r: ExportResult) -> None:
        report.append(r)
        if len(report) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        failed_list.append(r)

    try:
        run = export_files(targets_of(lw, paths), LfsCommand(str(lw.client.bin_dir / "lfs")),
                           lw.aml.container, ExportOptions(poll=0.05), emit)
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C escaped the export")
    assert run.interrupted
    assert report == failed_list  # every record in both, or in neither
    assert Counter(r.target.path for r in report) == Counter(paths)  # one each
    assert report[0].outcome in ("exported", "failed")  # its own end, not "unfinished" too
