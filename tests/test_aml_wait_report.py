"""How a wait reads on a terminal and in a pipeline (``cli/amlfs_wait.py``), and the reading
arithmetic of ``control/aml_wait.py`` (rate, ETA, a bounded loop) with a clock of our own."""

from __future__ import annotations

import io

import pytest

from hpccache_cli.cli.amlfs_wait import WaitReport, wait_and_report
from hpccache_cli.control.aml_wait import Progress, WaitTimeout, follow
from hpccache_cli.errors import UserError


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_redrawn_status_line() -> None:
    err = Tty()
    report = WaitReport("archive of '/' on fs1", out=io.StringIO(), err=err, environ={})
    report(Progress("a", "InProgress", percent=40.0, rate=12.0, eta=9.0, elapsed=6.0))
    report.finish(Progress("a", "Completed", percent=100.0))
    text = err.getvalue()
    assert "\r\x1b[Karchive of '/' on fs1: InProgress, 40 %, 12/s, ETA 9 s (6 s)" in text
    assert text.endswith("\r\x1b[K")  # the line is cleared before the outcome is printed


def test_a_pipeline_gets_setprogress_warnings_and_output_variables() -> None:
    out = io.StringIO()
    report = WaitReport("import job 'j' on fs1", out=out, err=io.StringIO(),
                        environ={"TF_BUILD": "True"})
    report(Progress("i", "InProgress", percent=50.0))
    report(Progress("i", "InProgress", percent=50.0))  # unchanged: not repeated
    report.finish(Progress("i", "CompletedPartial", done=9, conflicts=2, errors=1))
    lines = out.getvalue().splitlines()
    assert sum(line.startswith("##vso[task.setprogress value=50;]") for line in lines) == 1
    assert "##vso[task.logissue type=warning]import job 'j' on fs1: 2 conflict(s)" in lines
    assert "##vso[task.logissue type=warning]import job 'j' on fs1: 1 error(s)" in lines
    assert any(line.startswith("##vso[task.logissue type=error]") for line in lines)
    assert "##vso[task.setvariable variable=AMLFS_IMPORTED;isOutput=true]9" in lines


def test_follow_fills_rate_and_eta_and_stops_at_the_deadline() -> None:
    now = [0.0]
    readings = iter([Progress("x", "InProgress", percent=25.0, done=10),
                     Progress("x", "InProgress", percent=50.0, done=30),
                     Progress("x", "InProgress", percent=60.0, done=40)])
    seen: list[Progress] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(WaitTimeout) as caught:
        follow(lambda: next(readings), timeout=2.0, interval=1.0, on_progress=seen.append,
               sleep=sleep, clock=lambda: now[0])
    assert [r.polls for r in seen] == [1, 2, 3]
    assert seen[1].rate == 20.0 and seen[1].eta == pytest.approx(1.0)
    assert caught.value.last.percent == 60.0


def test_ctrl_c_in_a_wait_names_the_commands_and_exits_130() -> None:
    def read() -> Progress:
        raise KeyboardInterrupt

    report = WaitReport("import job 'j' on fs1", out=io.StringIO(), err=io.StringIO(),
                        environ={})
    with pytest.raises(UserError) as caught:
        wait_and_report(read, report, timeout=10, interval=1, show="SHOW-CMD",
                        cancel="CANCEL-CMD")
    assert caught.value.exit_code == 130
    assert "still running in Azure; show it: SHOW-CMD; cancel it: CANCEL-CMD" in str(
        caught.value)


def _fs(state: str | None, started: str = "T1", percent: object = None) -> object:
    from azure.mgmt.storagecache.models import AmlFilesystem

    status: dict[str, object] = {"lastStartedTime": started}
    if state is not None:
        status["state"] = state
    if percent is not None:
        status["percentComplete"] = percent
    return AmlFilesystem({"name": "fs1", "properties": {"hsm": {"archiveStatus": [
        {"filesystemPath": "/", "status": status}]}}})


def test_the_previous_archives_end_is_not_this_archives_end() -> None:
    from hpccache_cli.control.aml_wait import archive_reading
    from hpccache_cli.control.amlfs import archive_progress

    before = archive_progress(_fs("Completed", "T1"))
    stale = archive_reading(_fs("Completed", "T1"), "archive", before)
    assert stale.state is None and not stale.ended  # keep waiting, bounded by --timeout
    fresh = archive_reading(_fs("Completed", "T2", 100), "archive", before)
    assert fresh.ended and fresh.percent == 100.0


@pytest.mark.parametrize(("raw", "read"), [(100.0, 100.0), ("100.0", 100.0), (55, 55.0),
                                           (None, None), ("n/a", None), (250, None),
                                           (True, None)])
def test_percent_complete_is_read_whatever_its_shape(raw: object, read: float | None) -> None:
    from hpccache_cli.control.amlfs import percent_of

    assert percent_of(raw) == read
