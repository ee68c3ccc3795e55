"""The emulator's in-process implementation of the HSM side (``lustre.hsm.HsmSide``): the
same answers as its ``lfs`` program, without a process per call.

Why a second implementation: the product's production path is ``LfsCommand`` (``lfs`` as a
subprocess), and the tests run it against the emulated ``lfs``; this one lets benchmarks and
library tests put the HSM side's cost aside, and a conformance test holds the two to the same
answers. It reads and writes the same state (:mod:`~hpccache_cli.emulator.aml.hsm_store`).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

from hpccache_cli.emulator.aml import hsm_store
from hpccache_cli.lustre.hsm_state import Failed, HsmAction, HsmState


class EmulatedHsm:
    """HSM state of one emulated client's tree (``root``), from its state database."""

    def __init__(self, root: Path, db: Path) -> None:
        self.root = os.path.realpath(root)
        self.db = db

    def _stat(self, path: str) -> os.stat_result | Failed:
        try:
            st = os.stat(path)
        except OSError as exc:
            return Failed(os.strerror(exc.errno or errno.EIO))
        full = os.path.realpath(path)
        if not (full == self.root or full.startswith(self.root + os.sep)):
            return Failed(os.strerror(errno.ENOTTY))
        return st

    def _rows(self, paths: Sequence[str]) -> tuple[dict[str, os.stat_result | Failed],
                                                   dict[int, hsm_store.Row]]:
        stats = {p: self._stat(p) for p in paths}
        conn = hsm_store.connect(self.db)
        try:
            rows = hsm_store.rows(conn, [s.st_ino for s in stats.values()
                                         if isinstance(s, os.stat_result)])
        finally:
            conn.close()
        return stats, rows

    def states(self, paths: Sequence[str]) -> dict[str, HsmState | Failed]:
        stats, rows = self._rows(paths)
        out: dict[str, HsmState | Failed] = {}
        for p, st in stats.items():
            if isinstance(st, Failed):
                out[p] = st
                continue
            r = rows.get(st.st_ino) or hsm_store.Row(st.st_ino, 0, 0, None, None, "NOOP", "",
                                                     None, 0)
            out[p] = HsmState(hsm_store.effective_flags(r, st), r.archive_id)
        return out

    def actions(self, paths: Sequence[str]) -> dict[str, HsmAction | Failed]:
        stats, rows = self._rows(paths)
        out: dict[str, HsmAction | Failed] = {}
        for p, st in stats.items():
            if isinstance(st, Failed):
                out[p] = st
                continue
            r = rows.get(st.st_ino)
            if r is None or r.action == "NOOP" or r.action_state not in ("waiting", "running"):
                out[p] = HsmAction("NOOP")
            elif r.action_state == "running":
                out[p] = HsmAction(r.action, "running", f"{r.moved} bytes moved")
            else:
                out[p] = HsmAction(r.action, "waiting", "from 0 to EOF")
        return out

    def archive(self, paths: Sequence[str], archive_id: int = 0) -> dict[str, Failed]:
        stats, rows = self._rows(paths)
        failed = {p: st for p, st in stats.items() if isinstance(st, Failed)}
        conn = hsm_store.connect(self.db)
        try:
            for p, st in stats.items():
                if isinstance(st, Failed):
                    continue
                r = rows.get(st.st_ino)
                hsm_store.upsert(conn, st.st_ino, action="ARCHIVE", action_state="waiting",
                                 path=os.path.realpath(p), moved=0,
                                 archive_id=archive_id or (r.archive_id if r else 0) or 1)
        finally:
            conn.close()
        return failed
