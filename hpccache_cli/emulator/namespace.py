"""The emulated cache's aggregated namespace: junctions, file handles and dirty tracking.

Clients see one tree: synthetic directories down to each junction (so mounting ``/`` shows
every junction, as on a real HPC Cache), and below a junction the union of the cache's copy
(``cache_dir/<namespace path>``) and the storage target's copy
(``backend_dir/<target_path>/<rest>``), the cache copy winning. A file is *dirty* when its cache
copy differs from the back-end copy; write-back (``writeback.py``) makes them equal again.

Handles are ``magic + generation + fileid`` with the fileid a hash of the namespace path (and
of how often that path's handle was invalidated), so they are identical on every mount address,
survive reconnects and, as a real server's, survive a restart of the emulator: after a restart
a handle names the same path or, until that path is looked up again, is STALE; it never names
another file. (A counter, as before, handed the first handles looked up after a restart to
other paths: a paused client then flushed the wrong files and reported its own as flushed.)
A forged or forgotten handle is reliably STALE.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import stat
import struct
import time
from collections import OrderedDict
from collections.abc import Iterator

from hpccache_cli import usage_models
from hpccache_cli.emulator.config import EmulatorConfig, Faults, Junction, StorageTarget
from hpccache_cli.emulator.nodes import (
    JROOT,
    REAL,
    SYNTH,
    NfsStatusError,
    Node,
    child_path,
    norm_path,
    parent_path,
)
from hpccache_cli.emulator.verify import BackendVerifier
from hpccache_cli.emulator.writeback import ContentCompare, WriteBackScheduler, copy_back
from hpccache_cli.nfs.nfs3 import Fattr3, Ftype3, NfsTime3
from hpccache_cli.nfs.nfs3 import Nfsstat3 as S

log = logging.getLogger("hpccache_cli.emulator.writeback")  # where scans logged before

MAGIC = b"HPCE"
_HANDLE = struct.Struct(">4sIQ")  # magic, generation, fileid: 16 bytes
FSID = 0x48504343  # "HPCC": one file system, like the cache presents itself
_FTYPES = {
    stat.S_IFREG: Ftype3.NF3REG, stat.S_IFDIR: Ftype3.NF3DIR, stat.S_IFLNK: Ftype3.NF3LNK,
    stat.S_IFBLK: Ftype3.NF3BLK, stat.S_IFCHR: Ftype3.NF3CHR, stat.S_IFSOCK: Ftype3.NF3SOCK,
    stat.S_IFIFO: Ftype3.NF3FIFO,
}


class Namespace:
    """Namespace, handles, dirty state and the TargetOps the fake ARM drives."""

    def __init__(self, config: EmulatorConfig, faults: Faults) -> None:
        self.config = config
        self.faults = faults
        self.cache_dir = str(config.cache.cache_dir)
        self._junctions: dict[str, tuple[Junction, StorageTarget]] = {
            j.namespace_path: (j, t) for j, t in config.junctions()
        }
        self._caches_writes = {
            t.name: usage_models.lookup(t.usage_model, t.type).caches_writes
            for t in config.storage_targets
        }
        # Names a directory shows because a junction lies below it.
        self._virtual: dict[str, set[str]] = {}
        for jp in self._junctions:
            parts = jp.strip("/").split("/")
            for i, name in enumerate(parts):
                self._virtual.setdefault("/" + "/".join(parts[:i]), set()).add(name)
        self.suspended: set[str] = set()
        self.writeback = WriteBackScheduler(config.writeback, faults, copy=self._copy_back)
        self.compare = ContentCompare()
        self.verifier = BackendVerifier({  # back-end verification (emulator/verify.py)
            t.name: t.verification_seconds if t.verification_seconds is not None
            else usage_models.lookup(t.usage_model, t.type).verify_seconds
            for t in config.storage_targets}, self.compare)
        self._generation = 1
        self._incarnation: dict[str, int] = {}  # paths whose handle was invalidated, and how often
        self._by_path: dict[str, Node] = {}
        self._by_id: dict[int, Node] = {}
        self._listings: OrderedDict[tuple[str, bytes], list[str]] = OrderedDict()
        self.started = NfsTime3(int(time.time()), 0)

    # --- layout -----------------------------------------------------------------------------

    def ensure_dirs(self) -> None:
        """Create the cache directory and every junction's back-end directory."""
        os.makedirs(self.cache_dir, exist_ok=True)
        for j, t in self._junctions.values():
            os.makedirs(os.path.join(t.backend_dir, j.target_path.lstrip("/")), exist_ok=True)

    def caches_writes(self, target: str) -> bool:
        """Does this target's usage model cache writes (can its files ever be dirty)?"""
        return self._caches_writes.get(target, False)

    def junction_paths(self) -> list[str]:
        return sorted(self._junctions)

    def _junction_of(self, path: str) -> str | None:
        probe = path
        while True:
            if probe in self._junctions:
                return probe
            if probe == "/":
                return None
            probe = parent_path(probe)

    def _make(self, path: str) -> Node:
        jp = self._junction_of(path)
        if jp is None:
            return Node(path, SYNTH, None, "", "", False)
        junction, target = self._junctions[jp]
        backend = str(target.backend_dir) + _join(junction.target_path, path[len(jp):])
        return Node(path, JROOT if path == jp else REAL, target, self.cache_dir + path,
                    backend, self._caches_writes[target.name])

    def _register(self, node: Node) -> Node:
        known = self._by_path.get(node.path)
        if known is not None:
            return known
        node.fileid = self._fileid(node.path)
        node.handle = _HANDLE.pack(MAGIC, self._generation, node.fileid)
        self._by_path[node.path] = node
        self._by_id[node.fileid] = node
        return node

    def _fileid(self, path: str) -> int:
        """A path's file id, stable across restarts: a 64-bit hash (never 0) of the path and
        its incarnation. A collision with a known path (about 1 in 2**64 per pair) moves to
        the next incarnation, so one id never names two paths."""
        incarnation = self._incarnation.get(path, 0)
        while True:
            seed = f"{incarnation}\0{path}".encode("utf-8", "surrogateescape")
            fileid = int.from_bytes(hashlib.blake2b(seed, digest_size=8).digest(), "big") or 1
            known = self._by_id.get(fileid)
            if known is None or known.path == path:
                return fileid
            incarnation += 1

    def node_for_new(self, path: str) -> Node:
        """The node of ``path`` whether or not it exists yet (CREATE, MKDIR: the handle the
        reply names), registered so its handle works at once."""
        known = self._by_path.get(path)
        return known if known is not None else self._register(self._make(path))

    # --- handles ----------------------------------------------------------------------------

    def node_for_handle(self, fh: bytes) -> Node:
        """The node a handle names: BADHANDLE if it is not ours, STALE if no longer valid."""
        if len(fh) != _HANDLE.size or fh[:4] != MAGIC:
            raise NfsStatusError(S.NFS3ERR_BADHANDLE)
        _, generation, fileid = _HANDLE.unpack(fh)
        node = self._by_id.get(fileid)
        if node is None or generation != self._generation:
            raise NfsStatusError(S.NFS3ERR_STALE)
        return node

    def invalidate_handle(self, path: str) -> None:
        """Make the handle of ``path`` STALE; a new LOOKUP hands out a new one."""
        path = norm_path(path) or path
        node = self._by_path.pop(path, None)
        if node is not None:
            self._by_id.pop(node.fileid, None)
            self._incarnation[path] = self._incarnation.get(path, 0) + 1

    def forget_handles(self) -> None:
        """Make every handle handed out so far STALE (like a server losing its handle table)."""
        self._generation += 1
        self._by_path.clear()
        self._by_id.clear()

    # --- resolution and attributes ----------------------------------------------------------

    def stat(self, node: Node) -> os.stat_result | None:
        """The winning copy's lstat; None for synthetic directories. NOENT if neither exists."""
        if node.kind == SYNTH:
            return None
        if node.kind == REAL and self.verifier.due(node):
            self.verify(node)  # the target's verification timer ran out
        try:
            return os.lstat(node.cache_path)
        except (FileNotFoundError, NotADirectoryError):
            pass
        try:
            return os.lstat(node.backend_path)
        except (FileNotFoundError, NotADirectoryError):
            if node.kind == JROOT or node.path in self._virtual:
                return None
            raise NfsStatusError(S.NFS3ERR_NOENT) from None

    def fattr(self, node: Node, st: os.stat_result | None) -> Fattr3:
        if st is None:
            t = self.started
            return Fattr3(Ftype3.NF3DIR, 0o755, 2, 0, 0, 4096, 4096, 0, 0, FSID, node.fileid,
                          t, t, t)
        return Fattr3(
            _FTYPES.get(stat.S_IFMT(st.st_mode), Ftype3.NF3REG), stat.S_IMODE(st.st_mode),
            st.st_nlink, st.st_uid, st.st_gid, st.st_size, st.st_blocks * 512, 0, 0, FSID,
            node.fileid, _t(st.st_atime_ns), _t(st.st_mtime_ns), _t(st.st_ctime_ns),
        )

    @staticmethod
    def is_dir(st: os.stat_result | None) -> bool:
        return st is None or stat.S_ISDIR(st.st_mode)

    def node_at(self, path: str) -> Node | None:
        """The node of an existing namespace path (for MNT and TargetOps), or None."""
        path = norm_path(path)  # type: ignore[assignment]
        if path is None:
            return None
        node = self._by_path.get(path)
        if node is not None:
            return node
        node = self._make(path)
        if node.kind == SYNTH and path != "/" and path not in self._virtual:
            return None
        try:
            self.stat(node)
        except NfsStatusError:
            return None
        return self._register(node)

    def resolve(self, path: str) -> Node | None:
        """Walk ``path`` from ``/`` one LOOKUP at a time, as a client would (for MNT).

        Unlike :meth:`node_at`, no symlink on the way is followed. None if it does not exist.
        """
        norm = norm_path(path)
        if norm is None:
            return None
        node = self._register(self._make("/"))
        try:
            for part in norm.split("/")[1:] if norm != "/" else []:
                node, _ = self.lookup(node, os.fsencode(part))
        except NfsStatusError:
            return None
        return node

    def lookup(self, directory: Node, name: bytes) -> tuple[Node, os.stat_result | None]:
        if not self.is_dir(self.stat_handle(directory)):
            raise NfsStatusError(S.NFS3ERR_NOTDIR)
        if len(name) > 255:
            raise NfsStatusError(S.NFS3ERR_NAMETOOLONG)
        text = os.fsdecode(name)
        if not text or "/" in text or "\0" in text:
            raise NfsStatusError(S.NFS3ERR_INVAL)
        if text == ".":
            return directory, self.stat_handle(directory)
        if text == "..":
            parent = self.node_at(parent_path(directory.path)) or directory
            return parent, self.stat_handle(parent)
        return self.child(directory, text)

    def child(self, directory: Node, name: str) -> tuple[Node, os.stat_result | None]:
        """The entry ``name`` of a directory known to exist, with its attributes (or NOENT)."""
        path = child_path(directory.path, name)
        node = self._by_path.get(path)
        if node is None:
            node = self._make(path)
            if node.kind == SYNTH and path not in self._virtual:
                raise NfsStatusError(S.NFS3ERR_NOENT)
        st = self.stat(node)
        return self._register(node), st

    def stat_handle(self, node: Node) -> os.stat_result | None:
        """Like stat, but a vanished file is STALE (the client holds a handle to it)."""
        try:
            return self.stat(node)
        except NfsStatusError:
            raise NfsStatusError(S.NFS3ERR_STALE) from None

    def listing(self, node: Node, verf: bytes, fresh: bool) -> tuple[list[str], bytes]:
        """Sorted entry names (with . and ..) and their cookie verifier.

        A fresh listing (cookie 0) is read from disk; continuations reuse the listing their
        verifier names, so cookies (indexes into it) stay meaningful while the directory
        changes. An unknown verifier means the listing changed: BAD_COOKIE.
        """
        key = (node.path, verf)
        if not fresh and key in self._listings:
            self._listings.move_to_end(key)
            return self._listings[key], verf
        names = set(self._virtual.get(node.path, ()))
        if node.kind != SYNTH:
            for base in (node.cache_path, node.backend_path):
                with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                    names.update(os.listdir(base))
        entries = [".", "..", *sorted(names)]
        new_verf = hashlib.blake2b("\0".join(entries).encode("utf-8", "surrogateescape"),
                                   digest_size=8, key=node.path.encode()[:64]).digest()
        if not fresh and verf != b"\0" * 8 and verf != new_verf:
            raise NfsStatusError(S.NFS3ERR_BAD_COOKIE)
        self._listings[(node.path, new_verf)] = entries
        while len(self._listings) > 256:
            self._listings.popitem(last=False)
        return entries, new_verf

    # --- dirty tracking ---------------------------------------------------------------------

    def is_dirty(self, ns_path: str) -> bool:
        """Does the cache hold data for ``ns_path`` that its storage target does not have?"""
        path = norm_path(ns_path)
        if path is None:
            return False
        node = self._by_path.get(path) or self._make(path)
        return self.node_dirty(node)

    def node_dirty(self, node: Node) -> bool:
        if node.kind != REAL or not node.caches_writes:
            return False
        return self.verifier.dirty(node)

    def verify(self, node: Node) -> bool:
        """Compare a cache copy with the back end now (timer, or a READDIRPLUS of its
        directory); a stale clean copy is dropped. Never while it is being written back."""
        return (node.kind == REAL and not self.writeback.running(node.path)
                and self.verifier.verify(node))

    def _copy_back(self, node: Node) -> None:
        copy_back(node)
        self.verifier.record(node)  # the two sides agree: a later back-end change is stale

    def cache_files(self, target: str | None = None) -> Iterator[tuple[str, str]]:
        """(namespace path, cache path) of every cache copy under the target's junctions."""
        for jp, (_, t) in sorted(self._junctions.items()):
            if target is not None and t.name != target:
                continue
            top = self.cache_dir + jp
            for dirpath, dirnames, filenames in os.walk(top):
                ns_dir = jp + dirpath[len(top):]
                # A nested junction's files belong to that junction, not to this one.
                dirnames[:] = [d for d in dirnames
                               if child_path(ns_dir, d) not in self._junctions]
                for name in filenames:
                    yield child_path(ns_dir, name), os.path.join(dirpath, name)

    def dirty_files(self, target: str | None = None) -> list[str]:
        found = []
        for ns_path, _ in self.cache_files(target):
            node = self._by_path.get(ns_path) or self._make(ns_path)
            if self.node_dirty(node):
                found.append(ns_path)
        return found

    # --- automatic write-back -----------------------------------------------------------------

    def scan_interval(self) -> float | None:
        """How often to look for files due for write-back; None when no target writes back."""
        delays = [t.write_back_delay_seconds for t in self.config.storage_targets
                  if t.write_back_delay_seconds >= 0 and self.caches_writes(t.name)]
        return min(max(min(delays) / 4, 0.05), 1.0) if delays else None

    def _due_files(self, now: float) -> list[str]:
        """Cache copies whose last change is older than their target's write-back delay."""
        due = []
        for t in self.config.storage_targets:
            delay = t.write_back_delay_seconds
            if delay < 0 or not self.caches_writes(t.name):
                continue
            for ns_path, cache_path in self.cache_files(t.name):
                try:
                    st = os.lstat(cache_path)  # a symlink is never dirty (see ContentCompare)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode) and st.st_mtime + delay <= now:
                    due.append(ns_path)
        return due

    async def auto_write_back(self, interval: float) -> None:
        """Forever: start the write-back of every dirty file that is due (runs as a task).
        The scan walks the cache directory in a thread: a large cache must not stall NFS."""
        while True:
            await asyncio.sleep(interval)
            self.writeback.scans += 1
            try:
                due = await asyncio.to_thread(self._due_files, time.time())
                for ns_path in due:
                    node = self.node_at(ns_path)
                    if (not self.writeback.running(ns_path) and node is not None
                            and self.node_dirty(node)):
                        self.writeback.start(node)
            except Exception:  # a scan must never end the loop: log and try again later
                log.exception("automatic write-back scan failed")

    # --- TargetOps (driven by the fake ARM) -------------------------------------------------

    def _check_target(self, target: str) -> None:
        if self.config.target(target) is None:
            known = ", ".join(t.name for t in self.config.storage_targets) or "none"
            raise ValueError(f"no storage target named {target!r} (known: {known})")

    async def _write_back_all(self, paths: list[str]) -> None:
        nodes = [n for n in map(self.node_at, paths) if n is not None]
        tasks = [self.writeback.start(n) for n in nodes]
        results = await asyncio.gather(*(asyncio.shield(t) for t in tasks))
        failed = [n.path for n, ok in zip(nodes, results, strict=True) if not ok]
        if failed:
            shown = ", ".join(failed[:5]) + (" ..." if len(failed) > 5 else "")
            raise RuntimeError(f"{len(failed)} file(s) could not be written back: {shown}")

    async def flush_target(self, target: str) -> None:
        self._check_target(target)
        await self._write_back_all(self.dirty_files(target))

    async def flush_all(self) -> None:
        await self._write_back_all(self.dirty_files())

    def set_suspended(self, target: str, suspended: bool) -> None:
        """Suspended targets answer every NFS call with JUKEBOX (see handlers_nfs)."""
        self._check_target(target)
        (self.suspended.add if suspended else self.suspended.discard)(target)

    async def invalidate_target(self, target: str) -> None:
        self._check_target(target)
        for ns_path, cache_path in list(self.cache_files(target)):
            node = self._by_path.get(ns_path) or self._make(ns_path)
            if not self.writeback.running(ns_path) and not self.node_dirty(node):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(cache_path)

    def dirty_count(self, target: str | None = None) -> int:
        if target is not None:
            self._check_target(target)
        return len(self.dirty_files(target))


def _join(target_path: str, rest: str) -> str:
    """``/sub`` + ``/a/b`` -> ``/sub/a/b``; ``/`` + `` `` -> `` ``: a suffix for backend_dir."""
    return ("" if target_path == "/" else target_path) + rest


def _t(ns: int) -> NfsTime3:
    return NfsTime3((ns // 1_000_000_000) & 0xFFFFFFFF, ns % 1_000_000_000)
