"""Where the files of ``hpccache amlfs state|export`` are: inputs read, client paths mapped
through the mount table, the file system found in ARM (by name, or by its MGS address), and
its blob container opened.

A leaf of the ``amlfs`` command modules (no Typer): the commands hand it their option values.

Which side is known: a path on a Lustre mount of the mount table is a *client path*: its HSM
state is asked of ``lfs`` and its stat read; any other path, allowed only with ``-n FS``, is a
*file-system path*, whose blob alone is checked (a pipeline agent with no Lustre client).
"""

from __future__ import annotations

import os
import posixpath
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hpccache_cli.errors import AzureError, UsageError

#: Paths one run accepts (each costs memory for its verdict); more is split by the caller.
MAX_PATHS = 5_000_000
CONNECTION_ENV = "AZURE_STORAGE_CONNECTION_STRING"


def read_paths(paths: list[str] | None, from_file: str | None, null: bool) -> list[str]:
    """Paths from arguments, ``--from-file`` or stdin (newline or NUL separated), bounded."""
    from hpccache_cli.flush.inputs import split_records

    if paths and from_file is None:
        return list(paths)
    sep = b"\0" if null else b"\n"
    try:
        if from_file is not None and from_file != "-":
            fh: Any = open(from_file, "rb")  # noqa: SIM115 - closed below
        else:
            fh = sys.stdin.buffer
    except OSError as exc:
        raise UsageError(f"cannot read --from-file {from_file}: {exc.strerror or exc}") from None
    out: list[str] = list(paths or [])
    try:
        chunks = iter(lambda: fh.read(1 << 16), b"")
        for batch in split_records(chunks, sep):
            for raw in batch:
                out.append(os.fsdecode(raw.rstrip(b"\r") if not null else raw))
                if len(out) > MAX_PATHS:
                    raise UsageError(f"more than {MAX_PATHS} paths in one run; split the list")
    finally:
        if fh is not sys.stdin.buffer:
            fh.close()
    return [p for p in out if p]


@dataclass
class FileSystem:
    """The AMLFS the files are on, and its container's client."""

    name: str
    resource_group: str
    container_id: str
    container: Any
    mgs_address: str | None = None


@dataclass
class Where:
    """The run's files, resolved."""

    targets: list[Any]
    fs: FileSystem
    client_side: bool  # at least one client path: the HSM side is asked
    mounts: list[Any] = field(default_factory=list)


def _fs_identity(fs: Any) -> tuple[str | None, str | None]:
    from hpccache_cli.control.amlfs import _raw

    props = _raw(fs).get("properties") or {}
    info = props.get("clientInfo") or {}
    return info.get("mgsAddress"), info.get("mountCommand")


def find_by_mgs(settings: Any, resource_group: str | None, addresses: Iterable[str],
                fsname: str) -> Any:
    """The file system whose ``clientInfo.mgsAddress`` is one of the mount's NIDs (and whose
    mount command names the same file-system name), preferring one with HSM settings."""
    from hpccache_cli.control.amlfs import hsm_container, list_filesystems

    wanted = set(addresses)
    found = []
    for fs in list_filesystems(settings, resource_group):
        mgs, command = _fs_identity(fs)
        if mgs not in wanted:
            continue
        if command and f":/{fsname}" not in command:
            continue
        found.append(fs)
    with_hsm = [f for f in found if hsm_container(f)]
    pick = with_hsm or found
    if len(pick) == 1:
        return pick[0]
    where = f"resource group {resource_group}" if resource_group else "the subscription"
    if not pick:
        raise AzureError(f"no Azure Managed Lustre file system in {where} has the MGS address "
                         f"{', '.join(sorted(wanted))} of this mount; name it with -n FS -g RG")
    names = ", ".join(sorted(f.name for f in pick))
    raise UsageError(f"several file systems in {where} answer at {', '.join(sorted(wanted))} "
                     f"({names}); name one with -n FS -g RG")


