"""How ``hpccache amlfs`` commands name file systems and jobs (no Azure needed)."""

from __future__ import annotations

import pytest

from hpccache_cli.cli.amlfs_refs import FsRef, fs_refs, job_refs
from hpccache_cli.errors import UsageError

SUB = "00000000-0000-0000-0000-000000000000"
FS_ID = (f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.StorageCache"
         "/amlFilesystems/fs1")


@pytest.mark.parametrize("job_id", [
    FS_ID + "/autoExportJobs/ae1",
    FS_ID.replace("amlFilesystems", "amlfilesystems") + "/autoExportJob/ae1",  # the service's
])
def test_a_job_id_is_read_in_both_shapes_the_service_writes(job_id: str) -> None:
    (ref,) = job_refs("auto-export", None, None, [job_id], None)
    assert ref.fs == FsRef("rg1", "fs1", SUB) and ref.name == "ae1"
    assert ref.command("show") == "hpccache amlfs auto-export show -n ae1 --amlfs-name fs1 -g rg1"


def test_ids_of_another_job_type_are_refused() -> None:
    with pytest.raises(UsageError, match="not an import job resource id"):
        job_refs("import", None, None, [FS_ID + "/autoImportJobs/a"], None)


def test_several_file_system_ids_in_one_value() -> None:
    refs = fs_refs(None, None, [FS_ID + " " + FS_ID.replace("fs1", "fs2")], None)
    assert [r.name for r in refs] == ["fs1", "fs2"]


@pytest.mark.parametrize(("args", "message"), [
    ((None, None, None, "rg"), "which file system?"),
    ((["a", "b"], None, None, "rg"), "one file system name expected"),
    ((["a"], "b", None, "rg"), "two file systems named"),
    ((None, "x", [FS_ID], None), "--ids names the file systems already"),
])
def test_naming_mistakes_are_one_line(args: tuple, message: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_DEFAULTS_GROUP", raising=False)
    with pytest.raises(UsageError, match=message):
        fs_refs(*args)


def test_a_job_needs_its_file_system_and_name() -> None:
    with pytest.raises(UsageError, match="--amlfs-name"):
        job_refs("import", None, "j", None, "rg")
    with pytest.raises(UsageError, match="which import job"):
        job_refs("import", "fs", None, None, "rg")


def test_the_id_messages_name_the_documented_shapes() -> None:
    """Worded by control/refs.py since #18, as the amlfs commands worded them before."""
    with pytest.raises(UsageError) as fs:
        fs_refs(None, None, ["/bad"], None)
    assert str(fs.value) == (
        "'/bad' is not an AMLFS resource id; expected /subscriptions/SUB/resourceGroups/RG/"
        "providers/Microsoft.StorageCache/amlFilesystems/NAME")
    with pytest.raises(UsageError) as job:
        job_refs("auto-export", None, None, [FS_ID + "/importJobs/j"], None)
    assert str(job.value) == (
        f"{FS_ID + '/importJobs/j'!r} is not an auto-export job resource id; expected "
        "/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.StorageCache/amlFilesystems/"
        "FS/autoExportJobs/NAME")
