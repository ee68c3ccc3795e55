"""The HSM data moves of the emulated AMLFS: namespace -> blobs (archive, export) and
blobs -> namespace (import), through ``azure-storage-blob`` against Azurite.

Why these exact shapes: they are what the Azure HSM copytool writes, so a tool reading the
container after a real AMLFS archive reads ours the same way. A file becomes the blob named by
its path under the file system root; a directory an empty blob with ``hdi_isfolder=true``;
both carry ``owner``, ``group`` (numeric ids), ``permissions`` (``%04o``) and ``modtime``
(Go's ``2006-01-02 15:04:05 -0700`` layout). An import creates *released* stubs: the file
exists with its size, mode and time, its bytes stay in the blob (the emulator keeps that
state; a later ``hsm_restore`` is part 2).

Everything read from the container is bounded: names are checked (no ``..``, no absolute
paths, at most :data:`MAX_NAME` characters) and a walk stops at :data:`MAX_ITEMS`.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MODTIME_LAYOUT = "%Y-%m-%d %H:%M:%S %z"  # Go's 2006-01-02 15:04:05 -0700
MAX_ITEMS = 1_000_000
MAX_NAME = 1024


@dataclass(frozen=True)
class Item:
    """One thing to move: a path relative to the root, and whether it is a directory."""

    rel: str
    is_dir: bool
    size: int = 0
    mtime_ns: int = 0


def modtime(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime(MODTIME_LAYOUT)


def metadata_of(st: os.stat_result, is_dir: bool) -> dict[str, str]:
    meta = {
        "owner": str(st.st_uid),
        "group": str(st.st_gid),
        "permissions": f"{stat.S_IMODE(st.st_mode):04o}",
        "modtime": modtime(st.st_mtime),
    }
    if is_dir:
        meta["hdi_isfolder"] = "true"
    return meta


def under(rel: str, prefix: str) -> bool:
    """``rel`` (no leading slash) is at or below ``prefix`` ("/" = everything)."""
    p = prefix.strip("/")
    return not p or rel == p or rel.startswith(p + "/")


def walk_namespace(root: Path, prefix: str) -> Iterator[Item]:
    """Every directory and regular file under ``prefix`` (symlinks and others are skipped),
    parents before children; bounded by :data:`MAX_ITEMS`."""
    start = root / prefix.strip("/")
    if not start.exists():
        return
    count = 0
    for dirpath, dirnames, filenames in os.walk(start):
        dirnames.sort()
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        if rel_dir != ".":
            st = here.lstat()
            yield Item(rel_dir, True, 0, st.st_mtime_ns)
            count += 1
        for name in sorted(filenames):
            path = here / name
            st = path.lstat()
            if not stat.S_ISREG(st.st_mode):
                continue
            yield Item(path.relative_to(root).as_posix(), False, st.st_size, st.st_mtime_ns)
            count += 1
            if count >= MAX_ITEMS:
                return


def upload(container: Any, root: Path, item: Item) -> None:
    """Copy one item into the container, as the copytool names and labels it."""
    path = root / item.rel
    st = path.lstat()
    meta = metadata_of(st, item.is_dir)
    if item.is_dir:
        container.upload_blob(item.rel, b"", overwrite=True, metadata=meta)
        return
    with open(path, "rb") as fh:
        container.upload_blob(item.rel, fh, length=st.st_size, overwrite=True, metadata=meta)


@dataclass(frozen=True)
class BlobEntry:
    """What an import needs of one blob."""

    name: str
    size: int
    is_dir: bool
    metadata: dict[str, str]


def safe_name(name: str) -> str | None:
    """The blob name as a relative path, or None if it could escape the root or is absurd."""
    if not name or len(name) > MAX_NAME or "\x00" in name:
        return None
    parts = [p for p in name.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        return None
    return "/".join(parts)


def walk_blobs(container: Any, prefix: str) -> Iterator[BlobEntry]:
    """The container's blobs under ``prefix`` (bounded)."""
    start = prefix.strip("/")
    blobs = container.list_blobs(name_starts_with=start or None, include=["metadata"])
    for count, blob in enumerate(blobs, 1):
        meta = dict(blob.metadata or {})
        is_dir = str(meta.get("hdi_isfolder", "")).lower() == "true"
        yield BlobEntry(blob.name, int(blob.size or 0), is_dir, meta)
        if count >= MAX_ITEMS:
            return


def parse_modtime(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, MODTIME_LAYOUT).timestamp()
    except ValueError:
        return None


def make_stub(root: Path, rel: str, entry: BlobEntry) -> None:
    """A released file: right size (sparse), mode and time; its bytes stay in the blob."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    with open(path, "wb") as fh:
        fh.truncate(entry.size)
    _apply_meta(path, entry.metadata)


def make_dir(root: Path, rel: str, entry: BlobEntry) -> None:
    path = root / rel
    if path.exists() and not path.is_dir():
        path.unlink()
    path.mkdir(parents=True, exist_ok=True)
    _apply_meta(path, entry.metadata)


def _apply_meta(path: Path, meta: dict[str, str]) -> None:
    perms = meta.get("permissions")
    if perms and len(perms) <= 6:
        with contextlib.suppress(ValueError):
            path.chmod(int(perms, 8) & 0o7777)
    when = parse_modtime(meta.get("modtime"))
    if when is not None:
        os.utime(path, (when, when))
