"""``flush --fallback target-flush`` waits a bounded time for each target flush (issue 13 §3).

A target flush that stays InProgress in Azure ends the fallback after ``--fallback-timeout``
seconds: the target is reported failed, still running in Azure, with the command that shows
its state; the per-file exit code stands. Through the real SDK, the fake ARM and the NFS
emulator, as a user runs it (a subprocess).
"""

from __future__ import annotations

import json
from pathlib import Path

from flush_cache_support import A_JUNCTION, A_ROOT, BY_NAME, one_error_line, run, world

DOWN = {"down_addresses": [A_ROOT, A_JUNCTION]}


def test_a_target_flush_that_never_ends_is_given_up_on(tmp_path: Path) -> None:
    with world(tmp_path, faults=DOWN) as w:
        files = w.dirty("/NAS_12_exp5/t/a")
        w.arm.faults.hold_next_lro()
        proc = run(["flush", *BY_NAME, "--fallback", "target-flush", "--fallback-timeout", "0.5",
                    "-o", "json", *files], w.env())
        assert proc.returncode == 4, proc.stderr  # nothing covered: the per-file code stands
        [target] = json.loads(proc.stdout)["fallback"]["targets"]
        assert (target["target"], target["status"]) == ("nas1", "failed")
        assert "did not finish within 0.5 s" in target["reason"]
        assert target["reason"].endswith(
            "still running in Azure; check with: hpccache target show --cache emu-test "
            "-g emulated-rg -n nas1")
        assert w.arm_calls("POST") == 1

        posts = w.arm_calls()
        bad = run(["flush", *BY_NAME, "--fallback", "target-flush", "--fallback-timeout", "0",
                   *files], w.env())
        assert bad.returncode == 2
        assert "--fallback-timeout must be a positive number" in one_error_line(bad)
        assert w.arm_calls() == posts
