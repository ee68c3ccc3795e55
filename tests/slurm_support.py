"""A real one-node Slurm on loopback for the job-array tests (``scripts/slurm-peer.sh``).

Why a real one: ``--shard auto`` must agree with what Slurm really sets in a task (22.05 sets
MAX to the last *real* index, and STEP of a list to its first range's step), and the example
script must run as users submit it. The cluster lives in a private directory with ports picked
free, is started once per test session and stopped at its end (by the PIDs the script
recorded). When it cannot run here (not root, packages missing) the tests skip, or fail under
``HPCCACHE_REQUIRE_PEERS=1``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from peers import peer_unavailable

REPO = Path(__file__).resolve().parents[1]
SLURM_PEER_SH = REPO / "scripts" / "slurm-peer.sh"
EXIT_CANNOT_RUN = 4


@dataclass(frozen=True)
class SlurmCluster:
    directory: Path
    conf: Path

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` plus SLURM_CONF (always: without it Slurm's clients leave loopback)."""
        return base | {"SLURM_CONF": str(self.conf)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _script(command: str, env: dict[str, str], timeout: float = 120.0
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SLURM_PEER_SH), command], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@contextmanager
def running_cluster(extra_env: dict[str, str] | None = None) -> Iterator[SlurmCluster]:
    """Start a one-node cluster in a private directory (``extra_env`` added to the script's
    environment), yield it, stop it."""
    if os.geteuid() != 0:
        peer_unavailable("Slurm's slurmd must run as root (run scripts/test.sh as root)")
    if shutil.which("slurmctld") is None and not Path("/usr/sbin/slurmctld").exists():
        peer_unavailable("slurm-wlm and munge are not installed (apt-get install -y "
                         "--no-install-recommends slurm-wlm munge, or scripts/test.sh as root)")
    # munged wants every directory above its socket searchable by all (pytest's are 0700)
    directory = Path(tempfile.mkdtemp(prefix="hpccache-slurm-", dir="/tmp"))
    directory.chmod(0o711)
    env = dict(os.environ) | {
        "SLURMPEER_DIR": str(directory), "SLURMPEER_CTLD_PORT": str(_free_port()),
        "SLURMPEER_NODE_PORT": str(_free_port()),
        "SLURMPEER_CPUS": "8",  # the 8 tasks of an array start together on a small machine
        "PATH": os.environ.get("PATH", "") + ":/usr/sbin:/sbin",
    } | (extra_env or {})
    started = _script("start", env)
    if started.returncode != 0:
        _script("stop", env)
        why = (started.stderr or started.stdout).strip().splitlines()
        reason = why[-1] if why else f"exit {started.returncode}"
        if started.returncode == EXIT_CANNOT_RUN:
            peer_unavailable(reason)
        pytest.fail(f"scripts/slurm-peer.sh start failed: {reason}", pytrace=False)
    try:
        yield SlurmCluster(directory, directory / "etc" / "slurm.conf")
    finally:
        if _script("stop", env).returncode == 0:
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    with running_cluster() as cluster:
        yield cluster
