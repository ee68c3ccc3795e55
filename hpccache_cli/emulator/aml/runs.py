"""The runs that move data on an emulated AMLFS, each in its own thread, and what starts them.

An archive scans (FSScanInProgress), then copies changed files one at a time (InProgress
with ``percentComplete``), then ends Completed, Failed (some copies failed) or Canceled. An
import job walks the blobs under its prefixes and creates released stubs, counting walked,
imported, pre-existing, conflicts and errors. Auto-export repeats an export iteration while
enabled; auto-import imports, then picks up new blobs while enabled. Faults slow them
(``per_file_seconds``, ``scan_seconds``), hold them (``AmlFilesystem.gate``), fail them
(``fail_jobs``, ``error_paths``).

Operations return an error as ``(status, code, message)`` for the fake ARM to send, or None.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from hpccache_cli.emulator.aml import hsm
from hpccache_cli.emulator.aml.filesystem import (
    KIND_WORDS,
    KINDS,
    MAX_JOBS,
    AmlFilesystem,
    Job,
    iso,
)

Refusal = tuple[int, str, str]
#: Seconds between two auto-export iterations / auto-import rescans.
AUTO_INTERVAL = 0.5
_MIB = 1024 * 1024


def _pace(fs: AmlFilesystem, cancel: threading.Event) -> bool:
    """Wait for the gate and the per-item delay; False once canceled."""
    while not fs.gate.wait(0.05):
        if cancel.is_set():
            return False
    delay = fs.faults.per_file_seconds
    if delay > 0 and cancel.wait(delay):
        return False
    return not cancel.is_set()


def _is_error(fs: AmlFilesystem, rel: str) -> bool:
    return any(hsm.under(rel, p) for p in fs.faults.error_paths)


def _changed(fs: AmlFilesystem, prefix: str) -> list[hsm.Item]:
    """Items under ``prefix`` that the container does not have as they are now."""
    out = []
    with fs.lock:
        for item in hsm.walk_namespace(fs.root, prefix):
            if item.rel in fs.released:
                continue
            seen = fs.exported.get(item.rel)
            if item.is_dir and seen is not None:
                continue
            if not item.is_dir and seen == (item.mtime_ns, item.size):
                continue
            out.append(item)
    return out


def _export(fs: AmlFilesystem, item: hsm.Item) -> bool:
    if _is_error(fs, item.rel):
        return False
    hsm.upload(fs.container, fs.root, item)
    with fs.lock:
        fs.exported[item.rel] = (item.mtime_ns, item.size)
    if fs.on_export is not None:
        fs.on_export(item)
    return True


# ---- archive -----------------------------------------------------------------------------------


def start_archive(fs: AmlFilesystem, path: str) -> Refusal | None:
    if not fs.hsm:
        return (400, "BadRequest", f"amlFilesystem '{fs.name}' has no HSM settings (no blob "
                "container): archive needs hsm.settings.container")
    if not path.startswith("/") or ".." in path.split("/"):
        return (400, "InvalidParameter", f"filesystemPath {path!r} must be an absolute path "
                "in the file system, such as '/'")
    with fs.lock:
        busy = fs.busy()
        if busy:
            return (409, "Conflict", f"Cannot archive amlFilesystem '{fs.name}': {busy} is "
                    "in progress; one blob integration job runs at a time")
        status = {"state": "FSScanInProgress", "lastStartedTime": iso(), "percentComplete": 0}
        fs.archive_status = [{"filesystemPath": path, "status": status}]
        fs.archive_cancel = cancel = threading.Event()
    t = threading.Thread(target=_run_archive, args=(fs, path, status, cancel), daemon=True,
                         name=f"amlfs-archive-{fs.name}")
    fs.archive_thread = t
    t.start()
    return None


def cancel_archive(fs: AmlFilesystem) -> Refusal | None:
    if not fs.hsm:
        return (400, "BadRequest", f"amlFilesystem '{fs.name}' has no HSM settings")
    with fs.lock:
        for entry in fs.archive_status:
            if entry["status"].get("state") in ("FSScanInProgress", "InProgress"):
                entry["status"]["state"] = "Cancelling"
        fs.archive_cancel.set()
    return None


def _run_archive(fs: AmlFilesystem, path: str, status: dict[str, Any],
                 cancel: threading.Event) -> None:
    def end(state: str, **extra: Any) -> None:
        with fs.lock:
            status.update(state=state, lastCompletionTime=iso(), **extra)

    try:
        if fs.faults.scan_seconds and cancel.wait(fs.faults.scan_seconds):
            return end("Canceled")
        items = _changed(fs, path)
        with fs.lock:
            status["state"] = "InProgress"
        failed: list[str] = []
        for n, item in enumerate(items, 1):
            if not _pace(fs, cancel):
                return end("Canceled")
            if not _export(fs, item):
                failed.append(item.rel)
            with fs.lock:
                status["percentComplete"] = n * 100 // max(1, len(items))
        if fs.faults.fail_jobs:
            return end("Failed", errorCode="ArchiveFailed",
                       errorMessage="emulated failure (fail_jobs)")
        if failed:
            return end("Failed", errorCode="ArchiveFailed",
                       errorMessage=f"{len(failed)} file(s) could not be archived, "
                       f"first: /{failed[0]}")
        end("Completed", percentComplete=100)
    except Exception as exc:  # noqa: BLE001 - a broken blob service ends the run as Failed
        end("Failed", errorCode="ArchiveFailed", errorMessage=" ".join(str(exc).split())[:300])


# ---- jobs ----------------------------------------------------------------------------------


def create_job(fs: AmlFilesystem, kind: str, name: str, request: dict[str, Any],
               job_id: str) -> tuple[Job | None, Refusal | None]:
    """Validate, register and start a job; it has started when ``job.started`` is set."""
    if not fs.hsm:
        return None, (400, "BadRequest", f"amlFilesystem '{fs.name}' has no HSM settings (no "
                      f"blob container): a {KIND_WORDS[kind]} needs hsm.settings.container")
    location = request.get("location")
    props = request.get("properties") or {}
    if not isinstance(location, str) or not location:
        return None, (400, "LocationRequired", "The location property is required for this "
                      "definition.")
    if not isinstance(props, dict):
        return None, (400, "InvalidRequestContent", "properties must be an object")
    with fs.lock:
        if fs.get_job(kind, name) is not None:
            return None, (409, "Conflict", f"{KIND_WORDS[kind]} '{name}' already exists")
        if len(fs.jobs) >= MAX_JOBS:
            return None, (409, "QuotaExceeded", "too many jobs on this file system")
        busy = fs.busy()
        if busy:
            return None, (409, "Conflict", f"Cannot create {KIND_WORDS[kind]} '{name}': {busy} "
                          f"is in progress on amlFilesystem '{fs.name}'; one blob integration "
                          "job runs at a time")
        job = Job(kind, name, _job_body(fs, kind, name, job_id, location, request, props))
        fs.jobs[(kind, name.lower())] = job
    job.thread = threading.Thread(target=_run_job, args=(fs, job), daemon=True,
                                  name=f"amlfs-{kind}-{name}")
    job.thread.start()
    return job, None


def _job_body(fs: AmlFilesystem, kind: str, name: str, job_id: str, location: str,
              request: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"provisioningState": "Succeeded"}
    if kind == "importJobs":
        out.update(adminStatus="Active", importPrefixes=list(props.get("importPrefixes") or ["/"]),
                   conflictResolutionMode=props.get("conflictResolutionMode") or "Fail",
                   maximumErrors=int(props.get("maximumErrors") or 0))
    elif kind == "autoExportJobs":
        out.update(adminStatus=props.get("adminStatus") or "Enable",
                   autoExportPrefixes=list(props.get("autoExportPrefixes") or ["/"]))
    else:
        out.update(adminStatus=props.get("adminStatus") or "Enable",
                   autoImportPrefixes=list(props.get("autoImportPrefixes") or ["/"]),
                   conflictResolutionMode=props.get("conflictResolutionMode") or "Skip",
                   enableDeletions=bool(props.get("enableDeletions", False)),
                   maximumErrors=int(props.get("maximumErrors") or 0))
    body: dict[str, Any] = {"id": job_id, "name": name,
                            "type": f"Microsoft.StorageCache/amlFilesystem/{KINDS[kind][1]}",
                            "location": location, "properties": out}
    if isinstance(request.get("tags"), dict):
        body["tags"] = dict(request["tags"])
    return body


def patch_job(fs: AmlFilesystem, job: Job, request: dict[str, Any]) -> Refusal | None:
    """adminStatus Cancel (import), Enable/Disable (auto jobs); tags."""
    props = request.get("properties") or {}
    admin = props.get("adminStatus") if isinstance(props, dict) else None
    with fs.lock:
        if isinstance(request.get("tags"), dict):
            job.body["tags"] = dict(request["tags"])
        if admin is None:
            return None
        if job.kind == "importJobs":
            if admin not in ("Active", "Cancel"):
                return (400, "InvalidParameter", f"adminStatus {admin!r} is not Active or Cancel")
            if admin == "Cancel":
                job.props["adminStatus"] = "Cancel"
                if job.state not in ("Completed", "CompletedPartial", "Failed", "Canceled"):
                    job.status["state"] = "Cancelling"
                job.cancel.set()
            return None
        if admin not in ("Enable", "Disable"):
            return (400, "InvalidParameter", f"adminStatus {admin!r} is not Enable or Disable")
        if admin == job.props.get("adminStatus"):
            return None
        if admin == "Enable":
            busy = fs.busy(exclude=job)
            if busy:
                return (409, "Conflict", f"Cannot enable {job.describe()}: {busy} is in "
                        "progress; one blob integration job runs at a time")
            job.props["adminStatus"] = "Enable"
            job.cancel = threading.Event()
            job.started = threading.Event()
            job.thread = threading.Thread(target=_run_job, args=(fs, job), daemon=True)
            job.thread.start()
            return None
        job.props["adminStatus"] = "Disable"
        job.status["state"] = "Disabling"
        job.cancel.set()
    return None


def delete_job(fs: AmlFilesystem, job: Job) -> None:
    job.cancel.set()
    if job.thread is not None:
        job.thread.join(timeout=10)
    with fs.lock:
        fs.jobs.pop((job.kind, job.name.lower()), None)


def _run_job(fs: AmlFilesystem, job: Job) -> None:
    try:
        with fs.lock:
            job.status.clear()
            # the service's own names differ per job type
            started = "lastStartedTime" if job.kind == "importJobs" else "lastStartedTimeUTC"
            job.status.update({"state": "InProgress", started: iso()})
        job.started.set()
        if fs.faults.scan_seconds and job.cancel.wait(fs.faults.scan_seconds):
            return _stopped(fs, job)
        if fs.faults.fail_jobs:
            with fs.lock:
                job.status.update(state="Failed", statusMessage="emulated failure (fail_jobs)")
                job.status["lastCompletionTime"] = iso()
            return
        if job.kind == "importJobs":
            _run_import(fs, job)
        elif job.kind == "autoExportJobs":
            while not job.cancel.is_set():
                _export_iteration(fs, job)
                if job.cancel.wait(AUTO_INTERVAL):
                    break
            _stopped(fs, job)
        else:
            while not job.cancel.is_set():
                _import_pass(fs, job, job.props["autoImportPrefixes"])
                if job.state == "Failed" or job.cancel.wait(AUTO_INTERVAL):
                    break
            _stopped(fs, job)
    except Exception as exc:  # noqa: BLE001 - a broken blob service ends the job as Failed
        with fs.lock:
            job.status.update(state="Failed", statusMessage=" ".join(str(exc).split())[:300])
    finally:
        job.started.set()


def _stopped(fs: AmlFilesystem, job: Job) -> None:
    with fs.lock:
        if job.state == "Failed":
            return
        if job.kind == "importJobs":
            job.status.update(state="Canceled", lastCompletionTime=iso())
        else:
            job.status["state"] = "Disabled"


def _run_import(fs: AmlFilesystem, job: Job) -> None:
    _import_pass(fs, job, job.props["importPrefixes"])
    with fs.lock:
        st = job.status
        if job.cancel.is_set() and st.get("state") in ("InProgress", "Cancelling"):
            st.update(state="Canceled", lastCompletionTime=iso())
            return
        if st.get("state") == "Failed":
            return
        errors = st.get("totalErrors", 0)
        st["state"] = "CompletedPartial" if errors else "Completed"
        st["statusMessage"] = (f"Import job completed with {errors} error(s)" if errors
                               else "Import job completed successfully")
        st["lastCompletionTime"] = iso()


def _import_pass(fs: AmlFilesystem, job: Job, prefixes: list[str]) -> None:
    """Walk the blobs under ``prefixes``; stubs for new ones; counts as the service names them."""
    auto = job.kind == "autoImportJobs"
    mode = job.props.get("conflictResolutionMode", "Fail")
    limit = int(job.props.get("maximumErrors", 0))
    st = job.status
    began = time.monotonic()
    counts = {k: int(st.get(k, 0)) for k in (
        "totalBlobsWalked", "totalBlobsImported", "importedFiles", "importedDirectories",
        "preexistingFiles", "preexistingDirectories", "totalConflicts", "totalErrors")}
    walked = imported = 0
    with fs.lock:
        if auto and "scanStartTime" not in st:
            st["scanStartTime"] = iso()
    for prefix in prefixes:
        for entry in hsm.walk_blobs(fs.container, prefix):
            if not _pace(fs, job.cancel):
                return
            rel = hsm.safe_name(entry.name)
            walked += 1
            if auto and rel is not None and _known(fs, rel, entry):
                continue  # an auto-import rescan: already in the namespace
            counts["totalBlobsWalked"] += 1
            outcome = "error" if rel is None or _is_error(fs, rel) else _import_one(fs, rel,
                                                                                    entry, mode)
            if outcome == "fail":
                counts["totalConflicts"] += 1
                with fs.lock:
                    st.update(counts, state="Failed", lastCompletionTime=iso(),
                              statusMessage=f"conflict at /{rel} (conflictResolutionMode Fail)")
                return
            if outcome == "error":
                counts["totalErrors"] += 1
            elif outcome == "conflict":
                counts["totalConflicts"] += 1
            elif outcome.startswith("imported") or outcome.startswith("overwrote"):
                imported += 1
                counts["totalBlobsImported"] += 1
                counts["importedDirectories" if entry.is_dir else "importedFiles"] += 1
                if outcome.startswith("overwrote"):
                    counts["totalConflicts"] += 1
            else:
                counts["preexistingDirectories" if entry.is_dir else "preexistingFiles"] += 1
            elapsed = max(time.monotonic() - began, 1e-3)
            with fs.lock:
                st.update(counts)
                walk_rate, import_rate = int(walked / elapsed), int(imported / elapsed)
                if auto:
                    st.update(rateOfBlobWalk=walk_rate, rateOfBlobImport=import_rate)
                else:
                    st.update(blobsWalkedPerSecond=walk_rate, blobsImportedPerSecond=import_rate)
                if limit != -1 and counts["totalErrors"] > limit:
                    st.update(state="Failed", lastCompletionTime=iso(),
                              statusMessage=f"{counts['totalErrors']} error(s): more than "
                              f"maximumErrors ({limit})")
                    return
    with fs.lock:
        if auto:
            st["scanEndTime"] = iso()


def _known(fs: AmlFilesystem, rel: str, entry: hsm.BlobEntry) -> bool:
    path = fs.root / rel
    return path.is_dir() if entry.is_dir else path.is_file()


def _import_one(fs: AmlFilesystem, rel: str, entry: hsm.BlobEntry, mode: str) -> str:
    path = fs.root / rel
    exists = path.exists() or path.is_symlink()
    if not exists:
        (hsm.make_dir if entry.is_dir else hsm.make_stub)(fs.root, rel, entry)
        _note_imported(fs, rel, entry)
        return "imported"
    if entry.is_dir and path.is_dir():
        return "preexisting"
    if not entry.is_dir and path.is_file():
        st = path.stat()
        with fs.lock:
            clean = rel in fs.released or fs.exported.get(rel) == (st.st_mtime_ns, st.st_size)
        if clean:
            return "preexisting"
    # a dirty file, or a file where the blob is a directory (or the other way round)
    if mode == "Fail":
        return "fail"
    if mode == "Skip":
        return "conflict"
    if path.is_dir() and not path.is_symlink():
        return "conflict"  # never delete a directory tree to make room for one blob
    (hsm.make_dir if entry.is_dir else hsm.make_stub)(fs.root, rel, entry)
    _note_imported(fs, rel, entry)
    return "overwrote"


def _note_imported(fs: AmlFilesystem, rel: str, entry: hsm.BlobEntry) -> None:
    st = (fs.root / rel).stat()
    with fs.lock:
        fs.exported[rel] = (st.st_mtime_ns, 0 if entry.is_dir else st.st_size)
        if not entry.is_dir:
            fs.released.add(rel)


def _export_iteration(fs: AmlFilesystem, job: Job) -> None:
    items: list[hsm.Item] = []
    for prefix in job.props["autoExportPrefixes"]:
        items += _changed(fs, prefix)
    files = [i for i in items if not i.is_dir]
    st = job.status
    with fs.lock:
        st.update(currentIterationFilesDiscovered=len(files), currentIterationFilesExported=0,
                  currentIterationFilesFailed=0,
                  currentIterationMiBDiscovered=sum(i.size for i in files) // _MIB,
                  currentIterationMiBExported=0)
    for item in items:
        if not _pace(fs, job.cancel):
            return
        ok = _export(fs, item)
        if item.is_dir:
            continue
        with fs.lock:
            if ok:
                st["currentIterationFilesExported"] += 1
                st["totalFilesExported"] = st.get("totalFilesExported", 0) + 1
                st["totalMiBExported"] = st.get("totalMiBExported", 0) + item.size // _MIB
            else:
                st["currentIterationFilesFailed"] += 1
                st["totalFilesFailed"] = st.get("totalFilesFailed", 0) + 1
    with fs.lock:
        st["exportIterationCount"] = st.get("exportIterationCount", 0) + 1
        if not st["currentIterationFilesFailed"]:
            st["lastSuccessfulIterationCompletionTimeUTC"] = iso()
        st.setdefault("totalFilesExported", 0)
        st.setdefault("totalFilesFailed", 0)
        st.setdefault("totalMiBExported", 0)
