"""SIGTERM and SIGHUP (a Slurm time limit, a closed terminal) end a waiting Azure operation as
Ctrl-C does: one line saying it may still be running in Azure and how to check, exit 130, no
traceback. Before, they killed the process with no word. Through the real SDK against the
HTTPS fake ARM, in a subprocess; the wait is observed (a status GET seen), never slept for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from arm_support import ArmWorld
from peers import wait_until

from hpccache_cli.errors import EXIT_INTERRUPTED

CASES = {
    "target flush": (["target", "flush", "emu", "-g", "emu-rg", "-t", "nas1", "--yes"],
                     "interrupted; the flush may still be running in Azure (check with: "
                     "hpccache target show --cache emu -g emu-rg -n nas1)"),
    "cache flush": (["cache", "flush", "emu", "-g", "emu-rg", "--yes"],
                    "interrupted; the flush may still be running in Azure (check with: "
                    "hpccache cache show emu -g emu-rg)"),
}


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_signal_during_the_wait_is_one_line_and_exit_130(
    world: ArmWorld, env: dict[str, str | None], case: str, sig: str
) -> None:
    args, line = CASES[case]
    world.arm.faults.hold_next_lro()
    polls = world.arm.request_count("GET", "/ascOperations/")
    full = {**os.environ, **env, "PYTHONPATH": str(Path(__file__).parent.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpccache_cli", *args],
        env={k: v for k, v in full.items() if v is not None}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: world.arm.request_count("GET", "/ascOperations/") > polls,
                   timeout=60, message="the operation's status was never polled")
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    world.arm.faults.clear()
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err
    errors = [x for x in err.splitlines() if x.startswith("hpccache: error:")]
    assert errors == [f"hpccache: error: {line}"], err
