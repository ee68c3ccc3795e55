"""The NFS client speaks Python, the CLI speaks flags: a client error names the ClientOptions
field that may fix it (``fields``, with a machine-readable ``hint``), so a script calling
``flush_paths`` reads ``mount_port`` while ``hpccache flush`` users still read
``--mount-port``, the same sentence otherwise.

The portmapper here is a free loopback port nobody listens on, the user-visible case of a
cache whose rpcbind is not reachable.
"""

from __future__ import annotations

import os
import socket
import subprocess

from test_flush_support import CLI, ROOT

from hpccache_cli.cli.nfs_options import FLAGS
from hpccache_cli.flush import flush_paths

ADDR = "127.0.0.39"
ADVICE = "is rpcbind running there? or give {} and {} to skip it"


def refusing_port() -> int:
    with socket.socket() as s:
        s.bind((ADDR, 0))
        return int(s.getsockname()[1])


def test_python_callers_read_keyword_names() -> None:
    summary = flush_paths(["a"], ips=[ADDR], export="/NAS_12_exp5", portmap_port=refusing_port(),
                          timeout=30)
    assert summary.unreachable and summary.exit_code == 4
    reason = summary.unreachable_reason
    assert ADVICE.format("mount_port", "nfs_port") in reason, reason
    assert "--" not in reason


def test_cli_users_read_the_flags() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [*CLI, "flush", "--ip", ADDR, "--export", "/NAS_12_exp5",
         "--portmap-port", str(refusing_port())],
        input=b"a\n", capture_output=True, env=env, timeout=60, check=False,
    )
    assert proc.returncode == 4, proc.stderr
    last = proc.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("hpccache: error: cache unreachable")
    assert ADVICE.format("--mount-port", "--nfs-port") in last, last


def test_every_field_an_nfs_error_names_has_a_flag() -> None:
    # The fields the client's errors may name (nfs/client.py, rpc.py, transport.py,
    # portmap_client.py): each must map to a flag, or a CLI message would show a keyword.
    named = {"mount_port", "nfs_port", "portmap_port", "privileged_port", "uid", "gid"}
    assert named <= FLAGS.keys()
    assert all(flag.startswith("--") for flag in FLAGS.values())
