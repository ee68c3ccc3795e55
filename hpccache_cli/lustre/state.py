"""The whole question for many files: HSM state in batches, blobs per directory, one verdict
each (``hpccache amlfs state`` and the export's checks run this).

Cost, for N files in D directories: ``ceil(N / 2000)`` ``lfs hsm_state`` calls, the same for
``lfs hsm_action`` over only the files not archived-and-clean, and about D blob listings
(one per 5,000 blobs of a directory), run on a few threads. The anchor it replaces is one
``lfs`` and one blob HEAD per file.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hpccache_cli.lustre.blobs import DirListing, list_directory, list_tree
from hpccache_cli.lustre.hsm import HsmSide
from hpccache_cli.lustre.hsm_state import (
    ARCHIVED,
    DIRTY,
    LOST,
    RELEASED,
    Failed,
    HsmAction,
    HsmState,
)
from hpccache_cli.lustre.mounts import LustreMount, blob_name, fs_path_of_blob
from hpccache_cli.lustre.verdicts import FileVerdict, LocalFile, Verdict, judge

LIST_THREADS = 8
#: More directories than this: try one recursive listing of the covering directory.
SPREAD = 16
TREE_FACTOR = 4
TREE_MIN = 50_000
MAX_WALK = 10_000_000  # entries one -r walk may yield


@dataclass(frozen=True, slots=True)
class Target:
    """One file to judge: the name the user gave, its file-system path, its client path
    (None without a Lustre client) and the mount it is on."""

    path: str
    fs_path: str
    client_path: str | None = None
    mount: LustreMount | None = None

    @property
    def blob_name(self) -> str:
        return blob_name(self.fs_path)


def _stat(path: str) -> LocalFile | None:
    try:
        return LocalFile.of(os.stat(path))
    except OSError:
        return None


def list_dirs(container: Any, dirs: Sequence[str], files: int = 0) -> dict[str, DirListing]:
    """Listings of many directories. Few directories: one listing each (the ``/`` delimiter
    keeps subtrees out), a few at a time. Many (``-r`` over a tree): one recursive listing of
    the directory covering them, when it holds at most :data:`TREE_FACTOR` blobs per file
    asked, since a listing costs a request per 5,000 blobs however many directories they are
    in (and Azurite scans its whole container for every listing request)."""
    if len(dirs) > SPREAD:
        top = posixpath.commonpath(["/" + d for d in dirs]).lstrip("/")
        tree = list_tree(container, top, set(dirs), max(TREE_MIN, TREE_FACTOR * files))
        if tree is not None:
            return tree
    if len(dirs) <= 1:
        return {d: list_directory(container, d) for d in dirs}
    with ThreadPoolExecutor(max_workers=min(LIST_THREADS, len(dirs))) as pool:
        listed = list(pool.map(lambda d: list_directory(container, d), dirs))
    return dict(zip(dirs, listed, strict=True))


def needs_action_query(state: HsmState | Failed | None) -> bool:
    """Only files that are not archived-and-clean can have an archive running worth naming."""
    if not isinstance(state, HsmState):
        return False
    if state.has(LOST) or state.has(RELEASED):
        return False
    return not (state.has(ARCHIVED) and not state.has(DIRTY))


def judge_files(targets: Sequence[Target], hsm: HsmSide | None,
                container: Any) -> list[FileVerdict]:
    """Verdicts for ``targets`` in their order (``hsm`` None: the Blob side only)."""
    client = [t.client_path for t in targets if t.client_path is not None]
    states: dict[str, HsmState | Failed] = {}
    actions: dict[str, HsmAction | Failed] = {}
    locals_: dict[str, LocalFile | None] = {}
    if hsm is not None and client:
        locals_ = {p: _stat(p) for p in client}
        present = [p for p in client if locals_[p] is not None]
        states = hsm.states(present) if present else {}
        ask = [p for p in present if needs_action_query(states.get(p))]
        actions = hsm.actions(ask) if ask else {}
    dirs = sorted({posixpath.dirname(t.blob_name) for t in targets})
    listings = list_dirs(container, dirs, len(targets))
    out = []
    for t in targets:
        listing = listings[posixpath.dirname(t.blob_name)]
        if hsm is None or t.client_path is None:
            out.append(judge(t.path, t.fs_path, t.blob_name, local=None, hsm=None,
                             action=None, listing=listing))
            continue
        local = locals_.get(t.client_path)
        state: HsmState | Failed | None = states.get(t.client_path)
        if local is None:
            state = Failed("no such file on the client (or it cannot be read)")
        elif state is None:
            state = Failed("the HSM side gave no answer for this file")
        out.append(judge(t.path, t.fs_path, t.blob_name, local=local, hsm=state,
                         action=actions.get(t.client_path), listing=listing,
                         exists=_exists_on(t.mount)))
    return out


def _exists_on(mount: LustreMount | None) -> Callable[[str], bool] | None:
    if mount is None:
        return None

    def exists(name: str) -> bool:
        cp = mount.client_path(fs_path_of_blob(name))
        return cp is None or os.path.lexists(cp)  # outside the fileset: cannot tell, assume yes

    return exists


def walk_client(directory: str, limit: int = MAX_WALK) -> Iterator[str]:
    """Regular files under a client directory (``-r``), sorted per directory, bounded."""
    count = 0
    for here, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(here, name)
            if os.path.isfile(path) and not os.path.islink(path):
                yield path
                count += 1
                if count >= limit:
                    return


def walk_blobs(container: Any, fs_dir: str, limit: int = MAX_WALK) -> Iterator[str]:
    """File-system paths of the file blobs under a directory (``-r`` without a client)."""
    prefix = blob_name(fs_dir)
    prefix = prefix + "/" if prefix else ""
    for count, blob in enumerate(container.list_blobs(name_starts_with=prefix or None,
                                                      include=["metadata"],
                                                      results_per_page=5000), 1):
        if str((blob.metadata or {}).get("hdi_isfolder", "")).lower() != "true":
            yield fs_path_of_blob(blob.name)
        if count >= limit:
            return


def counts(verdicts: Sequence[FileVerdict]) -> dict[Verdict, int]:
    out: dict[Verdict, int] = {}
    for v in verdicts:
        out[v.verdict] = out.get(v.verdict, 0) + 1
    return out
