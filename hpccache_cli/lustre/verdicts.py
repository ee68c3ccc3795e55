"""One verdict per file, joined from its HSM state and its blob.

Why a join and not either side alone: HSM flags say what Lustre *believes* (``archived``, not
``dirty``), the container says what *is* there. A file is "in Blob and current" only when
both agree: archived and clean, and a blob at its path whose size and copytool ``modtime``
match the file. Each disagreement has its own name, because each has its own fix:

- ``dirty``: changed since its archive; the blob holds the older content (archive it);
- ``never-archived``: no copy at all (archive it);
- ``archive-running``: an ``ARCHIVE`` request is waiting or running (wait);
- ``released``: the data is only in Blob (safe; a read restores it);
- ``lost``: the HSM copy is marked lost (``lost_from_hsm``);
- ``renamed``: archived, no blob at its path, but a blob of its size and time at a path where
  no file is any more: renamed since its archive, which an archive does not carry (restores
  read the old blob);
- ``metadata-changed``: content current, but owner, group, mode or time differ from the blob's
  metadata: metadata-only changes are not exported;
- ``no-blob``: archived (or released!) but no blob: a broken promise, said loudly;
- ``blob-mismatch``: archived and clean but the blob's size differs: a broken promise too;
- without a Lustre client only the Blob side is known: ``in-blob-unverified`` and
  ``no-blob-unverified`` say so rather than guess.
"""

from __future__ import annotations

import os
import posixpath
import stat as stat_mod
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from hpccache_cli.lustre.blobs import BlobInfo, DirListing
from hpccache_cli.lustre.hsm_state import (
    ARCHIVED,
    DIRTY,
    EXISTS,
    LOST,
    NOARCHIVE,
    RELEASED,
    Failed,
    HsmAction,
    HsmState,
)


class Verdict(str, Enum):
    CURRENT = "current"
    DIRTY = "dirty"
    NEVER_ARCHIVED = "never-archived"
    ARCHIVE_RUNNING = "archive-running"
    RELEASED = "released"
    LOST = "lost"
    RENAMED = "renamed"
    METADATA_CHANGED = "metadata-changed"
    NO_BLOB = "no-blob"
    BLOB_MISMATCH = "blob-mismatch"
    IN_BLOB_UNVERIFIED = "in-blob-unverified"
    NO_BLOB_UNVERIFIED = "no-blob-unverified"
    ERROR = "error"


#: Words for tables and summaries.
TEXT = {
    Verdict.CURRENT: "in Blob and current",
    Verdict.DIRTY: "dirty (changed since its archive)",
    Verdict.NEVER_ARCHIVED: "never archived",
    Verdict.ARCHIVE_RUNNING: "archive running",
    Verdict.RELEASED: "released (data only in Blob)",
    Verdict.LOST: "lost (HSM copy marked lost)",
    Verdict.RENAMED: "renamed since its archive (blob at the old path)",
    Verdict.METADATA_CHANGED: "metadata changed since archive (will not be exported)",
    Verdict.NO_BLOB: "NO BLOB ALTHOUGH ARCHIVED (broken promise)",
    Verdict.BLOB_MISMATCH: "BLOB DIFFERS ALTHOUGH ARCHIVED AND CLEAN (broken promise)",
    Verdict.IN_BLOB_UNVERIFIED: "in Blob; Lustre side unknown (no Lustre client)",
    Verdict.NO_BLOB_UNVERIFIED: "no blob; Lustre side unknown (no Lustre client)",
    Verdict.ERROR: "error",
}
#: Verdicts whose data is safely in Blob as it is now (exit 0 when all files have one).
SAFE = {Verdict.CURRENT, Verdict.RELEASED, Verdict.IN_BLOB_UNVERIFIED}
#: Verdicts an archive (``lfs hsm_archive``) would fix.
ARCHIVABLE = {Verdict.DIRTY, Verdict.NEVER_ARCHIVED, Verdict.NO_BLOB, Verdict.BLOB_MISMATCH}
#: Broken promises: Lustre says archived, the container disagrees.
LOUD = {Verdict.NO_BLOB, Verdict.BLOB_MISMATCH}


@dataclass(frozen=True, slots=True)
class LocalFile:
    """What ``stat`` says of the file on the client."""

    size: int
    mtime: int  # whole seconds (the copytool's modtime has no fraction)
    uid: int
    gid: int
    mode: int  # permission bits

    @classmethod
    def of(cls, st: os.stat_result) -> LocalFile:
        return cls(st.st_size, int(st.st_mtime), st.st_uid, st.st_gid,
                   stat_mod.S_IMODE(st.st_mode))


