"""Which AMLFS file system or job a command means, the ways ``az amlfs`` users name them.

A file system: positional ``FILESYSTEM`` or ``-n/--name/--amlfs-name`` with ``-g`` (or the
Azure CLI's default group), or ``--ids`` with resource ids. A job: ``-n/--name`` with
``--amlfs-name`` (``--aml-filesystem-name``, az's) and ``-g``, or ``--ids`` with the job's
resource id. The id shapes and their messages are :mod:`hpccache_cli.control.refs`'s (one
:class:`ResourceType` each); only the service's quirks live here: job ids under lower-case
``amlfilesystems`` (ids match case-insensitively) and ``autoExportJob``, singular.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpccache_cli.cli.az_refs import _split_ids, group_or_default
from hpccache_cli.control.refs import ResourceRef, ResourceType, parse_id
from hpccache_cli.errors import UsageError

_PROVIDER = "Microsoft.StorageCache"
AML_FILESYSTEM = ResourceType(_PROVIDER, ("amlFilesystems",), "AMLFS")
#: The job types by the word of their command group (``hpccache amlfs import ...``).
JOB_TYPES = {
    word: ResourceType(_PROVIDER, ("amlFilesystems", collection), f"{word} job", ("FS", "NAME"))
    for word, collection in (("import", "importJobs"), ("auto-export", "autoExportJobs"),
                             ("auto-import", "autoImportJobs"))
}
#: Other spellings the service writes in its job ids (parsed, never shown in a message).
_ALSO = {"auto-export": ResourceType(_PROVIDER, ("amlFilesystems", "autoExportJob"),
                                     "auto-export job", ("FS", "NAME"))}


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
        ref = parse_id(name, AML_FILESYSTEM)
        return FsRef(ref.resource_group, ref.name, ref.subscription_id)
    group = group_or_default(resource_group)
    if not group:
        # Not control.refs.require_group's wording: this one points at --ids, which is how
        # amlfs commands take an id (pinned by the CLI tests; kept as users see it).
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


def parse_job_id(resource_id: str, word: str) -> JobRef:
    """A ``word`` job's resource id, in any shape the service writes; else the one line of
    :func:`~hpccache_cli.control.refs.parse_id` naming the documented shape."""
    rtype = JOB_TYPES[word]
    also = _ALSO.get(word)
    if also is not None and also.pattern().match(resource_id.strip()):
        rtype = also
    return _job(parse_id(resource_id, rtype), word)


def _job(ref: ResourceRef, word: str) -> JobRef:
    fs, name = ref.names
    return JobRef(FsRef(ref.resource_group, fs, ref.subscription_id), word, name)


def job_refs(word: str, fs_name: str | None, job: str | None, ids: list[str] | None,
             resource_group: str | None, extra: list[str] | None = None) -> list[JobRef]:
    """The jobs a command names: ``--ids`` (job resource ids) or ``-n`` with ``--amlfs-name``."""
    all_ids = _split_ids(ids, list(extra or []))
    if all_ids:
        if job or fs_name:
            raise UsageError("--ids names the jobs already; drop -n and --amlfs-name")
        return [parse_job_id(rid, word) for rid in all_ids]
    if extra:
        raise UsageError(f"unexpected argument {extra[0]!r}: name the job with -n and the file "
                         "system with --amlfs-name")
    if not fs_name:
        raise UsageError("which file system? pass --amlfs-name (or the job's --ids)")
    if not job:
        raise UsageError(f"which {word} job? pass -n/--name (or --ids with its resource id)")
    return [JobRef(one_fs(fs_name, resource_group), word, job)]
