"""``hpccache path`` on Lustre mounts: client path <-> file-system path <-> blob URL.

Kept beside ``path_cmd`` (which calls it in two places) so the HPC Cache parts stay as they
are. A client path on a ``lustre`` mount of the mount table has a file-system path (the
mount's fileset joined with the path under the mount point) without any network call; its
blob URL needs the file system's container, found in Azure by the mount's MGS address with
``--discover`` (or ``--cache NAME`` naming the AMLFS). The records keep ``hpccache path``'s
keys: ``kind`` is ``lustre``, ``namespace_path`` the file-system path, ``cache_address`` the
MGS address, ``cache`` the file system, ``storage_target`` its container, ``target_type``
``amlfs-hsm`` and ``backend_path`` the blob URL. ``--to-local`` takes file-system paths or blob
URLs back to the client paths of every Lustre mount that shows them.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any
from urllib.parse import unquote, urlsplit

from hpccache_cli.lustre.mounts import LustreMount, LustreMounts, blob_name

CONNECTION_ENV = "AZURE_STORAGE_CONNECTION_STRING"


def _endpoint(account: str) -> str:
    """The account's blob endpoint: the connection string's (Azurite, a sovereign cloud), else
    the public cloud's."""
    conn = os.environ.get(CONNECTION_ENV, "")
    for part in conn.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "blobendpoint" and value:
            return value.rstrip("/")
    return f"https://{account}.blob.core.windows.net"


class FsFinder:
    """The AMLFS of a mount (by MGS address), asked of Azure once per mount."""

    def __init__(self, az: Any, name: str | None, resource_group: str | None) -> None:
        self.az = az
        self.name = name
        self.group = resource_group
        self._found: dict[tuple[str, ...], tuple[str, str, str] | str] = {}

    def __call__(self, mount: LustreMount) -> tuple[str, str, str] | str:
        """(file system, container, container URL) or why not."""
        key = mount.mgs_nids
        if key not in self._found:
            self._found[key] = self._find(mount)
        return self._found[key]

    def _find(self, mount: LustreMount) -> tuple[str, str, str] | str:
        from hpccache_cli.cli.amlfs_where import find_by_mgs
        from hpccache_cli.control.amlfs import get_filesystem, hsm_container
        from hpccache_cli.errors import UserError
        from hpccache_cli.lustre.blobs import container_from_resource_id

        settings = self.az.settings()
        try:
            fs = (get_filesystem(settings, self.group, self.name) if self.name and self.group
                  else find_by_mgs(settings, self.group, mount.mgs_addresses, mount.fsname))
        except UserError as exc:
            return str(exc)
        parsed = container_from_resource_id(hsm_container(fs) or "")
        if parsed is None:
            return f"file system {fs.name} has no blob container (no HSM settings)"
        account, container = parsed
        return fs.name, container, f"{_endpoint(account)}/{container}"


def path_records(translations: list[Any], records: list[dict[str, Any]], table: Any,
                 finder: FsFinder | None) -> list[dict[str, Any]]:
    """``records`` with those of paths on Lustre mounts replaced by Lustre records."""
    mounts = LustreMounts(table)
    out = []
    for t, rec in zip(translations, records, strict=True):
        client = t.client_path
        mount = mounts.find(client) if client else None
        if mount is None:
            out.append(rec)
            continue
        fs_path = mount.fs_path(client)
        new = dict.fromkeys(rec)
        new.update(input=t.input, kind="lustre", client_path=client,
                   exists_locally=t.exists_locally, mount_point=mount.mount_point,
                   mount_source=f"{':'.join(mount.mgs_nids)}:/{mount.fsname}"
                   + ("" if mount.fileset == "/" else mount.fileset),
                   cache_address=mount.mgs_addresses[0], namespace_path=fs_path,
                   target_type="amlfs-hsm", error=None)
        if finder is None:
            new["note"] = ("file-system path from the mount table; the blob URL needs "
                           "--discover (the file system is found in Azure by its MGS address)")
        else:
            found = finder(mount)
            if isinstance(found, str):
                new["error"] = found
            else:
                name, container, url = found
                new.update(cache=name, storage_target=container,
                           backend_path=f"{url}/{blob_name(fs_path)}")
        out.append(new)
    return out


def fs_path_of(text: str) -> str:
    """A ``--to-local`` input as a file-system path: a blob URL's name after its container
    (``https://acct.blob.core.windows.net/CONTAINER/a/b`` or Azurite's
    ``http://127.0.0.1:P/ACCOUNT/CONTAINER/a/b``), else the path itself."""
    if not text.startswith(("https://", "http://")):
        return posixpath.normpath("/" + text.lstrip("/"))
    parts = [unquote(p) for p in urlsplit(text).path.split("/") if p]
    host = urlsplit(text).hostname or ""
    skip = 2 if host.startswith("127.") or host in ("localhost", "::1") else 1  # account/container
    return "/" + "/".join(parts[skip:])


def add_local_matches(records: list[dict[str, Any]], table: Any) -> None:
    """``--to-local``: the client paths where each file-system path shows on a Lustre mount."""
    mounts = LustreMounts(table).all()
    if not mounts:
        return
    for rec in records:
        fs_path = fs_path_of(rec["input"])
        for m in mounts:
            cp = m.client_path(fs_path)
            if cp is None or cp in rec["local_paths"]:
                continue
            rec["local_paths"].append(cp)
            rec["matches"].append({"client_path": cp, "mount_point": m.mount_point,
                                   "mount_source": f"{':'.join(m.mgs_nids)}:/{m.fsname}",
                                   "cache_address": m.mgs_addresses[0]})
            rec["namespace_path"] = fs_path
            rec["error"] = None