@dataclass(frozen=True, slots=True)
class FileVerdict:
    """One file's answer, with the facts it rests on."""

    path: str  # as the user named it
    fs_path: str
    blob_name: str
    verdict: Verdict
    detail: str = ""
    hsm: HsmState | None = None
    blob: BlobInfo | None = None
    old_blob: str | None = None  # renamed: where the blob is

    @property
    def safe(self) -> bool:
        return self.verdict in SAFE

    def to_json(self) -> dict[str, object]:
        """az-style (camelCase) record: the same keys every time, null when not known."""
        b = self.blob
        return {
            "path": self.path, "filesystemPath": self.fs_path, "blobName": self.blob_name,
            "verdict": self.verdict.value, "description": TEXT[self.verdict],
            "detail": self.detail or None,
            "hsmFlags": self.hsm.hex if self.hsm else None,
            "hsmState": self.hsm.words if self.hsm else None,
            "archiveId": self.hsm.archive_id if self.hsm else None,
            "blobSize": b.size if b else None,
            "blobLastModified": b.last_modified if b else None,
            "blobModtime": b.metadata.get("modtime") if b else None,
            "oldBlobName": self.old_blob, "current": self.safe,
        }


def metadata_differences(local: LocalFile, blob: BlobInfo) -> list[str]:
    """What of owner/group/permissions/modtime differs between the file and the blob."""
    meta = blob.metadata
    out = []
    if meta.get("owner") is not None and meta.get("owner") != str(local.uid):
        out.append(f"owner {meta.get('owner')} -> {local.uid}")
    if meta.get("group") is not None and meta.get("group") != str(local.gid):
        out.append(f"group {meta.get('group')} -> {local.gid}")
    perms = meta.get("permissions")
    if perms is not None and perms != f"{local.mode:04o}":
        out.append(f"permissions {perms} -> {local.mode:04o}")
    if blob.modtime is not None and blob.modtime != local.mtime:
        out.append("modtime")
    return out


def rename_candidate(local: LocalFile, listing: DirListing, own: str,
                     exists: Callable[[str], bool] | None) -> str | None:
    """A blob of the same directory with this file's size and modtime, at a path where no
    file is any more: where the file was when it was archived."""
    if exists is None:
        return None
    for name, blob in listing.blobs.items():
        if name == own or blob.is_folder or blob.size != local.size:
            continue
        if blob.modtime != local.mtime:
            continue
        if not exists(name):
            return name
    return None


def judge(path: str, fs_path: str, blob_name: str, *, local: LocalFile | None,
          hsm: HsmState | Failed | None, action: HsmAction | Failed | None,
          listing: DirListing, exists: Callable[[str], bool] | None = None) -> FileVerdict:
    """The verdict of one file. ``hsm`` None means no Lustre client (Blob side only)."""
    blob = listing.blobs.get(blob_name)

    def v(verdict: Verdict, detail: str = "", old: str | None = None) -> FileVerdict:
        state = hsm if isinstance(hsm, HsmState) else None
        return FileVerdict(path, fs_path, blob_name, verdict, detail, state, blob, old)

    if listing.error:
        return v(Verdict.ERROR, f"cannot list blobs under {listing.prefix or '/'}: "
                 f"{listing.error}")
    if blob is None and listing.truncated:
        return v(Verdict.ERROR, f"more than the listing bound of blobs under "
                 f"{listing.prefix or '/'}; this file's blob was not seen")
    if hsm is None:
        return v(Verdict.IN_BLOB_UNVERIFIED if blob is not None else Verdict.NO_BLOB_UNVERIFIED)
    if isinstance(hsm, Failed):
        return v(Verdict.ERROR, hsm.reason)
    if local is None:
        return v(Verdict.ERROR, "the file cannot be read on the client (stat failed)")
    running = isinstance(action, HsmAction) and action.pending_archive
    run_detail = (f"{action.action} {action.state} ({action.detail})"
                  if isinstance(action, HsmAction) else "")
    if hsm.has(LOST):
        return v(Verdict.LOST, "lfs hsm_state says lost_from_hsm")
    if hsm.has(RELEASED):
        if blob is None:
            return v(Verdict.NO_BLOB, "released: its data is only in Blob, and the blob at "
                     f"{blob_name} is missing")
        return v(Verdict.RELEASED)
    if running:
        return v(Verdict.ARCHIVE_RUNNING, run_detail)
    if not hsm.has(ARCHIVED):
        if hsm.has(EXISTS):
            return v(Verdict.DIRTY, "an older copy exists in Blob; the file is not archived")
        why = "never_archive is set" if hsm.has(NOARCHIVE) else ""
        return v(Verdict.NEVER_ARCHIVED, why)
    if hsm.has(DIRTY):
        return v(Verdict.DIRTY)
    if blob is None:
        old = rename_candidate(local, listing, blob_name, exists)
        if old is not None:
            return v(Verdict.RENAMED, f"the blob is at {old}; an archive will not move it",
                     old)
        return v(Verdict.NO_BLOB, f"Lustre says archived, but there is no blob {blob_name}")
    if blob.size != local.size:
        return v(Verdict.BLOB_MISMATCH, f"blob holds {blob.size} bytes, the file {local.size}")
    diffs = metadata_differences(local, blob)
    if diffs:
        return v(Verdict.METADATA_CHANGED, ", ".join(diffs))
    return v(Verdict.CURRENT)


def directory_of(blob_name: str) -> str:
    return posixpath.dirname(blob_name)
