"""The AMLFS library (control/amlfs.py, aml_jobs.py, aml_wait.py) through the real SDK against
the fake ARM, with Azurite as the blob back end: no mocks.

Every honest refusal has a test here: no HSM settings, a second job while one runs (named),
an auto-import blocking manual jobs, ``percentComplete`` of ``100.0``, a missing status, and a
job whose create operation succeeded but whose status then says Failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aml_support import BARE, FS, RG, AmlWorld, running_aml
from peers import wait_until

from hpccache_cli.control import aml_jobs, amlfs
from hpccache_cli.control.aml_wait import (
    WaitTimeout,
    archive_reading,
    describe_end,
    follow,
    job_progress,
    outcome_code,
)
from hpccache_cli.emulator.aml.service import AmlService


@pytest.fixture
def aml(tmp_path: Path, azurite: AmlService) -> Iterator[AmlWorld]:
    with running_aml(tmp_path, shared=azurite) as world:
        yield world


def _archive_and_wait(aml: AmlWorld, path: str = "/", timeout: float = 60) -> object:
    settings = aml.settings()
    before = amlfs.archive_progress(amlfs.get_filesystem(settings, RG, FS))
    amlfs.start_archive(settings, RG, FS, path)
    with aml.client() as client:
        return follow(lambda: archive_reading(client.aml_filesystems.get(RG, FS), "archive",
                                              before), timeout=timeout, interval=0.05)


def test_archive_copies_files_byte_for_byte_with_copytool_metadata(aml: AmlWorld) -> None:
    aml.write("results/run1/out.bin", bytes(range(256)) * 40)
    aml.write("results/summary.txt", b"done\n")
    (aml.fs.root / "results/run1/out.bin").chmod(0o640)
    end = _archive_and_wait(aml)
    assert end.state == "Completed" and outcome_code(end) == 0
    blobs = aml.blobs()
    assert blobs["results/run1/out.bin"] == bytes(range(256)) * 40
    assert blobs["results/summary.txt"] == b"done\n"
    assert blobs["results"] == b"" and blobs["results/run1"] == b""
    meta = {b.name: b.metadata for b in aml.container.list_blobs(include=["metadata"])}
    assert meta["results/run1"]["hdi_isfolder"] == "true"
    assert meta["results/run1/out.bin"]["permissions"] == "0640"
    assert set(meta["results/summary.txt"]) == {"owner", "group", "permissions", "modtime"}
    # Go layout 2006-01-02 15:04:05 -0700
    assert len(meta["results/summary.txt"]["modtime"]) == len("2006-01-02 15:04:05 -0700")


def test_a_second_archive_copies_only_what_changed(aml: AmlWorld) -> None:
    aml.write("a.txt", b"one")
    aml.write("b.txt", b"two")
    _archive_and_wait(aml)
    aml.container.delete_blob("b.txt")  # would come back only if b.txt were copied again
    aml.write("a.txt", b"one, changed")
    end = _archive_and_wait(aml)
    assert end.state == "Completed"
    blobs = aml.blobs()
    assert blobs["a.txt"] == b"one, changed" and "b.txt" not in blobs


def test_archive_of_a_path_prefix_copies_only_that_path(aml: AmlWorld) -> None:
    aml.write("keep/x.txt", b"x")
    aml.write("other/y.txt", b"y")
    _archive_and_wait(aml, "/keep")
    assert set(aml.blobs()) == {"keep", "keep/x.txt"}


def test_a_file_system_without_hsm_is_refused_by_name(aml: AmlWorld) -> None:
    with pytest.raises(amlfs.NoHsm, match=f"file system '{BARE}'.*no HSM settings"):
        amlfs.start_archive(aml.settings(), RG, BARE)
    with pytest.raises(amlfs.NoHsm, match="no HSM settings"):
        aml_jobs.create_job(aml.settings(), RG, BARE, aml_jobs.IMPORT, "j1", {})


def test_a_second_job_while_one_runs_names_the_running_job(aml: AmlWorld) -> None:
    aml.write("f.txt", b"data")
    aml.fs.gate.clear()  # the archive holds InProgress
    amlfs.start_archive(aml.settings(), RG, FS)
    with pytest.raises(amlfs.JobSlotBusy, match="an archive of '/' is .*--queue"):
        aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "j1", {})
    with pytest.raises(amlfs.JobSlotBusy, match="archive.*--queue"):
        amlfs.start_archive(aml.settings(), RG, FS)
    aml.fs.gate.set()


def test_queue_waits_for_the_running_job_then_starts(aml: AmlWorld) -> None:
    aml.container.upload_blob("f.txt", b"data")  # one blob for the import to hold on
    aml.fs.gate.clear()
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "first", {})
    seen: list[str] = []

    def on_wait(holder: amlfs.Busy, waited: float) -> None:
        seen.append(holder.name)
        aml.fs.gate.set()  # let the first job finish while we wait

    job = aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "second", {},
                              queue=True, timeout=60, on_wait=on_wait)
    assert seen and seen[0] == "first"
    assert job.name == "second"


def test_queue_is_bounded_by_the_timeout(aml: AmlWorld) -> None:
    aml.fs.gate.clear()
    aml.container.upload_blob("f.txt", b"data")
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "first", {})
    with pytest.raises(amlfs.AzureError, match="import job 'first'.*still running.*nothing "
                       "was started"):
        aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "second", {},
                            queue=True, timeout=0.3)
    aml.fs.gate.set()


def test_an_enabled_auto_import_blocks_manual_jobs_even_with_queue(aml: AmlWorld) -> None:
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.AUTO_IMPORT, "auto1", {})
    with pytest.raises(amlfs.JobSlotBusy, match="auto-import job 'auto1' is enabled.*disable "
                       "it first"):
        aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "j1", {}, queue=True)
    aml_jobs.set_admin_status(aml.settings(), RG, FS, aml_jobs.AUTO_IMPORT, "auto1", "Disable")
    wait_until(lambda: amlfs.running_job(aml.client(), RG, FS) is None, timeout=30)
    job = aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "j1", {})
    assert job.name == "j1"


def test_percent_complete_sent_as_a_float_is_read(aml: AmlWorld) -> None:
    aml.fs.faults.percent_as_float = True
    aml.write("f.txt", b"x")
    end = _archive_and_wait(aml)
    assert end.state == "Completed" and end.percent == 100.0
    raw = aml.client().aml_filesystems.get(RG, FS).as_dict()
    assert raw["properties"]["hsm"]["archiveStatus"][0]["status"]["percentComplete"] == 100.0


def test_a_missing_job_status_reads_as_not_reported_yet(aml: AmlWorld) -> None:
    aml.fs.faults.missing_status_gets = 3
    job = aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "j1", {})
    assert job.name == "j1"
    readings = []
    with aml.client() as client:
        end = follow(lambda: job_progress(client.import_jobs.get(RG, FS, "j1"), "import"),
                     timeout=60, interval=0.05, on_progress=readings.append)
    assert readings[0].state is None and "no status reported yet" in readings[0].line()
    assert end.state == "Completed"


def test_a_job_whose_operation_succeeded_but_status_failed_is_a_failure(aml: AmlWorld) -> None:
    aml.fs.faults.fail_jobs = True
    job = aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "j1", {})
    assert job.properties.provisioning_state == "Succeeded"  # the LRO said yes
    with aml.client() as client:
        end = follow(lambda: job_progress(client.import_jobs.get(RG, FS, "j1"), "import"),
                     timeout=60, interval=0.05)
    assert end.state == "Failed" and outcome_code(end) == 3
    assert "emulated failure" in describe_end(end)


def test_import_creates_released_stubs_and_counts_them(aml: AmlWorld) -> None:
    aml.container.upload_blob("data", b"", metadata={"hdi_isfolder": "true"})
    aml.container.upload_blob("data/in.bin", b"z" * 5000,
                              metadata={"permissions": "0600",
                                        "modtime": "2024-01-02 03:04:05 +0000"})
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "j1", {})
    with aml.client() as client:
        end = follow(lambda: job_progress(client.import_jobs.get(RG, FS, "j1"), "import"),
                     timeout=60, interval=0.05)
    assert end.state == "Completed" and end.done == 2 and end.walked == 2
    stub = aml.fs.root / "data/in.bin"
    assert stub.stat().st_size == 5000 and oct(stub.stat().st_mode & 0o777) == "0o600"
    assert "data/in.bin" in aml.fs.released


def test_import_conflicts_fail_or_skip_as_asked(aml: AmlWorld) -> None:
    aml.write("c.txt", b"local, never archived")  # dirty: a conflict for an import
    aml.container.upload_blob("c.txt", b"remote")
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "skip",
                        {"conflictResolutionMode": "Skip"})
    with aml.client() as client:
        end = follow(lambda: job_progress(client.import_jobs.get(RG, FS, "skip"), "import"),
                     timeout=60, interval=0.05)
        assert end.state == "Completed" and end.conflicts == 1
        aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "fail",
                            {"conflictResolutionMode": "Fail"})
        end = follow(lambda: job_progress(client.import_jobs.get(RG, FS, "fail"), "import"),
                     timeout=60, interval=0.05)
    assert end.state == "Failed" and "conflict at /c.txt" in (end.message or "")
    assert (aml.fs.root / "c.txt").read_bytes() == b"local, never archived"


def test_errors_beyond_maximum_errors_fail_and_within_are_partial(aml: AmlWorld) -> None:
    aml.fs.faults.error_paths = ["bad"]
    aml.container.upload_blob("bad/1", b"1")
    aml.container.upload_blob("good/2", b"2")
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "tolerant",
                        {"maximumErrors": -1})
    with aml.client() as client:
        end = follow(lambda: job_progress(client.import_jobs.get(RG, FS, "tolerant"), "i"),
                     timeout=60, interval=0.05)
    assert end.state == "CompletedPartial" and end.errors == 1 and outcome_code(end) == 1


def test_a_wait_is_bounded_and_reads_once_per_interval(aml: AmlWorld) -> None:
    aml.fs.gate.clear()
    aml.container.upload_blob("f.txt", b"x")
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "j1", {})
    before = aml.world.arm.request_count("GET", "/importJobs/j1")
    with aml.client() as client, pytest.raises(WaitTimeout) as caught:
        follow(lambda: job_progress(client.import_jobs.get(RG, FS, "j1"), "import"),
               timeout=3.0, interval=1.0)  # (a loaded machine: a GET may take 1 s or two)
    gets = aml.world.arm.request_count("GET", "/importJobs/j1") - before
    assert gets == caught.value.last.polls and 2 <= gets <= 4
    assert caught.value.last.state == "InProgress"
    aml.fs.gate.set()


def test_cancel_an_import_ends_canceled(aml: AmlWorld) -> None:
    aml.fs.gate.clear()
    aml.container.upload_blob("x", b"x")
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "j1", {})
    aml_jobs.set_admin_status(aml.settings(), RG, FS, aml_jobs.IMPORT, "j1", "Cancel")
    with aml.client() as client:
        end = follow(lambda: job_progress(client.import_jobs.get(RG, FS, "j1"), "import"),
                     timeout=60, interval=0.05)
    assert end.state == "Canceled" and outcome_code(end) == 3


def test_auto_export_copies_new_files_while_enabled(aml: AmlWorld) -> None:
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.AUTO_EXPORT, "ae", {})
    aml.write("later.txt", b"written after the job started")
    wait_until(lambda: aml.blobs().get("later.txt") == b"written after the job started",
               timeout=30)
    aml_jobs.set_admin_status(aml.settings(), RG, FS, aml_jobs.AUTO_EXPORT, "ae", "Disable")
    wait_until(lambda: amlfs.job_state(aml_jobs.get_job(aml.settings(), RG, FS,
                                                          aml_jobs.AUTO_EXPORT, "ae"))
               == "Disabled", timeout=30)
    job = aml_jobs.get_job(aml.settings(), RG, FS, aml_jobs.AUTO_EXPORT, "ae")
    assert "/autoExportJob/ae" in job.id and "/amlfilesystems/" in job.id
    aml_jobs.delete_job(aml.settings(), RG, FS, aml_jobs.AUTO_EXPORT, "ae")
    assert aml_jobs.list_jobs(aml.settings(), RG, FS, aml_jobs.AUTO_EXPORT) == []


def test_archive_with_queue_waits_for_the_running_import(aml: AmlWorld) -> None:
    aml.container.upload_blob("in/x", b"x")
    aml.write("out/y", b"y")
    aml.fs.gate.clear()
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "first", {})
    seen: list[str] = []

    def on_wait(holder: amlfs.Busy, waited: float) -> None:
        seen.append(holder.describe())
        aml.fs.gate.set()

    amlfs.start_archive(aml.settings(), RG, FS, queue=True, timeout=60, on_wait=on_wait)
    assert seen and "import job 'first'" in seen[0]
    wait_until(lambda: aml.blobs().get("out/y") == b"y", timeout=30)


def test_auto_import_picks_up_new_blobs_and_deletions_when_enabled(aml: AmlWorld) -> None:
    aml.container.upload_blob("feed/a.txt", b"a")
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.AUTO_IMPORT, "ai",
                        {"enableDeletions": True})
    wait_until(lambda: (aml.fs.root / "feed/a.txt").is_file(), timeout=30)
    aml.container.upload_blob("feed/b.txt", b"bb")  # a change after the first scan
    wait_until(lambda: (aml.fs.root / "feed/b.txt").is_file(), timeout=30)
    aml.container.delete_blob("feed/a.txt")
    wait_until(lambda: not (aml.fs.root / "feed/a.txt").exists(), timeout=30)
    raw = aml_jobs.get_job(aml.settings(), RG, FS, aml_jobs.AUTO_IMPORT, "ai").as_dict()
    events = raw["properties"]["status"]["blobSyncEvents"]
    assert events["importedFiles"] >= 1 and events["deletions"] == 1
    assert (aml.fs.root / "feed/b.txt").stat().st_size == 2
    aml_jobs.set_admin_status(aml.settings(), RG, FS, aml_jobs.AUTO_IMPORT, "ai", "Disable")
