"""Azure Managed Lustre file systems: show, list, archive, cancel-archive, and what blocks a job.

AMLFS lives in the same resource provider and SDK as HPC Cache (``Microsoft.StorageCache``,
``azure-mgmt-storagecache``). ``archive`` and ``cancel_archive`` are plain POSTs answered 200,
not long-running operations: the archive's progress is ``properties.hsm.archiveStatus[]`` of
the file system, which :func:`archive_progress` reads (tolerating what the live service
sends, such as ``percentComplete: 100.0`` or no status at all).

The service runs one blob-integration job at a time per file system (archive, import,
auto-export, auto-import; an enabled auto-import blocks manual jobs). :func:`running_job`
finds the one that holds the slot so a refusal can name it, before Azure's own 409 would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hpccache_cli.control.arm_errors import arm_errors
from hpccache_cli.control.client import ArmSettings, make_client
from hpccache_cli.errors import AzureError

ARCHIVE_RUNNING = {"InProgress", "FSScanInProgress", "Cancelling"}
ENDED = {"Completed", "CompletedPartial", "Failed", "Canceled", "Disabled", "DisableFailed"}
#: SDK operations group -> words (in the order a refusal checks them).
JOB_KINDS = {"import_jobs": "import job", "auto_import_jobs": "auto-import job",
             "auto_export_jobs": "auto-export job"}
MAX_LISTED = 10_000  # jobs read from one list: a server that pages forever is cut off


class NoHsm(AzureError):
    """The file system has no blob container linked (``hsm.settings``)."""


class JobSlotBusy(AzureError):
    """Another blob-integration job holds the file system's one job slot."""

    def __init__(self, message: str, holder: Busy) -> None:
        super().__init__(message)
        self.holder = holder


def value(x: Any) -> Any:
    return getattr(x, "value", x)


@dataclass(frozen=True)
class Busy:
    """What holds the job slot: ``kind`` ("archive", "import job", ...), name, state."""

    kind: str
    name: str
    state: str
    ops: str = ""  # SDK operations group of a job ("" for the archive)

    @property
    def permanent(self) -> bool:
        """An enabled auto job never ends by itself: waiting for it is pointless."""
        return self.kind.startswith("auto-")

    def describe(self) -> str:
        if self.kind == "archive":
            return f"an archive of {self.name!r} is {self.state}"
        if self.permanent:
            return f"{self.kind} {self.name!r} is enabled ({self.state})"
        return f"{self.kind} {self.name!r} is {self.state}"


@dataclass(frozen=True)
class ArchiveProgress:
    """One ``archiveStatus`` entry, read tolerantly."""

    path: str | None
    state: str | None
    percent: float | None
    started: Any = None
    completed: Any = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def running(self) -> bool:
        return self.state in ARCHIVE_RUNNING

    @property
    def ended(self) -> bool:
        return self.state in ENDED


def percent_of(raw: Any) -> float | None:
    """``percentComplete`` as a number (the service has sent ``100.0``, strings, null)."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return number if 0.0 <= number <= 100.0 else None


def _raw(model: Any) -> dict[str, Any]:
    """The wire form of an SDK model (what az prints), tolerant of odd values."""
    try:
        data = model.as_dict()
    except Exception:  # noqa: BLE001 - a model that cannot render is shown empty
        return {}
    return data if isinstance(data, dict) else {}


def archive_progress(fs: Any) -> ArchiveProgress | None:
    """The file system's archive status (the first entry), or None if it reports none."""
    hsm = (_raw(fs).get("properties") or {}).get("hsm") or {}
    entries = hsm.get("archiveStatus") or []
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        return None
    entry = entries[0]
    raw_status = entry.get("status")
    status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
    return ArchiveProgress(
        path=entry.get("filesystemPath"),
        state=status.get("state"),
        percent=percent_of(status.get("percentComplete")),
        started=status.get("lastStartedTime"),
        completed=status.get("lastCompletionTime"),
        error_code=status.get("errorCode"),
        error_message=status.get("errorMessage"),
    )


def hsm_container(fs: Any) -> str | None:
    """The linked blob container's resource id, or None without HSM settings."""
    hsm = (_raw(fs).get("properties") or {}).get("hsm") or {}
    settings = hsm.get("settings") if isinstance(hsm, dict) else None
    container = settings.get("container") if isinstance(settings, dict) else None
    return container if isinstance(container, str) and container else None


def require_hsm(fs: Any, resource_group: str, action: str) -> str:
    container = hsm_container(fs)
    if container is None:
        raise NoHsm(
            f"file system {fs.name!r} in resource group {resource_group!r} has no HSM settings "
            f"(no blob container is linked to it), so it cannot {action}; a container is set "
            "when the file system is created (hsm.settings.container)"
        )
    return container


def fs_not_found_hint(client: Any, resource_group: str) -> str | None:
    """The file systems the resource group does have (a typo is one glance to fix)."""
    try:
        names = sorted(f.name for f in client.aml_filesystems.list_by_resource_group(
            resource_group))
    except Exception:  # noqa: BLE001 - the hint is optional
        return None
    if not names:
        return f"resource group {resource_group!r} has no AMLFS file systems"
    return f"file systems in {resource_group}: {', '.join(names[:20])}"


