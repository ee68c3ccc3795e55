"""The data moves of the emulated AMLFS runs, one item at a time: what changed since the last
copy, the export of one item, the import walk with its conflict rules and counts, and one
auto-export iteration. The run lifecycle (threads, states, cancel) is
:mod:`hpccache_cli.emulator.aml.runs`'s.
"""

from __future__ import annotations

import threading
import time

from hpccache_cli.emulator.aml import hsm
from hpccache_cli.emulator.aml.filesystem import AmlFilesystem, Job, iso

_MIB = 1024 * 1024


def pace(fs: AmlFilesystem, cancel: threading.Event) -> bool:
    """Wait for the gate and the per-item delay; False once canceled."""
    while not fs.gate.wait(0.05):
        if cancel.is_set():
            return False
    delay = fs.faults.per_file_seconds
    if delay > 0 and cancel.wait(delay):
        return False
    return not cancel.is_set()


def is_error(fs: AmlFilesystem, rel: str) -> bool:
    return any(hsm.under(rel, p) for p in fs.faults.error_paths)


def changed(fs: AmlFilesystem, prefix: str) -> list[hsm.Item]:
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


def export(fs: AmlFilesystem, item: hsm.Item) -> bool:
    if is_error(fs, item.rel):
        return False
    hsm.upload(fs.container, fs.root, item)
    with fs.lock:
        fs.exported[item.rel] = (item.mtime_ns, item.size)
    if fs.on_export is not None:  # the emulated Lustre client marks the file archived
        fs.on_export(item)
    return True


def import_pass(fs: AmlFilesystem, job: Job, prefixes: list[str],
                seen: set[str] | None = None, sync: bool = False) -> None:
    """Walk the blobs under ``prefixes``; stubs for new ones; counts as the service names them.
    ``seen`` collects the blob paths walked; ``sync`` (an auto-import after its first full
    scan) also counts what it imports as ``blobSyncEvents``."""
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
            if not pace(fs, job.cancel):
                return
            rel = hsm.safe_name(entry.name)
            walked += 1
            if seen is not None and rel is not None:
                seen.add(rel)
            if auto and rel is not None and known(fs, rel, entry):
                continue  # an auto-import rescan: already in the namespace
            counts["totalBlobsWalked"] += 1
            outcome = "error" if rel is None or is_error(fs, rel) else import_one(fs, rel,
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
                if sync:
                    _sync_event(fs, job, "importedDirectories" if entry.is_dir
                                else "importedFiles")
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


def _sync_event(fs: AmlFilesystem, job: Job, kind: str) -> None:
    with fs.lock:
        events = job.status.setdefault("blobSyncEvents", {})
        events[kind] = events.get(kind, 0) + 1
        if kind != "deletions":
            events["totalBlobsImported"] = events.get("totalBlobsImported", 0) + 1
        events["lastChangeFeedEventConsumedTime"] = iso()


def sync_deletions(fs: AmlFilesystem, job: Job, prefixes: list[str], seen: set[str]) -> None:
    """``enableDeletions``: released files whose blob is gone are deleted (a file changed
    since its import is dirty and stays)."""
    with fs.lock:
        gone = [rel for rel in fs.released if rel not in seen
                and any(hsm.under(rel, p) for p in prefixes)]
    for rel in gone:
        path = fs.root / rel
        with fs.lock:
            try:
                st = path.stat()
            except OSError:
                fs.released.discard(rel)
                continue
            if fs.exported.get(rel) != (st.st_mtime_ns, st.st_size):
                continue
            path.unlink()
            fs.released.discard(rel)
            fs.exported.pop(rel, None)
        _sync_event(fs, job, "deletions")


def known(fs: AmlFilesystem, rel: str, entry: hsm.BlobEntry) -> bool:
    path = fs.root / rel
    return path.is_dir() if entry.is_dir else path.is_file()


def import_one(fs: AmlFilesystem, rel: str, entry: hsm.BlobEntry, mode: str) -> str:
    path = fs.root / rel
    exists = path.exists() or path.is_symlink()
    if not exists:
        (hsm.make_dir if entry.is_dir else hsm.make_stub)(fs.root, rel, entry)
        note_imported(fs, rel, entry)
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
    note_imported(fs, rel, entry)
    return "overwrote"


def note_imported(fs: AmlFilesystem, rel: str, entry: hsm.BlobEntry) -> None:
    st = (fs.root / rel).stat()
    with fs.lock:
        fs.exported[rel] = (st.st_mtime_ns, 0 if entry.is_dir else st.st_size)
        if not entry.is_dir:
            fs.released.add(rel)


def export_iteration(fs: AmlFilesystem, job: Job) -> None:
    items: list[hsm.Item] = []
    for prefix in job.props["autoExportPrefixes"]:
        items += changed(fs, prefix)
    files = [i for i in items if not i.is_dir]
    st = job.status
    with fs.lock:
        st.update(currentIterationFilesDiscovered=len(files), currentIterationFilesExported=0,
                  currentIterationFilesFailed=0,
                  currentIterationMiBDiscovered=sum(i.size for i in files) // _MIB,
                  currentIterationMiBExported=0)
    for item in items:
        if not pace(fs, job.cancel):
            return
        ok = export(fs, item)
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