def open_container(settings: Any, fs: Any, resource_group: str,
                   connection_string: str | None) -> FileSystem:
    from hpccache_cli.control.amlfs import require_hsm
    from hpccache_cli.control.client import make_credential
    from hpccache_cli.lustre.blobs import container_client, container_from_resource_id

    container_id = require_hsm(fs, resource_group, "be checked against Blob")
    parsed = container_from_resource_id(container_id)
    if parsed is None:
        raise AzureError(f"file system {fs.name!r} names its container as {container_id!r}, "
                         "which is not a storage container resource id")
    account, container = parsed
    conn = connection_string or os.environ.get(CONNECTION_ENV) or None
    credential = None if conn else make_credential(settings)
    try:
        client = container_client(account, container, connection_string=conn,
                                  credential=credential)
    except ValueError as exc:
        raise UsageError(f"the blob connection string (--connection-string or {CONNECTION_ENV})"
                         f" cannot be used: {' '.join(str(exc).split())[:200]}") from None
    mgs, _ = _fs_identity(fs)
    return FileSystem(fs.name, resource_group, container_id, client, mgs)


def resolve(paths: list[str], *, name: str | None, resource_group: str | None,
            mountinfo: str | None, settings_of: Any, connection_string: str | None) -> Where:
    """Targets for ``paths``, the file system, and its container."""
    from hpccache_cli.cli.az_refs import group_or_default
    from hpccache_cli.control.amlfs import get_filesystem
    from hpccache_cli.control.resolve import resource_group_of
    from hpccache_cli.lustre.mounts import LustreMounts
    from hpccache_cli.lustre.state import Target
    from hpccache_cli.paths.mountinfo import MountTable, normpath

    if not paths:
        raise UsageError("no paths given (as arguments, with --from-file, or on stdin)")
    group = group_or_default(resource_group)
    table = LustreMounts(MountTable.load(mountinfo)) if (mountinfo or not name or any(
        p.startswith("/") for p in paths)) else None
    targets: list[Target] = []
    mounts = []
    for p in paths:
        if "\0" in p:
            raise UsageError("a path holds a NUL byte; separate paths with -0 instead")
        absolute = normpath(os.path.abspath(p)) if not name or not p.startswith("/") else \
            normpath(p)
        mount = table.find(absolute) if table is not None else None
        if mount is None and name is None:
            assert table is not None
            table.require(absolute)  # raises the one-line error
        if mount is not None:
            targets.append(Target(p, mount.fs_path(absolute), absolute, mount))
            if mount not in mounts:
                mounts.append(mount)
        else:
            if not p.startswith("/"):
                raise UsageError(f"{p!r}: with -n FS, a path not on a Lustre mount is a path in "
                                 "the file system and must be absolute, such as /results/a.txt")
            targets.append(Target(p, posixpath.normpath(p)))
    if len({(m.fsname, m.mgs_nids) for m in mounts}) > 1:
        raise UsageError("the paths are on more than one Lustre file system; check one file "
                         "system per run")
    settings = settings_of(None)
    if name:
        if not group:
            raise UsageError("-n FS needs the resource group too: -g RG (or az's "
                             "defaults.group)")
        fs = get_filesystem(settings, group, name)
    else:
        m = mounts[0]
        fs = find_by_mgs(settings, group, m.mgs_addresses, m.fsname)
        group = resource_group_of(fs.id)
    assert group is not None
    opened = open_container(settings, fs, group, connection_string)
    return Where(targets, opened, bool(mounts), mounts)


def expand(where: Where, recursive: bool) -> Iterator[Any]:
    """The targets, directories walked with ``-r`` (client tree, or the container's blobs)."""
    from hpccache_cli.lustre.state import Target, walk_blobs, walk_client

    for t in where.targets:
        if t.client_path is not None and os.path.isdir(t.client_path):
            if not recursive:
                raise UsageError(f"{t.path} is a directory; add -r to check the files under it")
            for cp in walk_client(t.client_path):
                yield Target(cp, t.mount.fs_path(cp), cp, t.mount)
        elif t.client_path is None and recursive:
            under = list(walk_blobs(where.fs.container, t.fs_path))
            yield from (Target(fp, fp) for fp in under) if under else (t,)
        else:
            yield t


def unique(targets: Iterable[Any]) -> list[Any]:
    """Each file once (the first naming kept): a file named twice is judged and archived once."""
    seen: set[str] = set()
    out = []
    for t in targets:
        key = t.client_path or t.fs_path
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out
