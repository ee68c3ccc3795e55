"""``hpccache amlfs`` as a user runs it (a subprocess) against the fake ARM, with Azurite as the
blob back end: output shapes, exit codes, one-line refusals, the pipeline's logging commands.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aml_support import BARE, FS, RG, AmlWorld, running_aml
from arm_support import error_line, run_hpccache

from hpccache_cli.control import aml_jobs
from hpccache_cli.emulator.aml.service import AmlService


@pytest.fixture
def aml(tmp_path: Path, azurite: AmlService) -> Iterator[AmlWorld]:
    with running_aml(tmp_path, shared=azurite) as world:
        yield world


@pytest.fixture
def env(aml: AmlWorld, tmp_path: Path) -> dict[str, str | None]:
    return {**aml.world.env(), "XDG_CACHE_HOME": str(tmp_path / "xdg"), "TF_BUILD": None,
            "AZURE_DEFAULTS_GROUP": None}


def run(env: dict[str, str | None], *args: str) -> object:
    return run_hpccache(env, "amlfs", *args, timeout=120)


def test_list_and_show_have_az_shapes(aml: AmlWorld, env: dict[str, str | None]) -> None:
    proc = run(env, "list", "-g", RG, "-o", "json")
    assert proc.returncode == 0, proc.stderr
    listed = {fs["name"]: fs for fs in json.loads(proc.stdout)}
    assert set(listed) == {FS, BARE}
    assert listed[FS]["resourceGroup"] == RG and "hsm" in listed[FS] and "hsm" not in listed[BARE]
    proc = run(env, "show", "-n", FS, "-g", RG, "--query", "clientInfo.mountCommand", "-o",
               "tsv")
    assert proc.returncode == 0 and proc.stdout.startswith("mount -t lustre 127.0.0.1@tcp:")


def test_archive_waits_and_the_blobs_are_in_azurite(aml: AmlWorld,
                                                    env: dict[str, str | None]) -> None:
    aml.write("out/a.bin", b"\x00\x01" * 3000)
    aml.write("out/b.txt", b"text\n")
    proc = run(env, "archive", FS, "-g", RG)
    assert proc.returncode == 0, proc.stderr
    assert "Completed" in proc.stderr
    assert aml.blobs() == {"out": b"", "out/a.bin": b"\x00\x01" * 3000, "out/b.txt": b"text\n"}


def test_archive_of_a_file_system_without_hsm_is_one_line(aml: AmlWorld,
                                                          env: dict[str, str | None]) -> None:
    line = error_line(run(env, "archive", "-n", BARE, "-g", RG), 3)
    assert f"file system '{BARE}'" in line and "no HSM settings" in line


def test_a_second_job_is_refused_naming_the_running_one(aml: AmlWorld,
                                                        env: dict[str, str | None]) -> None:
    aml.write("f.txt", b"x")
    aml.fs.gate.clear()
    assert run(env, "archive", FS, "-g", RG, "--no-wait").returncode == 0
    line = error_line(run(env, "import", "create", "-n", "j1", "--amlfs-name", FS, "-g", RG), 3)
    assert "an archive of '/' is" in line and "--queue" in line
    aml.fs.gate.set()


def test_auto_import_blocks_manual_import_and_says_disable(aml: AmlWorld,
                                                           env: dict[str, str | None]) -> None:
    proc = run(env, "auto-import", "create", "-n", "ai1", "--amlfs-name", FS, "-g", RG, "-o",
               "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["adminStatus"] == "Enable"
    line = error_line(run(env, "import", "create", "-n", "j1", "--amlfs-name", FS, "-g", RG,
                          "--queue"), 3)
    assert "auto-import job 'ai1' is enabled" in line and "auto-import disable" in line


def test_import_waits_for_the_jobs_state_and_exit_codes_follow_it(
        aml: AmlWorld, env: dict[str, str | None]) -> None:
    aml.container.upload_blob("in/x.txt", b"x")
    proc = run(env, "import", "create", "-n", "ok", "--amlfs-name", FS, "-g", RG, "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"]["state"] == "Completed"
    aml.fs.faults.error_paths = ["bad"]
    aml.container.upload_blob("bad/y.txt", b"y")
    proc = run(env, "import", "create", "-n", "partial", "--amlfs-name", FS, "-g", RG,
               "--maximum-errors", "-1", "-o", "none")
    line = error_line(proc, 1)
    assert "CompletedPartial" in line and "1 errors" in line
    aml.fs.faults.fail_jobs = True
    line = error_line(run(env, "import", "create", "-n", "failed", "--amlfs-name", FS, "-g",
                          RG, "-o", "none"), 3)
    assert "Failed" in line and "emulated failure" in line


def test_a_timeout_leaves_the_job_running_and_names_the_commands(
        aml: AmlWorld, env: dict[str, str | None]) -> None:
    aml.container.upload_blob("in/x.txt", b"x")
    aml.fs.gate.clear()
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "slow", {})
    line = error_line(run(env, "import", "wait", "-n", "slow", "--amlfs-name", FS, "-g", RG,
                          "--timeout", "0.5"), 3)
    assert "still running in Azure" in line
    assert f"hpccache amlfs import show -n slow --amlfs-name {FS} -g {RG}" in line
    assert f"hpccache amlfs import cancel -n slow --amlfs-name {FS} -g {RG}" in line
    assert run(env, "import", "cancel", "-n", "slow", "--amlfs-name", FS, "-g", RG, "-o",
               "none").returncode == 0
    aml.fs.gate.set()
    proc = run(env, "import", "wait", "-n", "slow", "--amlfs-name", FS, "-g", RG)
    assert "Canceled" in error_line(proc, 3)


def test_in_a_pipeline_progress_warnings_and_output_variables(
        aml: AmlWorld, env: dict[str, str | None]) -> None:
    aml.write("c.txt", b"local and dirty")
    aml.container.upload_blob("c.txt", b"remote")
    proc = run({**env, "TF_BUILD": "True"}, "import", "create", "-n", "j1", "--amlfs-name", FS,
               "-g", RG, "--conflict-mode", "Skip", "-o", "none")
    assert proc.returncode == 0, proc.stderr
    assert "##vso[task.logissue type=warning]import job 'j1' on fs1: 1 conflict(s)" in proc.stdout
    assert "##vso[task.setvariable variable=AMLFS_STATE;isOutput=true]Completed" in proc.stdout
    assert "##vso[task.setvariable variable=AMLFS_CONFLICTS;isOutput=true]1" in proc.stdout
    proc = run({**env, "TF_BUILD": "True"}, "archive", FS, "-g", RG)
    assert proc.returncode == 0, proc.stderr
    assert "##vso[task.setprogress value=100;]" in proc.stdout


def test_auto_export_lifecycle_and_job_ids_in_the_services_shape(
        aml: AmlWorld, env: dict[str, str | None]) -> None:
    proc = run(env, "auto-export", "create", "-n", "ae1", "--amlfs-name", FS, "-g", RG, "-o",
               "json")
    assert proc.returncode == 0, proc.stderr
    job_id = json.loads(proc.stdout)["id"]
    assert "/amlfilesystems/fs1/autoExportJob/ae1" in job_id  # the service's quirks
    proc = run(env, "auto-export", "show", "--ids", job_id, "--query", "adminStatus", "-o",
               "tsv")
    assert proc.returncode == 0 and proc.stdout.strip() == "Enable", proc.stderr
    proc = run(env, "auto-export", "disable", "-n", "ae1", "--amlfs-name", FS, "-g", RG,
               "--query", "adminStatus", "-o", "tsv")
    assert proc.stdout.strip() == "Disable", proc.stderr
    assert run(env, "auto-export", "delete", "-n", "ae1", "--amlfs-name", FS, "-g",
               RG).returncode == 0
    proc = run(env, "auto-export", "list", "--amlfs-name", FS, "-g", RG, "-o", "json")
    assert json.loads(proc.stdout) == []


def test_cancel_archive_stops_a_running_archive(aml: AmlWorld,
                                                env: dict[str, str | None]) -> None:
    aml.write("f.txt", b"x")
    aml.fs.gate.clear()
    assert run(env, "archive", FS, "-g", RG, "--no-wait").returncode == 0
    proc = run(env, "cancel-archive", FS, "-g", RG)
    assert proc.returncode == 0 and "asked Azure to cancel" in proc.stdout, proc.stderr
    aml.fs.gate.set()
    proc = run(env, "show", FS, "-g", RG, "--query", "hsm.archiveStatus[0].status.state", "-o",
               "tsv")
    assert proc.stdout.strip() in ("Cancelling", "Canceled")


def test_bad_input_is_one_line(aml: AmlWorld, env: dict[str, str | None]) -> None:
    line = error_line(run(env, "archive", FS, "-g", RG, "--path", "relative"), 2)
    assert "--path 'relative' must be absolute" in line
    line = error_line(run(env, "import", "create", "-n", "j", "--amlfs-name", FS, "-g", RG,
                          "--import-prefixes", "data"), 2)
    assert "must start with '/'" in line
    line = error_line(run(env, "import", "create", "-n", "bad name!", "--amlfs-name", FS, "-g",
                          RG), 2)
    assert "import job name 'bad name!' is not valid" in line
    line = error_line(run(env, "show", "nosuch", "-g", RG), 3)
    assert "nosuch" in line and "fs1" in line


def test_a_missing_job_or_group_is_named_with_what_exists(aml: AmlWorld,
                                                          env: dict[str, str | None]) -> None:
    line = error_line(run(env, "import", "wait", "-n", "nosuch", "--amlfs-name", FS, "-g", RG),
                      3)
    assert "import job 'nosuch' of AMLFS file system 'fs1'" in line
    assert "file system 'fs1' has no import jobs" in line
    line = error_line(run(env, "import", "show", "-n", "j", "--amlfs-name", "nofs", "-g", RG),
                      3)
    assert "file system 'nofs' does not exist" in line and "bare-fs, fs1" in line
    line = error_line(run(env, "list", "-g", "nosuchrg"), 3)
    assert "Resource group 'nosuchrg' could not be found" in line


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_ctrl_c_leaves_the_job_running_and_names_the_commands(
        aml: AmlWorld, env: dict[str, str | None], sig: str) -> None:
    """Ctrl-C, and SIGTERM or SIGHUP as it (a Slurm time limit, a closed terminal)."""
    import os
    import signal
    import subprocess
    import sys

    from peers import wait_until

    aml.container.upload_blob("in/x.txt", b"x")
    aml.fs.gate.clear()
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "held", {})
    full = {**os.environ, **env, "PYTHONPATH": str(Path(__file__).parent.parent)}
    arm = aml.world.arm
    before = arm.request_count("GET", "/importJobs/held")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpccache_cli", "amlfs", "import", "wait", "-n", "held",
         "--amlfs-name", FS, "-g", RG],
        env={k: v for k, v in full.items() if v is not None}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: arm.request_count("GET", "/importJobs/held") > before, timeout=60)
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.count("hpccache: error:") == 1
    assert "interrupted; import job 'held' on fs1 is still running in Azure" in err
    assert "cancel it: hpccache amlfs import cancel -n held" in err
    job = aml_jobs.get_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "held")
    assert job.properties.status.state == "InProgress"  # left running
    aml.fs.gate.set()


def test_a_failed_create_operation_is_one_line_with_azures_reason(
        aml: AmlWorld, env: dict[str, str | None]) -> None:
    aml.world.arm.faults.fail_next_lro("Import job could not be scheduled.", "JobFailed")
    line = error_line(run(env, "import", "create", "-n", "j1", "--amlfs-name", FS, "-g", RG), 3)
    assert "import job 'j1' of AMLFS file system 'fs1'" in line
    assert "failed in Azure: Import job could not be scheduled. (JobFailed)" in line


def test_a_create_that_never_starts_is_bounded_by_the_timeout(
        aml: AmlWorld, env: dict[str, str | None]) -> None:
    aml.world.arm.faults.hold_next_lro()
    line = error_line(run(env, "auto-export", "create", "-n", "a1", "--amlfs-name", FS, "-g",
                          RG, "--timeout", "1"), 3)
    assert "did not finish within 1 s" in line and "auto-export show -n a1" in line


def test_losing_track_of_a_job_is_not_calling_it_failed(aml: AmlWorld,
                                                        env: dict[str, str | None]) -> None:
    aml.container.upload_blob("in/x.txt", b"x")
    aml.fs.gate.clear()
    aml_jobs.create_job(aml.settings(), RG, FS, aml_jobs.IMPORT, "j1", {})
    # the first reading succeeds; the following ones fail (after the client's one retry)
    env = {**env, "HPCCACHE_POLL_INTERVAL": "0.2"}
    arm = aml.world.arm
    before = arm.request_count("GET", "/importJobs/j1")

    def fail_after_first() -> None:
        wait_until(lambda: arm.request_count("GET", "/importJobs/j1") > before, timeout=60)
        arm.faults.next_status(503, count=10, method="GET", path_contains="/importJobs/j1")

    import threading

    from peers import wait_until

    threading.Thread(target=fail_after_first, daemon=True).start()
    line = error_line(run(env, "import", "wait", "-n", "j1", "--amlfs-name", FS, "-g", RG),
                      3)
    assert "lost track of import job 'j1' on fs1 (a status request answered HTTP 503" in line
    assert "may still be running in Azure; show it: hpccache amlfs import show -n j1" in line
    aml.fs.gate.set()
