"""Lustre HSM state as ``lfs`` prints it, parsed into values.

Facts (``lustre_user.h`` and ``lfs.c`` of lustre-release, the lfs-hsm man page):

- state flags: EXISTS 0x1, DIRTY 0x2, RELEASED 0x4, ARCHIVED 0x8, NORELEASE 0x10,
  NOARCHIVE 0x20, LOST 0x40;
- ``lfs hsm_state FILE...`` prints one line per file,
  ``FILE: (0x%08x)`` then the words ``released exists dirty archived never_release
  never_archive lost_from_hsm`` for the flags set, then ``, archive_id:N`` when N is not 0
  (the man page's own example writes ``archive_id: 1``, with a space: both are read);
  a failure goes to stderr as ``lfs hsm_state: get HSM state for 'FILE' failed: REASON``;
- ``lfs hsm_action FILE...`` prints ``FILE: NOOP`` or ``FILE: ACTION state (detail)``, the
  action one of ARCHIVE RESTORE RELEASE REMOVE CANCEL, the state waiting, running or done.

Why parse by the flag number and not the words: the number is the kernel's answer; the words
are a rendering of it. The words are checked against the number only to catch a line that is
not what we think it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EXISTS = 0x1
DIRTY = 0x2
RELEASED = 0x4
ARCHIVED = 0x8
NORELEASE = 0x10
NOARCHIVE = 0x20
LOST = 0x40

#: lfs's words for each flag, in the order lfs prints them.
WORDS: tuple[tuple[int, str], ...] = (
    (RELEASED, "released"), (EXISTS, "exists"), (DIRTY, "dirty"), (ARCHIVED, "archived"),
    (NORELEASE, "never_release"), (NOARCHIVE, "never_archive"), (LOST, "lost_from_hsm"),
)
ACTIONS = ("NOOP", "ARCHIVE", "RESTORE", "RELEASE", "REMOVE", "CANCEL", "UNKNOWN")

_STATE_LINE = re.compile(
    r"^(?P<path>.*): \((?P<flags>0x[0-9a-fA-F]{1,8})\)(?P<words>[a-z_ ]*)"
    r"(?:, archive_id: ?(?P<archive>\d{1,10}))?\s*$")
_ACTION_LINE = re.compile(
    r"^(?P<path>.*): (?P<action>NOOP|ARCHIVE|RESTORE|RELEASE|REMOVE|CANCEL|UNKNOWN)"
    r"(?: (?P<state>[a-z]+) \((?P<detail>[^()]*)\))?\s*$")
_FAILED_LINE = re.compile(r"^\S*lfs \w+: .* for '(?P<path>.*)' failed: (?P<reason>.*)$")


@dataclass(frozen=True, slots=True)
class Failed:
    """Why one file has no answer (lfs's own reason, or ours)."""

    reason: str


@dataclass(frozen=True, slots=True)
class HsmState:
    """One file's HSM flags and archive id."""

    flags: int
    archive_id: int = 0

    def has(self, flag: int) -> bool:
        return bool(self.flags & flag)

    @property
    def words(self) -> str:
        """The flags as lfs words (``exists archived``), or ``none``."""
        return " ".join(w for f, w in WORDS if self.flags & f) or "none"

    @property
    def hex(self) -> str:
        return f"0x{self.flags:08x}"


@dataclass(frozen=True, slots=True)
class HsmAction:
    """The running HSM request of one file (``NOOP`` when none)."""

    action: str
    state: str = ""
    detail: str = ""

    @property
    def pending_archive(self) -> bool:
        return self.action == "ARCHIVE" and self.state in ("waiting", "running")

    @property
    def busy(self) -> bool:
        return self.action != "NOOP" and self.state in ("waiting", "running")


def parse_state_line(line: str) -> tuple[str, HsmState] | None:
    """One ``lfs hsm_state`` line as (path, state); None if it is not one."""
    m = _STATE_LINE.match(line)
    if m is None:
        return None
    flags = int(m.group("flags"), 16)
    words = m.group("words").split()
    known = {w for _, w in WORDS}
    if any(w not in known for w in words):
        return None
    archive = int(m.group("archive") or 0)
    return m.group("path"), HsmState(flags, archive)


def parse_action_line(line: str) -> tuple[str, HsmAction] | None:
    """One ``lfs hsm_action`` line as (path, action); None if it is not one."""
    m = _ACTION_LINE.match(line)
    if m is None:
        return None
    return m.group("path"), HsmAction(m.group("action"), m.group("state") or "",
                                      m.group("detail") or "")


def parse_failure_line(line: str) -> tuple[str, str] | None:
    """An lfs per-file failure on stderr as (path, reason)."""
    m = _FAILED_LINE.match(line)
    if m is None:
        return None
    return m.group("path"), m.group("reason").strip()[:200]