@contextmanager
def fs_client(settings: ArmSettings, resource_group: str, name: str,
              client: Any = None) -> Iterator[Any]:
    """A client for calls about one file system; failures become one line naming it."""
    own = client is None
    client = client or make_client(settings)
    try:
        with arm_errors(settings, f"AMLFS file system {name!r} in resource group "
                        f"{resource_group!r}", lambda: fs_not_found_hint(client, resource_group)):
            yield client
    finally:
        if own:
            client.close()


def job_state(job: Any) -> str | None:
    status = (_raw(job).get("properties") or {}).get("status")
    state = status.get("state") if isinstance(status, dict) else None
    return state if isinstance(state, str) else None


def running_job(client: Any, resource_group: str, name: str, fs: Any = None) -> Busy | None:
    """What holds the file system's job slot: a running archive or job, an enabled auto job."""
    fs = fs if fs is not None else client.aml_filesystems.get(resource_group, name)
    archive = archive_progress(fs)
    if archive is not None and archive.running:
        return Busy("archive", archive.path or "/", archive.state or "running")
    for ops, kind in JOB_KINDS.items():
        for n, job in enumerate(getattr(client, ops).list_by_aml_filesystem(resource_group,
                                                                              name)):
            if n >= MAX_LISTED:
                break
            state = job_state(job)
            admin = (_raw(job).get("properties") or {}).get("adminStatus")
            if ops == "import_jobs":
                if state is not None and state not in ENDED:
                    return Busy(kind, job.name, state, ops)
            elif admin == "Enable" and state not in ENDED:
                return Busy(kind, job.name, state or "starting", ops)
    return None


def slot_refusal(fs_name: str, holder: Busy, doing: str, queue_hint: bool) -> JobSlotBusy:
    how = ""
    if holder.permanent:
        base = holder.kind.split()[0]
        how = (f"; disable it first (hpccache amlfs {base} disable -n {holder.name} "
               f"--amlfs-name {fs_name} ...)")
    elif queue_hint:
        how = "; pass --queue to wait for it (bounded by --timeout) and then start"
    return JobSlotBusy(
        f"cannot {doing} on file system {fs_name!r}: {holder.describe()}, and the service runs "
        f"one blob-integration job at a time{how}", holder)


def wait_for_slot(client: Any, rg: str, fs: str, holder: Busy, *, timeout: float,
                  interval: float, on_wait: Callable[[Busy, float], None] | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> float:
    """Wait until ``holder`` (and any other job) no longer holds the slot; seconds waited."""
    start = time.monotonic()
    current: Busy | None = holder
    while current is not None:
        if current.permanent:
            raise slot_refusal(fs, current, "start a job", queue_hint=False)
        waited = time.monotonic() - start
        if on_wait is not None:
            on_wait(current, waited)
        left = timeout - waited
        if left <= 0:
            raise AzureError(
                f"waited {timeout:g} s (--timeout) for {current.describe()} on file system "
                f"{fs!r} to end; it is still running, and nothing was started")
        sleep(min(interval, left))
        current = running_job(client, rg, fs)
    return time.monotonic() - start


def list_filesystems(settings: ArmSettings, resource_group: str | None) -> list[Any]:
    scope = f"resource group {resource_group!r}" if resource_group else "the subscription"
    with make_client(settings) as client, arm_errors(settings, f"the AMLFS file systems of "
                                                     f"{scope}"):
        if resource_group:
            return list(client.aml_filesystems.list_by_resource_group(resource_group))
        return list(client.aml_filesystems.list())


def get_filesystem(settings: ArmSettings, resource_group: str, name: str,
                   client: Any = None) -> Any:
    with fs_client(settings, resource_group, name, client) as c:
        return c.aml_filesystems.get(resource_group, name)


def start_archive(settings: ArmSettings, resource_group: str, name: str, path: str = "/",
                  client: Any = None, *, queue: bool = False, timeout: float = 3600.0,
                  on_wait: Callable[[Busy, float], None] | None = None) -> Any:
    """Check HSM and the job slot (``queue``: wait, bounded, for its holder to end), then
    POST archive; returns the file system as it was just before."""
    with fs_client(settings, resource_group, name, client) as c:
        fs = c.aml_filesystems.get(resource_group, name)
        require_hsm(fs, resource_group, "archive")
        holder = running_job(c, resource_group, name, fs)
        if holder is not None:
            if not queue or holder.permanent:
                raise slot_refusal(name, holder, f"archive {path!r}", queue_hint=not queue)
            wait_for_slot(c, resource_group, name, holder, timeout=timeout,
                          interval=settings.polling_interval, on_wait=on_wait)
            fs = c.aml_filesystems.get(resource_group, name)
        c.aml_filesystems.archive(resource_group, name, {"filesystemPath": path})
        return fs


def cancel_archive(settings: ArmSettings, resource_group: str, name: str,
                   client: Any = None) -> ArchiveProgress | None:
    """POST cancelArchive; returns the archive status before it (None: there was none)."""
    with fs_client(settings, resource_group, name, client) as c:
        fs = c.aml_filesystems.get(resource_group, name)
        require_hsm(fs, resource_group, "cancel an archive")
        before = archive_progress(fs)
        c.aml_filesystems.cancel_archive(resource_group, name)
        return before
