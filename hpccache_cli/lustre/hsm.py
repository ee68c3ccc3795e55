"""The Lustre HSM side behind one small interface, and its production implementation: ``lfs``.

:class:`HsmSide` is what the verdicts and the export need of Lustre: the state and the running
action of many files, and queueing archives. :class:`LfsCommand` runs the ``lfs`` program of
the Lustre client (``lfs`` is not packaged for Debian; it exists on Lustre clients only), many
files per call; the emulator's ``lfs`` takes the same command lines, so this code path is what
the tests run. A later liblustreapi binding would be a third implementation.

Why batches with limits: one ``lfs`` per file costs a process start per file (the anchor of
the benchmark); one call for 100,000 files risks E2BIG and unbounded output. Each call carries
at most :data:`BATCH_FILES` paths and :data:`BATCH_BYTES` of argv, its output is read up to a
bound proportional to what was asked, and it is killed after ``timeout`` seconds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from typing import Protocol

from hpccache_cli.lustre.hsm_state import (
    Failed,
    HsmAction,
    HsmState,
    parse_action_line,
    parse_failure_line,
    parse_state_line,
)

BATCH_FILES = 2000
BATCH_BYTES = 96 * 1024
#: Output allowed per path asked (the path itself is added): a line is ~80 characters.
LINE_ALLOWANCE = 256
DEFAULT_TIMEOUT = 300.0


class HsmError(Exception):
    """The HSM side cannot answer at all (no ``lfs``, not a Lustre client)."""


class HsmSide(Protocol):
    """What the verdicts and the export need of Lustre, for many files at once."""

    def states(self, paths: Sequence[str]) -> dict[str, HsmState | Failed]: ...

    def actions(self, paths: Sequence[str]) -> dict[str, HsmAction | Failed]: ...

    def archive(self, paths: Sequence[str], archive_id: int = 0) -> dict[str, Failed]:
        """Queue archives; the files that could not be queued, with why."""
        ...


def batches(paths: Sequence[str], max_files: int = BATCH_FILES,
            max_bytes: int = BATCH_BYTES) -> list[list[str]]:
    """Split ``paths`` into argv-sized groups (each at least one path)."""
    out: list[list[str]] = []
    cur: list[str] = []
    size = 0
    for p in paths:
        cost = len(os.fsencode(p)) + 1
        if cur and (len(cur) >= max_files or size + cost > max_bytes):
            out.append(cur)
            cur, size = [], 0
        cur.append(p)
        size += cost
    if cur:
        out.append(cur)
    return out


def _unfit(path: str) -> str | None:
    """Why a path cannot go through lfs's line-based output unambiguously."""
    if "\n" in path or "\r" in path:
        return "the path holds a line break; lfs's output could not be matched to it"
    if path.startswith("-"):
        return "the path starts with '-' (lfs would read it as an option); give it as ./PATH"
    return None


class LfsCommand:
    """``lfs`` as a subprocess, batched, bounded in output and time."""

    def __init__(self, program: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 max_files: int = BATCH_FILES) -> None:
        found = program or shutil.which("lfs")
        if found is None:
            raise HsmError("lfs is not installed here (it comes with the Lustre client); run on "
                           "a Lustre client, or name the file system with -n FS -g RG to check "
                           "only the Blob side")
        self.program = found
        self.timeout = timeout
        self.max_files = max_files
        self.calls = 0  # how many lfs processes ran (benchmarks and tests read it)

    def _run(self, args: list[str], paths: list[str]) -> tuple[list[str], list[str], str | None]:
        """stdout lines, stderr lines, and a reason when the whole call failed (for
        ``hsm_state``/``hsm_action`` a non-zero exit only means some file failed: its
        line on stderr says which)."""
        self.calls += 1
        limit = sum(len(p) + LINE_ALLOWANCE for p in paths) + 4096
        try:
            proc = subprocess.run([self.program, *args, *paths], stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            return [], [], f"lfs {args[0]} did not answer within {self.timeout:g} s"
        except OSError as exc:
            return [], [], f"cannot run {self.program}: {exc.strerror or exc}"
        if len(proc.stdout) > limit or len(proc.stderr) > limit:
            return [], [], f"lfs {args[0]} printed more than {limit} bytes; output ignored"
        out = os.fsdecode(proc.stdout).splitlines()
        err = os.fsdecode(proc.stderr).splitlines()
        if proc.returncode != 0 and args[0] not in ("hsm_state", "hsm_action"):
            tail = " ".join(err)[:300] or f"exit status {proc.returncode}"
            return out, err, f"lfs {args[0]} failed: {tail}"
        return out, err, None

    def _ask(self, command: str, paths: Sequence[str],
             parse: Callable[[str], tuple[str, object] | None]) -> dict[str, object]:
        answers: dict[str, object] = {}
        fit: list[str] = []
        for p in paths:
            why = _unfit(p)
            if why:
                answers[p] = Failed(why)
            else:
                fit.append(p)
        for group in batches(fit, self.max_files):
            wanted = set(group)
            out, err, broke = self._run([command], group)
            if broke:
                answers.update({p: Failed(broke) for p in group})
                continue
            for line in out:
                parsed = parse(line)
                if parsed is not None and parsed[0] in wanted:
                    answers[parsed[0]] = parsed[1]
            for line in err:
                failed = parse_failure_line(line)
                if failed is not None and failed[0] in wanted:
                    answers.setdefault(failed[0], Failed(failed[1]))
            for p in group:
                if p not in answers:
                    tail = f" ({err[-1][:160]})" if err else ""
                    answers[p] = Failed(f"lfs {command} gave no answer for this file{tail}")
        return answers

    def states(self, paths: Sequence[str]) -> dict[str, HsmState | Failed]:
        got = self._ask("hsm_state", paths, parse_state_line)
        return {p: v for p, v in got.items() if isinstance(v, (HsmState, Failed))}

    def actions(self, paths: Sequence[str]) -> dict[str, HsmAction | Failed]:
        got = self._ask("hsm_action", paths, parse_action_line)
        return {p: v for p, v in got.items() if isinstance(v, (HsmAction, Failed))}

    def archive(self, paths: Sequence[str], archive_id: int = 0) -> dict[str, Failed]:
        """``lfs hsm_archive`` per batch. lfs gives up a whole request when one file of it
        fails, so a failed batch is retried file by file to name the files that failed."""
        failed: dict[str, Failed] = {}
        fit = []
        for p in paths:
            why = _unfit(p)
            if why:
                failed[p] = Failed(why)
            else:
                fit.append(p)
        args = ["hsm_archive"] + (["--archive", str(archive_id)] if archive_id else [])
        for group in batches(fit, self.max_files):
            why = self._run(args, group)[2]
            if why is None:
                continue
            if len(group) == 1:
                failed[group[0]] = Failed(why)
                continue
            for p in group:
                one = self._run(args, [p])[2]
                if one is not None:
                    failed[p] = Failed(one)
        return failed
