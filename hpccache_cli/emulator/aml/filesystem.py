"""One emulated Azure Managed Lustre file system: a directory tree plus the HSM state.

The emulator keeps what the real service keeps and the fake ARM reports: which paths were
archived (and at what size and time), which files are released stubs, the archive status per
path and the blob-integration jobs. The data moves themselves run in threads
(:mod:`hpccache_cli.emulator.aml.runs`) and change the state over time, so a client that
waits sees FSScanInProgress, InProgress with counts, then the end state.

The service's rule is kept: one blob-integration job at a time per file system (an archive
counts, an enabled auto-import or auto-export counts); a second is refused with a message that
names the running one.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hpccache_cli.emulator.aml.config import AmlFaults, AmlSettings

PROVIDER = "Microsoft.StorageCache"
#: URL collection -> (id segment the service writes, singular type name). The quirks are the
#: service's: lower-case ``amlfilesystems`` in job ids, and ``autoExportJob`` (singular).
KINDS: dict[str, tuple[str, str]] = {
    "importJobs": ("importJobs", "importJob"),
    "autoExportJobs": ("autoExportJob", "autoExportJob"),
    "autoImportJobs": ("autoImportJobs", "autoImportJob"),
}
KIND_WORDS = {"importJobs": "import job", "autoExportJobs": "auto-export job",
              "autoImportJobs": "auto-import job"}
ENDED = {"Completed", "CompletedPartial", "Failed", "Canceled", "Disabled", "DisableFailed"}
MAX_JOBS = 1000


def iso(t: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if t is None else t, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Job:
    """One blob-integration job: its wire body (whose ``status`` the run updates)."""

    kind: str
    name: str
    body: dict[str, Any]
    cancel: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    gets: int = 0

    @property
    def props(self) -> dict[str, Any]:
        props: dict[str, Any] = self.body.setdefault("properties", {})
        return props

    @property
    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.props.setdefault("status", {})
        return status

    @property
    def state(self) -> str:
        return str(self.status.get("state", ""))

    def active(self) -> bool:
        """Holds the file system's one job slot (running, or enabled and not failed)."""
        if self.kind == "importJobs":
            return self.state not in ENDED
        return self.props.get("adminStatus") == "Enable" and self.state not in ENDED

    def describe(self) -> str:
        return f"{KIND_WORDS[self.kind]} '{self.name}'"


