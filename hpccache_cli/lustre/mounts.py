"""Client paths on a Lustre mount -> file-system paths -> blob names, and back.

Facts: a Lustre client mount shows in ``/proc/self/mountinfo`` as type ``lustre`` with the
source ``MGS_NID[:MGS_NID...]:/FSNAME[/SUBDIR]`` (``10.0.0.4@tcp:/lustrefs``; a subdirectory
mount, a "fileset", adds its path). AMLFS's ARM ``clientInfo.mgsAddress`` is the NID's
address. The HSM copytool names a file's blob by its path under the file system root.

Why here and not in ``paths/``: the HPC Cache translation there is about junctions and NFS
exports; Lustre has neither, only a mount point, a file-system name and an optional fileset.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from hpccache_cli.errors import UsageError
from hpccache_cli.paths.mountinfo import MountTable

LUSTRE_FSTYPES = {"lustre"}
_SOURCE = re.compile(r"^(?P<nids>[^/]+?):/(?P<fsname>[A-Za-z0-9_-]{1,8})(?P<fileset>/.*)?$")


@dataclass(frozen=True, slots=True)
class LustreMount:
    """One Lustre client mount: where it is, which file system, which part of it."""

    mount_point: str
    fsname: str
    mgs_nids: tuple[str, ...]
    fileset: str = "/"  # the file-system path visible at the mount point

    @property
    def mgs_addresses(self) -> tuple[str, ...]:
        """The NIDs' addresses (``10.0.0.4@tcp`` -> ``10.0.0.4``)."""
        return tuple(n.split("@", 1)[0] for n in self.mgs_nids)

    def fs_path(self, client_path: str) -> str:
        """The file-system path of a normalised absolute client path under this mount."""
        rel = posixpath.relpath(client_path, self.mount_point)
        if rel == ".":
            return self.fileset
        return posixpath.normpath(posixpath.join(self.fileset, rel))

    def client_path(self, fs_path: str) -> str | None:
        """The client path of a file-system path, or None if it is outside the fileset."""
        fs_path = posixpath.normpath("/" + fs_path.lstrip("/"))
        if self.fileset != "/" and not (fs_path == self.fileset
                                        or fs_path.startswith(self.fileset + "/")):
            return None
        rel = posixpath.relpath(fs_path, self.fileset)
        return self.mount_point if rel == "." else posixpath.join(self.mount_point, rel)


def parse_source(source: str, mount_point: str) -> LustreMount | None:
    """A Lustre mount's source, parsed; None when it is not ``NIDS:/FSNAME[/SUBDIR]``."""
    m = _SOURCE.match(source)
    if m is None:
        return None
    nids = tuple(n for n in re.split(r"[:,]", m.group("nids")) if n)
    fileset = posixpath.normpath(m.group("fileset") or "/")
    return LustreMount(mount_point, m.group("fsname"), nids, fileset)


def blob_name(fs_path: str) -> str:
    """The copytool's blob name for a file-system path (no leading slash)."""
    return posixpath.normpath("/" + fs_path.lstrip("/")).lstrip("/")


def fs_path_of_blob(name: str) -> str:
    return "/" + name.strip("/")


class LustreMounts:
    """The Lustre mounts of a mount table; answers which one holds a client path."""

    def __init__(self, table: MountTable) -> None:
        self.table = table
        self.source = table.source

    def find(self, client_path: str) -> LustreMount | None:
        mount = self.table.find(client_path)
        if mount is None or mount.fstype not in LUSTRE_FSTYPES:
            return None
        return parse_source(mount.source, mount.mount_point)

    def require(self, client_path: str) -> LustreMount:
        found = self.find(client_path)
        if found is None:
            mount = self.table.find(client_path)
            what = (f"on a {mount.fstype} mount at {mount.mount_point}" if mount is not None
                    else "on no mount")
            raise UsageError(f"{client_path} is {what}, not on a Lustre mount (mount table "
                             f"{self.source}); name file-system paths with -n FS -g RG instead")
        return found

    def all(self) -> list[LustreMount]:
        out = []
        for m in self.table.mounts:
            if m.fstype in LUSTRE_FSTYPES:
                parsed = parse_source(m.source, m.mount_point)
                if parsed is not None:
                    out.append(parsed)
        return out
