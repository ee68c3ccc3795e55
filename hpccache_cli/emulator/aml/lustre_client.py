"""An emulated Lustre client for tests, demos and benchmarks: a directory tree "mounted as
Lustre", an ``lfs`` program, and a copytool that archives into Azurite.

- the mount: :meth:`EmulatedLustreClient.mountinfo_line` is a ``/proc/self/mountinfo`` line of
  type ``lustre``, source ``127.0.0.1@tcp:/lustrefs``, at the file system's root directory;
  :attr:`mountinfo` is a file holding it (``--mountinfo FILE`` / ``HPCCACHE_MOUNTINFO``);
- ``lfs``: :attr:`bin_dir` holds an executable ``lfs`` (a small Python script running
  :mod:`~hpccache_cli.emulator.aml.lfs_program` with this client's settings baked in); put it
  first on ``PATH`` and the product's ``lfs`` code path runs unchanged;
- the copytool: a thread taking queued ``ARCHIVE`` requests from the shared state
  (:mod:`~hpccache_cli.emulator.aml.hsm_store`), copying each file the way the Azure copytool
  does (:func:`hpccache_cli.emulator.aml.hsm.upload`: the blob named by the path, the
  ``owner``/``group``/``permissions``/``modtime`` metadata, ``hdi_isfolder`` parents), then
  marking it ``exists archived``. An ARM archive of the same file system marks what it copies
  archived too (the file system's ``on_export`` hook).

Faults (:class:`LustreFaults`, the live copy on :attr:`faults`): ``delay`` per file (a slow
copytool), ``hold`` (requests stay waiting), ``fail_paths`` (the copy fails: the request ends,
the file stays unarchived), ``lost_paths`` (the file ends ``lost_from_hsm``),
``delete_blob_paths`` (the blob is deleted behind its back after the archive); and
:meth:`EmulatedLustreClient.set_coordinator` turns the HSM coordinator off (requests refused).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpccache_cli.emulator.aml import hsm, hsm_store
from hpccache_cli.emulator.aml.filesystem import AmlFilesystem
from hpccache_cli.lustre.hsm_state import EXISTS, LOST

FSNAME = "lustrefs"
POLL = 0.02


@dataclass
class LustreFaults:
    delay: float = 0.0
    hold: bool = False
    fail_paths: list[str] = field(default_factory=list)
    lost_paths: list[str] = field(default_factory=list)
    delete_blob_paths: list[str] = field(default_factory=list)


def _escape(path: str) -> str:
    return (path.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")
            .replace("\n", "\\012"))


class EmulatedLustreClient:
    """One emulated client of one emulated AMLFS; ``start()`` runs the copytool."""

    def __init__(self, fs: AmlFilesystem, state_dir: Path, mgs: str = "127.0.0.1") -> None:
        self.fs = fs
        self.root = Path(fs.root)
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.db = self.state_dir / "hsm.db"
        self.mgs = mgs
        self.faults = LustreFaults()
        self.bin_dir = self.state_dir / "bin"
        self.mountinfo = self.state_dir / "mountinfo"
        self.archived_count = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._folders: set[str] = set()
        self._write_program()
        self.mountinfo.write_text(self.mountinfo_line() + "\n")
        hsm_store.connect(self.db).close()
        fs.on_export = self._on_arm_export

    @property
    def mount_point(self) -> str:
        return str(self.root)

    @property
    def source(self) -> str:
        return f"{self.mgs}@tcp:/{FSNAME}"

    def mountinfo_line(self) -> str:
        return (f"900 25 0:90 / {_escape(self.mount_point)} rw,relatime shared:500 - lustre "
                f"{self.source} rw,flock,lazystatfs")

    def _write_program(self) -> None:
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        config = json.dumps({"root": str(self.root), "db": str(self.db)})
        script = self.bin_dir / "lfs"
        script.write_text(
            f"#!{sys.executable}\n"
            "# The emulated Lustre client's lfs (hpccache emulator); see lfs_program.py\n"
            "import sys\n"
            "from hpccache_cli.emulator.aml.lfs_program import main\n"
            f"sys.exit(main(sys.argv[1:], {config!r}))\n")
        script.chmod(0o755)

    def hsm_side(self) -> Any:
        """The in-process HSM side (:class:`~hpccache_cli.emulator.aml.hsm_side.EmulatedHsm`),
        the same answers as the ``lfs`` program."""
        from hpccache_cli.emulator.aml.hsm_side import EmulatedHsm

        return EmulatedHsm(self.root, self.db)

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment whose PATH finds this client's ``lfs`` first."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    def set_coordinator(self, enabled: bool) -> None:
        """Turn the HSM coordinator off (every ``hsm_archive``/``release``/``restore`` is
        refused, as an MDT with ``hsm_control=disabled`` does) or on again."""
        flag = self.state_dir / "coordinator-off"
        if enabled:
            flag.unlink(missing_ok=True)
        else:
            flag.touch()

    # ---- the copytool -------------------------------------------------------------------

    def start(self) -> EmulatedLustreClient:
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"copytool-{self.fs.name}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.fs.on_export == self._on_arm_export:
            self.fs.on_export = None

    def __enter__(self) -> EmulatedLustreClient:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        conn = hsm_store.connect(self.db)
        try:
            while not self._stop.wait(POLL):
                if self.faults.hold:
                    continue
                queued = conn.execute("SELECT ino, path FROM hsm WHERE action = 'ARCHIVE' AND "
                                      "action_state = 'waiting' ORDER BY rowid LIMIT 200"
                                      ).fetchall()
                for ino, path in queued:
                    if self._stop.is_set() or self.faults.hold:
                        break
                    try:
                        self._archive_one(conn, int(ino), str(path))
                    except Exception as exc:  # noqa: BLE001 - a copy error ends this request
                        self.errors.append(f"{path}: {exc}"[:300])
                        hsm_store.upsert(conn, int(ino), action="NOOP", action_state="")
        finally:
            conn.close()

    def _rel(self, path: str) -> str:
        return Path(path).relative_to(self.root).as_posix()

    def _matches(self, rel: str, prefixes: list[str]) -> bool:
        return any(hsm.under(rel, p) for p in prefixes)

    def _archive_one(self, conn: Any, ino: int, path: str) -> None:
        hsm_store.upsert(conn, ino, action_state="running")
        if self.faults.delay and self._stop.wait(self.faults.delay):
            return
        rel = self._rel(path)
        if self._matches(rel, self.faults.fail_paths):
            self.errors.append(f"{rel}: archive failed (emulated fault)")
            hsm_store.upsert(conn, ino, action="NOOP", action_state="")
            return
        if self._matches(rel, self.faults.lost_paths):
            r = hsm_store.row(conn, ino)
            hsm_store.upsert(conn, ino, flags=r.flags | EXISTS | LOST, action="NOOP",
                             action_state="")
            return
        st = os.stat(path)
        if st.st_ino != ino:  # replaced since the request: nothing of this inode to copy
            hsm_store.upsert(conn, ino, action="NOOP", action_state="")
            return
        self._parents(rel)
        hsm.upload(self.fs.container, self.root,
                   hsm.Item(rel, False, st.st_size, st.st_mtime_ns))
        with self.fs.lock:
            self.fs.exported[rel] = (st.st_mtime_ns, st.st_size)
        hsm_store.mark_archived(conn, ino, st)
        self.archived_count += 1
        if self._matches(rel, self.faults.delete_blob_paths) and self.fs.container is not None:
            self.fs.container.delete_blob(rel)

    def _parents(self, rel: str) -> None:
        """Folder blobs for the file's directories, as the copytool leaves them."""
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d in self._folders:
                continue
            hsm.upload(self.fs.container, self.root, hsm.Item(d, True))
            self._folders.add(d)

    def _on_arm_export(self, item: hsm.Item) -> None:
        """An ARM archive copied ``item``: Lustre now holds it archived (the HSM state)."""
        if item.is_dir:
            return
        try:
            st = os.stat(self.root / item.rel)
        except OSError:
            return
        conn = hsm_store.connect(self.db)
        try:
            hsm_store.mark_archived(conn, st.st_ino, st)
        finally:
            conn.close()
