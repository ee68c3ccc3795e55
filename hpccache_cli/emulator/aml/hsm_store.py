"""The emulated Lustre client's HSM state: flags and requests per file, shared by processes.

Why SQLite keyed by inode: the emulator's ``lfs`` runs as a separate process per call (as the
real one does) and the copytool is a thread of the emulator; a database file both open is the
simplest state they can share safely. Keyed by inode, not path, because Lustre keeps HSM state
on the inode: a file renamed after its archive is still ``archived``, while its blob stays at
the old path (the "renamed" verdict needs exactly that).

Dirty: real Lustre sets DIRTY when data is written after an archive. The emulator sees a write
as a changed size or mtime (ns) against what the copytool archived; reading the state applies
it. So in the emulator a ``touch`` also dirties (use ``chmod``/``chown`` for a metadata-only
change).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from hpccache_cli.lustre.hsm_state import ARCHIVED, DIRTY, EXISTS, RELEASED

SCHEMA = """
CREATE TABLE IF NOT EXISTS hsm (
  ino INTEGER PRIMARY KEY,
  flags INTEGER NOT NULL DEFAULT 0,
  archive_id INTEGER NOT NULL DEFAULT 0,
  arch_mtime_ns INTEGER,
  arch_size INTEGER,
  action TEXT NOT NULL DEFAULT 'NOOP',
  action_state TEXT NOT NULL DEFAULT '',
  path TEXT,
  moved INTEGER NOT NULL DEFAULT 0
)
"""


@dataclass(frozen=True)
class Row:
    ino: int
    flags: int
    archive_id: int
    arch_mtime_ns: int | None
    arch_size: int | None
    action: str
    action_state: str
    path: str | None
    moved: int


def connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(db), timeout=30, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(SCHEMA)
    return conn


def row(conn: sqlite3.Connection, ino: int) -> Row:
    got = conn.execute("SELECT ino, flags, archive_id, arch_mtime_ns, arch_size, action, "
                       "action_state, path, moved FROM hsm WHERE ino = ?", (ino,)).fetchone()
    if got is None:
        return Row(ino, 0, 0, None, None, "NOOP", "", None, 0)
    return Row(*got)


def rows(conn: sqlite3.Connection, inos: list[int]) -> dict[int, Row]:
    """Many rows at once (the lfs program answers a batch with one query per 500)."""
    out: dict[int, Row] = {}
    for i in range(0, len(inos), 500):
        part = inos[i:i + 500]
        marks = ",".join("?" * len(part))
        for got in conn.execute("SELECT ino, flags, archive_id, arch_mtime_ns, arch_size, "
                                "action, action_state, path, moved FROM hsm WHERE ino IN "
                                f"({marks})", part):
            out[got[0]] = Row(*got)
    return out


def effective_flags(r: Row, st: os.stat_result) -> int:
    """The flags as ``hsm_state`` reports them now: DIRTY once the data changed."""
    flags = r.flags
    if flags & ARCHIVED and not flags & RELEASED and r.arch_size is not None and (
            r.arch_size != st.st_size or r.arch_mtime_ns != st.st_mtime_ns):
        flags |= DIRTY
    return flags


def upsert(conn: sqlite3.Connection, ino: int, **values: object) -> None:
    conn.execute("INSERT OR IGNORE INTO hsm (ino) VALUES (?)", (ino,))
    sets = ", ".join(f"{k} = ?" for k in values)
    conn.execute(f"UPDATE hsm SET {sets} WHERE ino = ?", (*values.values(), ino))


def mark_archived(conn: sqlite3.Connection, ino: int, st: os.stat_result,
                  archive_id: int = 1) -> None:
    upsert(conn, ino, flags=EXISTS | ARCHIVED, archive_id=archive_id,
           arch_mtime_ns=st.st_mtime_ns, arch_size=st.st_size, action="NOOP",
           action_state="", moved=st.st_size)
