"""The emulated Lustre client's ``lfs``: the HSM subcommands with the real command lines and
output formats (from lustre-release's ``lfs.c`` and the lfs-hsm man page; no code of theirs).

Taken: ``hsm_state FILE...``, ``hsm_action FILE...``, ``hsm_archive [--archive NUM]
[--filelist FILE] [--data DATA] FILE...``, ``hsm_release`` and ``hsm_restore`` (``--filelist``,
``--data``). Printed, per file: ``FILE: (0x%08x) words[, archive_id:N]``; ``FILE: NOOP`` or
``FILE: ARCHIVE running (N bytes moved)`` / ``... waiting (from 0 to EOF)``; per-file failures
on stderr as ``lfs hsm_state: get HSM state for 'FILE' failed: REASON`` (state and action go
on with the next file and exit non-zero at the end); a request (archive, release, restore)
whose file cannot be resolved is refused as a whole, as lfs does.

Why a separate process: the product calls ``lfs`` as a subprocess; testing that path needs a
program on ``PATH``, not a Python object.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

from hpccache_cli.emulator.aml import hsm_store
from hpccache_cli.lustre.hsm_state import ARCHIVED, DIRTY, RELEASED, WORDS

USAGE = {
    "hsm_state": "usage: hsm_state FILE",
    "hsm_action": "usage: hsm_action FILE",
    "hsm_archive": "usage: hsm_archive [--filelist FILELIST] [--data DATA]\n"
                   "\t\t     [--archive NUM] FILE",
    "hsm_release": "usage: hsm_release [--filelist FILELIST] [--data DATA] FILE",
    "hsm_restore": "usage: hsm_restore [--filelist FILELIST] [--data DATA] FILE",
}


def _render_state(path: str, flags: int, archive_id: int) -> str:
    words = "".join(" " + w for f, w in WORDS if flags & f)
    tail = f", archive_id:{archive_id}" if archive_id else ""
    return f"{path}: (0x{flags:08x}){words}{tail}"


class Lfs:
    def __init__(self, config: dict[str, str]) -> None:
        self.root = os.path.realpath(config["root"])
        self.conn = hsm_store.connect(Path(config["db"]))
        #: The emulated client's ``coordinator = False`` (a file beside the state).
        self.coordinator_off = (Path(config["db"]).parent / "coordinator-off").exists()

    def resolve(self, path: str) -> tuple[os.stat_result | None, str]:
        """The file's stat and absolute path, or None and a strerror."""
        try:
            st = os.stat(path)
        except OSError as exc:
            return None, os.strerror(exc.errno or errno.EIO)
        full = os.path.realpath(path)
        if not (full == self.root or full.startswith(self.root + os.sep)):
            return None, os.strerror(errno.ENOTTY)  # not on Lustre: the ioctl is unknown
        return st, full

    def state(self, cmd: str, paths: list[str]) -> int:
        rc = 0
        found: list[tuple[str, os.stat_result | None]] = []
        for p in paths:
            found.append((p, self.resolve(p)[0]))
        rows = hsm_store.rows(self.conn, [st.st_ino for _, st in found if st is not None])
        out = sys.stdout
        for p, st in found:
            if st is None:
                _, why = self.resolve(p)
                what = "get HSM state" if cmd == "hsm_state" else "get hsm action"
                sys.stderr.write(f"lfs {cmd}: {what} for '{p}' failed: {why}\n")
                rc = 1
                continue
            r = rows.get(st.st_ino) or hsm_store.row(self.conn, st.st_ino)
            if cmd == "hsm_state":
                out.write(_render_state(p, hsm_store.effective_flags(r, st), r.archive_id)
                          + "\n")
            elif r.action == "NOOP" or r.action_state not in ("waiting", "running"):
                out.write(f"{p}: NOOP\n")
            elif r.action_state == "running":
                out.write(f"{p}: {r.action} running ({r.moved} bytes moved)\n")
            else:
                out.write(f"{p}: {r.action} waiting (from 0 to EOF)\n")
        return rc

    def request(self, cmd: str, paths: list[str], archive_id: int) -> int:
        resolved = []
        for p in paths:
            st, full = self.resolve(p)
            if st is None:
                sys.stderr.write(f"lfs {cmd}: cannot get FID of '{p}': {full}\n")
                return 1  # lfs refuses the whole request
            resolved.append((st, full))
        if self.coordinator_off:  # the MDT's HSM coordinator refuses requests
            sys.stderr.write(f"Cannot send HSM request (use of {paths[0]}): "
                             f"{os.strerror(errno.ENOTSUP)}\n")
            return 1
        for st, full in resolved:
            r = hsm_store.row(self.conn, st.st_ino)
            if cmd == "hsm_archive":
                hsm_store.upsert(self.conn, st.st_ino, action="ARCHIVE", action_state="waiting",
                                 path=full, moved=0, archive_id=archive_id or r.archive_id or 1)
            elif cmd == "hsm_release":
                flags = hsm_store.effective_flags(r, st)
                if not flags & ARCHIVED or flags & DIRTY:
                    sys.stderr.write(f"lfs {cmd}: cannot release '{full}': "
                                     f"{os.strerror(errno.EPERM)}\n")
                    return 1
                hsm_store.upsert(self.conn, st.st_ino, flags=r.flags | RELEASED)
            else:  # hsm_restore: the data comes back; the emulator never dropped it
                hsm_store.upsert(self.conn, st.st_ino, flags=r.flags & ~RELEASED)
        return 0


def _options(cmd: str, args: list[str]) -> tuple[list[str], int, str | None] | str:
    """(files, archive id, filelist) or an error line."""
    files: list[str] = []
    archive_id = 0
    filelist = None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--archive", "-a", "--data", "-D", "--filelist", "-l"):
            if i + 1 >= len(args):
                return f"lfs {cmd}: option '{a}' requires an argument"
            value = args[i + 1]
            if a in ("--archive", "-a"):
                if cmd != "hsm_archive":
                    return "error: -a is supported only when archiving or removing"
                archive_id = int(value) if value.isdigit() else 0
            elif a in ("--filelist", "-l"):
                filelist = value
            i += 2
            continue
        if a.startswith("-") and files == []:
            return f"lfs: unrecognized option '{a}'"
        files.append(a)
        i += 1
    return files, archive_id, filelist


def main(argv: list[str], config_json: str) -> int:
    if not argv or argv[0] not in USAGE:
        sys.stderr.write("lfs (emulated): only hsm_state, hsm_action, hsm_archive, "
                         "hsm_release and hsm_restore are emulated\n")
        return 1
    cmd, args = argv[0], argv[1:]
    lfs = Lfs(json.loads(config_json))
    try:
        if cmd in ("hsm_state", "hsm_action"):
            if not args:
                sys.stderr.write(f"{USAGE[cmd]}\n")
                return 1
            return lfs.state(cmd, args)
        parsed = _options(cmd, args)
        if isinstance(parsed, str):
            sys.stderr.write(parsed + "\n" + USAGE[cmd] + "\n")
            return 1
        files, archive_id, filelist = parsed
        if filelist is not None:
            try:
                with open(filelist, encoding="utf-8", errors="surrogateescape") as fh:
                    files += [line.rstrip("\n") for line in fh if line.strip()]
            except OSError as exc:
                sys.stderr.write(f"Cannot read the file list {filelist}: {exc.strerror}\n")
                return 1
        if not files:
            sys.stderr.write(f"{USAGE[cmd]}\n")
            return 1
        return lfs.request(cmd, files, archive_id)
    finally:
        lfs.conn.close()
        sys.stdout.flush()