class AmlFilesystem:
    """State of one file system; thread-safe (the fake ARM serves from many threads)."""

    def __init__(self, settings: AmlSettings, container: Any | None) -> None:
        self.settings = settings
        self.root = Path(settings.root_dir)
        self.container = container  # azure.storage.blob ContainerClient, None without HSM
        self.faults: AmlFaults = settings.faults
        self.lock = threading.RLock()
        #: Cleared, runs hold before their next item (tests observe InProgress with it).
        self.gate = threading.Event()
        self.gate.set()
        self.exported: dict[str, tuple[int, int]] = {}  # rel -> (mtime_ns, size) in the blob
        self.released: set[str] = set()
        self.archive_status: list[dict[str, Any]] = []
        self.archive_cancel = threading.Event()
        self.archive_thread: threading.Thread | None = None
        self.jobs: dict[tuple[str, str], Job] = {}
        self.stopping = threading.Event()
        #: Called with each item an archive/export copied (the emulated Lustre client marks
        #: it archived in its HSM state: :mod:`~hpccache_cli.emulator.aml.lustre_client`).
        self.on_export: Any = None

    # ---- identity -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def hsm(self) -> bool:
        return self.settings.hsm and self.container is not None

    def resource_id(self, lower: bool = False) -> str:
        s = self.settings
        coll = "amlfilesystems" if lower else "amlFilesystems"
        return (f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}"
                f"/providers/{PROVIDER}/{coll}/{s.name}")

    def _container_id(self, container: str) -> str:
        s = self.settings
        return (f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}/providers"
                f"/Microsoft.Storage/storageAccounts/{s.storage_account}/blobServices/default"
                f"/containers/{container}")

    def body(self) -> dict[str, Any]:
        """The amlFilesystems_Get body (a copy, safe to serialise)."""
        s = self.settings
        props: dict[str, Any] = {
            "clientInfo": {
                "lustreVersion": "2.15.0",
                "mgsAddress": "127.0.0.1",
                "mountCommand": "mount -t lustre 127.0.0.1@tcp:/lustrefs /lustre/lustrefs",
            },
            "clusterUuid": "00000000-0000-0000-0000-0000000000e1",
            "filesystemSubnet": (f"/subscriptions/{s.subscription_id}/resourceGroups/"
                                 f"{s.resource_group}/providers/Microsoft.Network/"
                                 "virtualNetworks/emulated-vnet/subnets/amlfs"),
            "health": {"state": "Available", "statusDescription": "amlFilesystem is ok."},
            "maintenanceWindow": {"dayOfWeek": "Friday", "timeOfDayUTC": "22:00"},
            "provisioningState": "Succeeded",
            "storageCapacityTiB": 16,
            "currentStorageCapacityTiB": 16,
            "throughputProvisionedMBps": 500,
        }
        with self.lock:
            if self.settings.hsm:
                props["hsm"] = {
                    "settings": {
                        "container": self._container_id(s.container),
                        "loggingContainer": self._container_id(s.logging_container),
                        "importPrefixesInitial": list(s.import_prefixes_initial),
                    },
                    "archiveStatus": copy.deepcopy(self.archive_status),
                }
                if self.faults.percent_as_float:
                    for entry in props["hsm"]["archiveStatus"]:
                        st = entry.get("status", {})
                        if "percentComplete" in st:
                            st["percentComplete"] = float(st["percentComplete"])
        return {
            "id": self.resource_id(),
            "name": s.name,
            "type": f"{PROVIDER}/amlFilesystem",
            "location": s.location,
            "sku": {"name": "AMLFS-Durable-Premium-250"},
            "tags": {"emulated": "true", "emulatorRoot": str(self.root)},
            "zones": ["1"],
            "properties": props,
        }

    # ---- the one-job rule -----------------------------------------------------------------

    def busy(self, exclude: Job | None = None) -> str | None:
        """What holds the job slot, in words, or None."""
        with self.lock:
            for entry in self.archive_status:
                if entry["status"].get("state") in ("FSScanInProgress", "InProgress",
                                                    "Cancelling"):
                    return f"archive of '{entry['filesystemPath']}'"
            for job in self.jobs.values():
                if job is not exclude and job.active():
                    return job.describe()
        return None

    # ---- jobs -----------------------------------------------------------------------------

    def job_id(self, kind: str, name: str) -> str:
        return f"{self.resource_id(lower=True)}/{KINDS[kind][0]}/{name}"

    def get_job(self, kind: str, name: str) -> Job | None:
        with self.lock:
            return self.jobs.get((kind, name.lower()))

    def list_jobs(self, kind: str) -> list[Job]:
        with self.lock:
            return [j for (k, _), j in sorted(self.jobs.items()) if k == kind]

    def job_body(self, job: Job) -> dict[str, Any]:
        """The job's GET body (a copy); ``missing_status_gets`` drops ``status`` at first."""
        with self.lock:
            body = copy.deepcopy(job.body)
            job.gets += 1
            if job.gets <= self.faults.missing_status_gets:
                body.get("properties", {}).pop("status", None)
        return body

    def stop(self) -> None:
        """End every run (the emulator stops); the threads are daemons, joined briefly."""
        self.stopping.set()
        self.archive_cancel.set()
        with self.lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            job.cancel.set()
        self.gate.set()
        threads = [self.archive_thread] + [j.thread for j in jobs]
        for t in threads:
            if t is not None:
                t.join(timeout=5)
