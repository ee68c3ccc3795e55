"""``--fallback target-flush`` verifies what it claims: a Succeeded storage-target flush is
checked file by file with a status COMMIT, and under TF_BUILD a cured file leaves no ##vso
error. CLI in a child process, real SDK over HTTPS to the fake ARM, NFS to the emulator."""

from __future__ import annotations

import json
from pathlib import Path

from flush_cache_support import BY_NAME, EmulatorOps, World, report_of, run, world

BAD = "/NAS_12_exp5/v"  # a directory whose write-backs the back end refuses (failing_paths)
CURED, REWRITTEN = f"{BAD}/cured", f"{BAD}/rewritten"


class RecoveringOps(EmulatorOps):
    """The back end recovers just before the target flush (so it Succeeds), and meanwhile a
    client writes REWRITTEN again: it is dirty once more when the flush reports Succeeded."""

    def __init__(self, w: World, rewrite: str | None) -> None:
        super().__init__(w.emu)
        self.world, self.rewrite = w, rewrite

    async def flush_target(self, target: str) -> None:
        self.emu.run(self.emu.namespace.faults.failing_paths.clear)
        await super().flush_target(target)
        if self.rewrite:
            self.world.cache_file(self.rewrite, b"written again by another client\n")


def test_only_files_written_back_are_reported_flushed(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    with world(tmp_path, faults={"failing_paths": [BAD]}) as w:
        w.arm.ops = RecoveringOps(w, REWRITTEN)
        files = w.dirty(CURED, REWRITTEN)
        proc = run(["flush", *BY_NAME, "--fallback", "target-flush", "--retries", "0",
                    "-o", "json", "--report", str(report), *files], w.env())
        w.assert_written_back(CURED)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["flushed"], data["failed"], data["exit_code"]) == (1, 1, 1)
    fallback = data["fallback"]
    assert [(t["status"], t["failed_files"]) for t in fallback["targets"]] == [("succeeded", 2)]
    assert fallback["failed_files_covered"] == 1
    assert fallback["failed_files_still_dirty"] == 1 and fallback["failed_files_verified"] == 1
    lines = report_of(report)
    assert (lines[CURED]["outcome"], lines[CURED]["kind"]) == ("flushed", "target-flush")
    again = lines[REWRITTEN]
    assert again["outcome"] == "failed" and again["kind"] != "target-flush"
    assert again["reason"].startswith("still dirty after the storage target flush")
    assert "reported Succeeded, but this file was not written back" in again["reason"]


def test_verified_files_without_records_and_text_summary(tmp_path: Path) -> None:
    with world(tmp_path, faults={"failing_paths": [BAD]}) as w:
        w.arm.ops = RecoveringOps(w, REWRITTEN)
        files = w.dirty(CURED, REWRITTEN)
        proc = run(["flush", *BY_NAME, "--fallback", "target-flush", "--retries", "0", *files],
                   w.env())
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode()
    assert "1 file(s) that failed per file were written back by a target flush (counted as " \
        "flushed, 1 checked written back with a status request)" in out
    assert "1 file(s) on a flushed storage target were not written back after all" in out


def test_a_cured_file_leaves_no_stale_vso_error(tmp_path: Path) -> None:
    with world(tmp_path, faults={"failing_paths": [BAD]}) as w:
        w.arm.ops = RecoveringOps(w, REWRITTEN)
        files = w.dirty(CURED, REWRITTEN)
        proc = run(["flush", *BY_NAME, "--fallback", "target-flush", "--retries", "0", *files],
                   w.env(TF_BUILD="True"))
    assert proc.returncode == 1, proc.stderr
    issues = [line for line in proc.stdout.decode().splitlines()
              if line.startswith("##vso[task.logissue type=error")]
    assert any(REWRITTEN in line for line in issues), issues
    assert not any(CURED in line for line in issues), issues
