"""Which AMLFS file system or job a command means, the ways ``az amlfs`` users name them.

A file system: positional ``FILESYSTEM`` or ``-n/--name/--amlfs-name`` with ``-g`` (or the
Azure CLI's default group), or ``--ids`` with resource ids. A job: ``-n/--name`` with
``--amlfs-name`` (``--aml-filesystem-name``, az's) and ``-g``, or ``--ids`` with the job's
resource id, in either of the shapes the service writes (``amlFilesystems`` or lower-case
``amlfilesystems``; ``autoExportJobs`` or the singular ``autoExportJob`` of its ids).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from hpccache_cli.cli.az_refs import _split_ids, group_or_default
from hpccache_cli.errors import UsageError

_FS = (r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.StorageCache/"
       r"amlFilesystems/([^/]+)")
_FS_ID = re.compile(_FS + r"/?$", re.IGNORECASE)
_JOB_ID = re.compile(_FS + r"/(importJobs|autoExportJobs?|autoImportJobs)/([^/]+)/?$",
                     re.IGNORECASE)
_WORD = {"importjobs": "import", "autoexportjobs": "auto-export", "autoexportjob": "auto-export",
         "autoimportjobs": "auto-import"}


@dataclass(frozen=True)
class FsRef:
    """One file system: its group, name and (from a resource id) subscription."""

    resource_group: str
    name: str
    subscription_id: str | None = None

    def args(self) -> str:
        """How to name it again on a command line (for "check with: ..." hints)."""
        return f"--amlfs-name {self.name} -g {self.resource_group}"


@dataclass(frozen=True)
class JobRef:
    fs: FsRef
    word: str  # "import", "auto-export", "auto-import"
    name: str

    def command(self, verb: str) -> str:
        return f"hpccache amlfs {self.word} {verb} -n {self.name} {self.fs.args()}"


def one_fs(name: str, resource_group: str | None) -> FsRef:
    if name.startswith("/"):
        m = _FS_ID.match(name.strip())
        if not m:
            raise UsageError(
                f"{name!r} is not an AMLFS resource id; expected /subscriptions/SUB/"
                "resourceGroups/RG/providers/Microsoft.StorageCache/amlFilesystems/NAME")
        sub, rg, fs = (unquote(p) for p in m.groups())
        return FsRef(rg, fs, sub)
    group = group_or_default(resource_group)
    if not group:
        raise UsageError(
            f"which resource group is file system {name!r} in? pass -g/--resource-group (or "
            "its resource id with --ids, or set the Azure CLI's default: az config set "
            "defaults.group=NAME)")
    return FsRef(group, name)


def fs_refs(positional: list[str] | None, name: str | None, ids: list[str] | None,
            resource_group: str | None) -> list[FsRef]:
    """The file systems a command names: ``--ids`` (one or more), or one name."""
    given = list(positional or [])
    all_ids = _split_ids(ids, given)
    if all_ids:
        if name:
            raise UsageError("--ids names the file systems already; drop -n/--name")
        return [one_fs(i, None) for i in all_ids]
    if name and given and given != [name]:
        raise UsageError(f"two file systems named: {given[0]!r} and -n {name!r}; give the "
                         "name once")
    names = [name] if name else given
    if not names:
        raise UsageError("which file system? give its name with -n/--name (and -g), or --ids "
                         "RESOURCE_ID")
    if len(names) > 1:
        raise UsageError(f"one file system name expected, got {len(names)}: {' '.join(names)}; "
                         "to name several pass their resource ids with --ids")
    return [one_fs(names[0], resource_group)]


def job_refs(word: str, fs_name: str | None, job: str | None, ids: list[str] | None,
             resource_group: str | None, extra: list[str] | None = None) -> list[JobRef]:
    """The jobs a command names: ``--ids`` (job resource ids) or ``-n`` with ``--amlfs-name``."""
    all_ids = _split_ids(ids, list(extra or []))
    if all_ids:
        if job or fs_name:
            raise UsageError("--ids names the jobs already; drop -n and --amlfs-name")
        refs = []
        for rid in all_ids:
            m = _JOB_ID.match(rid.strip())
            if not m or _WORD[m.group(4).lower()] != word:
                raise UsageError(
                    f"{rid!r} is not an {word} job resource id; expected /subscriptions/SUB/"
                    "resourceGroups/RG/providers/Microsoft.StorageCache/amlFilesystems/FS/"
                    f"{_collection(word)}/NAME")
            sub, rg, fs, _, name = (unquote(p) for p in m.groups())
            refs.append(JobRef(FsRef(rg, fs, sub), word, name))
        return refs
    if extra:
        raise UsageError(f"unexpected argument {extra[0]!r}: name the job with -n and the file "
                         "system with --amlfs-name")
    if not fs_name:
        raise UsageError("which file system? pass --amlfs-name (or the job's --ids)")
    if not job:
        raise UsageError(f"which {word} job? pass -n/--name (or --ids with its resource id)")
    return [JobRef(one_fs(fs_name, resource_group), word, job)]


def _collection(word: str) -> str:
    return {"import": "importJobs", "auto-export": "autoExportJobs",
            "auto-import": "autoImportJobs"}[word]
