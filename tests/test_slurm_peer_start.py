"""``scripts/slurm-peer.sh start`` under a slow machine: a daemon on its way to exec is
starting, not dead.

The script records ``$!`` (the forked shell) as the daemon's pid and, while it polls, checks
that this pid is the daemon by its name. For a moment after the fork the name is ``bash`` or
``setsid``; under load CI's first check came in that moment and said "munged exited during
start-up" of a daemon that was starting. A ``setsid`` that waits half a second before it
execs (first on PATH here) holds that moment open, so the old check fails every time.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from slurm_support import running_cluster


def test_start_waits_for_a_daemon_that_has_not_exec_d_yet(tmp_path: Path) -> None:
    real = shutil.which("setsid")
    assert real is not None
    slow = tmp_path / "bin" / "setsid"
    slow.parent.mkdir()
    slow.write_text(f"#!/bin/sh\nsleep 0.5\nexec {real} \"$@\"\n")
    slow.chmod(0o755)
    path = f"{slow.parent}:{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
    with running_cluster({"PATH": path}) as cluster:
        assert cluster.conf.is_file()  # started: munged, slurmctld and slurmd all up
