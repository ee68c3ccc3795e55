"""AMLFS blob-integration jobs (import, auto-export, auto-import) through the real SDK.

Create and delete are long-running operations, and a create's operation ends when the job has
*started*: :func:`create_job` follows the operation (bounded, with hpccache's own polling that
keeps status URLs on the ARM host) and returns the started job; following the job to its end
is :mod:`hpccache_cli.control.aml_wait`'s business. Before creating, the one-job-per-file-system
rule is checked so a refusal names the job that holds the slot; with ``queue=True`` the call
waits (bounded, one round of reads per poll interval) until that job ends. A 409 from Azure
(a job that started between our check and our PUT) is read the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hpccache_cli.control.amlfs import (
    Busy,
    JobSlotBusy,
    fs_client,
    require_hsm,
    running_job,
    slot_refusal,
    wait_for_slot,
)
from hpccache_cli.control.client import ArmSettings


@dataclass(frozen=True)
class JobKind:
    """One job type: its SDK operations group, CLI word, and prefixes property."""

    ops: str
    word: str  # "import", "auto-export", "auto-import"
    prefixes: str

    @property
    def noun(self) -> str:
        return f"{self.word} job"


IMPORT = JobKind("import_jobs", "import", "importPrefixes")
AUTO_EXPORT = JobKind("auto_export_jobs", "auto-export", "autoExportPrefixes")
AUTO_IMPORT = JobKind("auto_import_jobs", "auto-import", "autoImportPrefixes")
KINDS = {k.word: k for k in (IMPORT, AUTO_EXPORT, AUTO_IMPORT)}


def _ops(client: Any, kind: JobKind) -> Any:
    return getattr(client, kind.ops)


def job_not_found_hint(client: Any, rg: str, fs: str, kind: JobKind) -> str | None:
    """The jobs the file system does have, or that the file system itself is missing."""
    from azure.core.exceptions import ResourceNotFoundError

    from hpccache_cli.control.amlfs import fs_not_found_hint

    try:
        names = sorted(j.name for j in _ops(client, kind).list_by_aml_filesystem(rg, fs))
    except ResourceNotFoundError:
        hint = fs_not_found_hint(client, rg)
        return f"file system {fs!r} does not exist" + (f" ({hint})" if hint else "")
    except Exception:  # noqa: BLE001 - the hint is optional
        return None
    if not names:
        return f"file system {fs!r} has no {kind.noun}s"
    return f"{kind.noun}s of {fs}: {', '.join(names[:20])}"


@contextmanager
def job_client(settings: ArmSettings, rg: str, fs: str, kind: JobKind, name: str,
               client: Any = None) -> Iterator[Any]:
    """A client for calls about one job; a 404 names the job and what does exist."""
    from hpccache_cli.control.arm_errors import arm_errors
    from hpccache_cli.control.client import make_client

    own = client is None
    client = client or make_client(settings)
    try:
        with arm_errors(settings, f"{kind.noun} {name!r} of AMLFS file system {fs!r} in "
                        f"resource group {rg!r}", lambda: job_not_found_hint(client, rg, fs,
                                                                             kind)):
            yield client
    finally:
        if own:
            client.close()


def get_job(settings: ArmSettings, rg: str, fs: str, kind: JobKind, name: str,
            client: Any = None) -> Any:
    with job_client(settings, rg, fs, kind, name, client) as c:
        return _ops(c, kind).get(rg, fs, name)


def list_jobs(settings: ArmSettings, rg: str, fs: str, kind: JobKind,
              client: Any = None) -> list[Any]:
    with fs_client(settings, rg, fs, client) as c:
        return list(_ops(c, kind).list_by_aml_filesystem(rg, fs))


def create_job(
    settings: ArmSettings, rg: str, fs: str, kind: JobKind, name: str,
    properties: dict[str, Any], *, location: str | None = None,
    tags: dict[str, str] | None = None, queue: bool = False, timeout: float = 3600.0,
    on_wait: Callable[[Busy, float], None] | None = None, client: Any = None,
) -> Any:
    """Create a job and return it once Azure says it has started (not finished)."""
    from azure.core.exceptions import HttpResponseError

    from hpccache_cli.control.lro import FollowedPolling, OperationTimeout, timed_out
    from hpccache_cli.control.operations import wait_for

    start = time.monotonic()
    what = f"{kind.noun} {name!r} on file system {fs!r}"
    check = f"hpccache amlfs {kind.word} show -n {name} --amlfs-name {fs} -g {rg}"
    with job_client(settings, rg, fs, kind, name, client) as c:
        filesystem = c.aml_filesystems.get(rg, fs)
        require_hsm(filesystem, rg, f"run an {kind.noun}")
        holder = running_job(c, rg, fs, filesystem)
        if holder is not None:
            if not queue or holder.permanent:
                raise slot_refusal(fs, holder, f"start {what}", queue_hint=not queue)
            wait_for_slot(c, rg, fs, holder, timeout=timeout,
                          interval=settings.polling_interval, on_wait=on_wait)
        body: dict[str, Any] = {"location": location or filesystem.location,
                                "properties": properties}
        if tags:
            body["tags"] = tags
        polling = FollowedPolling(settings)
        try:
            poller = _ops(c, kind).begin_create_or_update(rg, fs, name, body, polling=polling)
            wait_for(poller, timeout=max(1.0, timeout - (time.monotonic() - start)))
            return poller.result()
        except OperationTimeout as exc:
            raise timed_out(f"creating {what}", timeout, exc.status, check) from None
        except HttpResponseError as exc:
            if exc.status_code == 409:
                now = running_job(c, rg, fs)
                if now is not None:
                    raise slot_refusal(fs, now, f"start {what}", queue_hint=True) from None
            raise


def set_admin_status(settings: ArmSettings, rg: str, fs: str, kind: JobKind, name: str,
                     admin: str, client: Any = None) -> Any:
    """PATCH ``adminStatus`` (Cancel for an import; Enable or Disable for an auto job)."""
    with job_client(settings, rg, fs, kind, name, client) as c:
        ops = _ops(c, kind)
        ops.get(rg, fs, name)  # a missing job is named as such, not as a failed update
        if admin == "Enable":
            holder = running_job(c, rg, fs)
            if holder is not None and not (holder.ops == kind.ops and holder.name == name):
                raise slot_refusal(fs, holder, f"enable {kind.noun} {name!r}", queue_hint=False)
        poller = ops.begin_update(rg, fs, name, {"properties": {"adminStatus": admin}})
        return poller.result()


def delete_job(settings: ArmSettings, rg: str, fs: str, kind: JobKind, name: str, *,
               wait: bool = True, timeout: float = 600.0, client: Any = None) -> None:
    from hpccache_cli.control.lro import FollowedPolling, OperationTimeout, timed_out
    from hpccache_cli.control.operations import wait_for

    with job_client(settings, rg, fs, kind, name, client) as c:
        ops = _ops(c, kind)
        ops.get(rg, fs, name)
        poller = ops.begin_delete(rg, fs, name, polling=FollowedPolling(settings))
        if not wait:
            return
        try:
            wait_for(poller, timeout=timeout)
        except OperationTimeout as exc:
            raise timed_out(f"deleting {kind.noun} {name!r}", timeout, exc.status,
                            f"hpccache amlfs {kind.word} list --amlfs-name {fs} -g {rg}") from None


__all__ = ["AUTO_EXPORT", "AUTO_IMPORT", "IMPORT", "KINDS", "JobKind", "JobSlotBusy",
           "create_job", "delete_job", "get_job", "list_jobs", "set_admin_status",
           "wait_for_slot"]
