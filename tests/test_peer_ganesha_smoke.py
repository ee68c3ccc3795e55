"""Smoke test of the peer machinery itself: the ganesha fixture serves a real NFSv3 export that
a real third-party client (libnfs) can read. If this fails, every peer test is suspect.
(Tests using the ``ganesha``/``libnfs`` fixtures get the ``peer`` marker from conftest.)"""

from __future__ import annotations

import subprocess

import pytest
from peers import GaneshaPeer, WaitTimeout, nfs_cat, nfs_ls, wait_until


def test_rpcinfo_sees_nfs3_and_mount3(ganesha: GaneshaPeer) -> None:
    for program in ("100003", "100005"):  # NFS v3, MOUNT v3: a real NULL call to each
        proc = subprocess.run(
            ["rpcinfo", "-T", "tcp", ganesha.host, program, "3"],
            capture_output=True, text=True, timeout=30, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "ready and waiting" in proc.stdout


def test_file_created_on_disk_is_listed_and_read_over_nfs(ganesha: GaneshaPeer) -> None:
    scratch = ganesha.scratch_dir("smoke-")
    (scratch / "hello.txt").write_bytes(b"hello from the host\n")
    assert ganesha.nfs_path(scratch).startswith(ganesha.export_path + "/")

    assert nfs_ls(ganesha.url(scratch)) == ["hello.txt"]
    assert scratch.name in nfs_ls(ganesha.url())  # the export root itself
    assert nfs_cat(ganesha.url(scratch / "hello.txt")) == b"hello from the host\n"


def test_mount_refuses_a_path_outside_the_export(ganesha: GaneshaPeer) -> None:
    with pytest.raises(AssertionError, match="exited"):
        nfs_ls(ganesha.url().replace(ganesha.export_path, "/etc", 1))


def test_wait_until_returns_the_value_or_fails_at_the_deadline() -> None:
    calls = iter([0, 0, 7])
    assert wait_until(lambda: next(calls), timeout=5) == 7
    with pytest.raises(WaitTimeout, match="never"):
        wait_until(lambda: False, timeout=0.05, message="never")
