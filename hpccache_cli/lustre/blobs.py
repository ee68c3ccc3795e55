"""The Blob side: what the container holds for each file, listed per directory.

Why per directory and not one HEAD per file: a listing of one directory prefix with
``include=metadata`` returns up to 5,000 blobs per page, each with its size, last-modified
and the copytool's metadata (``owner``, ``group``, ``permissions`` as ``%04o``, ``modtime``
as Go's ``2006-01-02 15:04:05 -0700``; folders carry ``hdi_isfolder=true``). Files of one
directory cost one request per 5,000 blobs instead of one request each. The listing uses the
``/`` delimiter, so a directory's subtrees are not read.

Everything from the service is bounded: at most :data:`MAX_PER_DIR` blobs per directory
(beyond that the directory is marked truncated and its unlisted files are said so, not
guessed), names longer than :data:`MAX_NAME` are ignored.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PAGE = 5000
MAX_PER_DIR = 1_000_000
MAX_NAME = 1024
MODTIME_LAYOUT = "%Y-%m-%d %H:%M:%S %z"


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """One blob as the verdicts need it."""

    name: str
    size: int
    last_modified: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_folder(self) -> bool:
        return str(self.metadata.get("hdi_isfolder", "")).lower() == "true"

    @property
    def modtime(self) -> int | None:
        """The copytool's ``modtime`` as whole epoch seconds, or None."""
        return parse_modtime(self.metadata.get("modtime"))


def parse_modtime(text: str | None) -> int | None:
    if not text or len(text) > 64:
        return None
    try:
        return int(datetime.strptime(text.strip(), MODTIME_LAYOUT).timestamp())
    except ValueError:
        return None


@dataclass
class DirListing:
    """The blobs directly in one directory prefix."""

    prefix: str
    blobs: dict[str, BlobInfo] = field(default_factory=dict)
    truncated: bool = False
    error: str | None = None


def _dir_prefix(directory: str) -> str:
    d = directory.strip("/")
    return d + "/" if d else ""


def list_directory(container: Any, directory: str, page: int = PAGE,
                   limit: int = MAX_PER_DIR) -> DirListing:
    """One directory's blobs (``walk_blobs`` with ``/``, metadata included)."""
    prefix = _dir_prefix(directory)
    out = DirListing(prefix)
    try:
        pages = container.walk_blobs(name_starts_with=prefix or None, include=["metadata"],
                                     delimiter="/", results_per_page=page)
        for item in pages:
            name = getattr(item, "name", None)
            if not isinstance(name, str) or len(name) > MAX_NAME:
                continue
            if not hasattr(item, "size"):  # a BlobPrefix: a subdirectory, not a blob
                continue
            if len(out.blobs) >= limit:
                out.truncated = True
                break
            lm = getattr(item, "last_modified", None)
            out.blobs[name] = BlobInfo(name, int(item.size or 0),
                                       lm.isoformat() if lm is not None else None,
                                       dict(item.metadata or {}))
    except Exception as exc:  # noqa: BLE001 - any service failure is this directory's reason
        out.error = " ".join(str(exc).split())[:300] or type(exc).__name__
    return out


def list_tree(container: Any, directory: str, wanted: set[str], limit: int,
              page: int = PAGE) -> dict[str, DirListing] | None:
    """One recursive listing under ``directory``, split into the ``wanted`` directories'
    listings; None when it would read more than ``limit`` blobs (then per-directory listings
    are cheaper) or the service failed (the per-directory listings will say how)."""
    prefix = _dir_prefix(directory)
    out = {d: DirListing(_dir_prefix(d)) for d in wanted}
    try:
        for count, item in enumerate(container.list_blobs(
                name_starts_with=prefix or None, include=["metadata"],
                results_per_page=page), 1):
            if count > limit:
                return None
            name = item.name
            if not isinstance(name, str) or len(name) > MAX_NAME:
                continue
            listing = out.get(posixpath.dirname(name))
            if listing is None:
                continue
            lm = getattr(item, "last_modified", None)
            listing.blobs[name] = BlobInfo(name, int(item.size or 0),
                                           lm.isoformat() if lm is not None else None,
                                           dict(item.metadata or {}))
    except Exception:  # noqa: BLE001 - retried per directory, which names the failure
        return None
    return out


def container_from_resource_id(resource_id: str) -> tuple[str, str] | None:
    """(account, container) of an ARM container id
    ``/subscriptions/../storageAccounts/ACCOUNT/blobServices/default/containers/NAME``."""
    parts = resource_id.strip("/").split("/")
    lower = [p.lower() for p in parts]
    try:
        account = parts[lower.index("storageaccounts") + 1]
        container = parts[lower.index("containers") + 1]
    except (ValueError, IndexError):
        return None
    return account, container


def container_client(account: str, container: str, *, connection_string: str | None,
                     credential: Any = None, suffix: str = "blob.core.windows.net") -> Any:
    """A ContainerClient: from a connection string (Azurite, a key) or Entra ID (the ARM
    credential; needs Storage Blob Data Reader on the account)."""
    from azure.storage.blob import ContainerClient

    if connection_string:
        return ContainerClient.from_connection_string(connection_string, container)
    return ContainerClient(f"https://{account}.{suffix}", container, credential=credential)
