"""Real third-party peers for the tests: nfs-ganesha (server) and libnfs-utils (client).

(tshark, the third peer, judges the bytes on the wire: see ``tests/tshark_support.py``.)

Why: our NFS client must work against a server we did not write, and our emulator must answer
a client we did not write. Both peers are real programs on loopback, never mocks.

The server runs through ``scripts/nfs-peer.sh`` (the same script developers use by hand). Its
ports are fixed (111/2049/20048), so there is one peer per machine; several pytest sessions
(several engineers, or an IDE next to a terminal) share it through a small lease registry:
the session that starts the peer records it, every session registers itself, and the last one
out stops it. A peer started by hand is reused and left running.

If the peer cannot run here (not root, packages missing, start fails) the tests that need it
skip with the reason, unless ``HPCCACHE_REQUIRE_PEERS=1`` (set by ``.ci/run``): then they fail.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, TypeVar
from urllib.parse import quote

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NFS_PEER_SH = REPO_ROOT / "scripts" / "nfs-peer.sh"
LOOPBACK = "127.0.0.1"
NFS_PORT = 2049
MOUNT_PORT = 20048
PORTMAP_PORT = 111
INSTALL_HINT = (
    "install with: apt-get install -y --no-install-recommends "
    "nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils tshark (or run scripts/test.sh as root)"
)
# Machine-wide like the ports it guards, hence not $TMPDIR.
LEASE_DIR = Path("/tmp/hpccache-nfspeer-lease")

T = TypeVar("T")


# --- general helpers ----------------------------------------------------------------------
def peers_required() -> bool:
    """CI sets HPCCACHE_REQUIRE_PEERS=1 so that a missing peer can never pass as a skip."""
    return os.environ.get("HPCCACHE_REQUIRE_PEERS", "") == "1"


def peer_unavailable(reason: str) -> NoReturn:
    """Skip (developer machine) or fail (CI) a test whose peer cannot run."""
    if peers_required():
        pytest.fail(f"peer required (HPCCACHE_REQUIRE_PEERS=1) but unavailable: {reason}",
                    pytrace=False)
    pytest.skip(f"peer unavailable: {reason}")


class WaitTimeout(AssertionError):
    """A condition did not become true before its deadline (a test failure, not an error)."""


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 60.0,
    *,
    interval: float = 0.01,
    ignore: tuple[type[BaseException], ...] = (),
    message: str = "",
) -> T:
    """Poll ``predicate`` until it returns something truthy; return that value.

    Why: tests wait on a condition with a deadline instead of sleeping and hoping. Exceptions
    listed in ``ignore`` (e.g. ConnectionRefusedError while a server starts) count as "not
    yet"; the last one is reported on timeout. The poll interval backs off to 0.2 s.

    The default deadline is a minute, not 10 s: a condition that is met in a second alone
    (a CLI subprocess started and its flushes in flight) can take many seconds on a loaded
    2-core CI machine, and only a failing test ever waits it out.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except ignore as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            what = message or getattr(predicate, "__name__", repr(predicate))
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}{extra}")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        interval = min(interval * 2, 0.2)


# --- nfs-ganesha --------------------------------------------------------------------------
@dataclass(frozen=True)
class GaneshaPeer:
    """A running nfs-ganesha NFSv3 server on loopback.

    ``export_dir`` is the exported directory on disk; ``export_path`` is the path MOUNT answers
    to (the real path of that directory; its subdirectories can be mounted too). The export
    may be shared with other test sessions: put files under :meth:`scratch_dir`.
    """

    export_dir: Path
    export_path: str
    host: str = LOOPBACK
    nfs_port: int = NFS_PORT
    mount_port: int = MOUNT_PORT
    portmap_port: int = PORTMAP_PORT
    _scratch: list[Path] = field(default_factory=list, repr=False, compare=False)

    def nfs_path(self, local: Path | str = "") -> str:
        """The NFS/MOUNT path of ``local`` (absolute under export_dir, or relative to it)."""
        rel = Path(local)
        if rel.is_absolute():
            rel = rel.relative_to(self.export_dir)
        return self.export_path if str(rel) in ("", ".") else f"{self.export_path}/{rel.as_posix()}"

    def url(self, local: Path | str = "") -> str:
        """A libnfs URL for ``local`` that names the ports (no portmapper round trip)."""
        return nfs_url(self.nfs_path(local), host=self.host, nfs_port=self.nfs_port,
                       mount_port=self.mount_port)

    def scratch_dir(self, prefix: str = "t-") -> Path:
        """A fresh, uniquely named directory in the export (world-writable, like /tmp).

        Removed when the session's peer is released, so a shared export does not fill up.
        """
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.export_dir))
        path.chmod(0o777)
        self._scratch.append(path)
        return path


def _run_script(command: str, nfspeer_dir: str | None, timeout: float = 120.0
                ) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if nfspeer_dir is not None:
        env["NFSPEER_DIR"] = nfspeer_dir
    return subprocess.run(["bash", str(NFS_PEER_SH), command], env=env, text=True,
                          capture_output=True, timeout=timeout, check=False)


def peer_status(nfspeer_dir: str | None = None) -> dict[str, str]:
    """``nfs-peer.sh status`` as a dict: state=ready|not-ready|stopped, nfspeer_dir, ..."""
    out = _run_script("status", nfspeer_dir, timeout=30).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _why_no_peer() -> str | None:
    if not NFS_PEER_SH.is_file():
        return f"{NFS_PEER_SH} is missing"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "nfs-ganesha needs root (ports 111/2049); run the suite as root"
    if shutil.which("bash") is None:
        return "bash is missing"
    return None


def _script_error(proc: subprocess.CompletedProcess[str]) -> str:
    text = (proc.stderr.strip() or proc.stdout.strip() or f"exit {proc.returncode}")
    return text.replace("nfs-peer: error: ", "")


class _Lease:
    """Reference-counts pytest sessions sharing the one peer (see module docstring)."""

    def __init__(self) -> None:
        LEASE_DIR.mkdir(parents=True, exist_ok=True)
        (LEASE_DIR / "users").mkdir(exist_ok=True)
        self.me = LEASE_DIR / "users" / f"{os.getpid()}-{_start_time(os.getpid())}"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with open(LEASE_DIR / "lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def state(self) -> dict[str, object]:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return json.loads((LEASE_DIR / "state.json").read_text())
        return {}

    def save(self, state: dict[str, object] | None) -> None:
        path = LEASE_DIR / "state.json"
        if state is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(json.dumps(state))

    def live_users(self) -> list[Path]:
        """Registered sessions still alive; entries of crashed sessions are removed."""
        alive = []
        for entry in (LEASE_DIR / "users").iterdir():
            pid, _, start = entry.name.partition("-")
            if pid.isdigit() and _start_time(int(pid)) == start:
                alive.append(entry)
            else:
                entry.unlink(missing_ok=True)
        return alive


def _start_time(pid: int) -> str:
    """Process start time (guards the registry against pid reuse); "" if pid is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _acquire(lease: _Lease) -> GaneshaPeer:
    why = _why_no_peer()
    if why:
        peer_unavailable(why)
    with lease.locked():
        lease.live_users()
        state = lease.state()
        status = peer_status()
        if status.get("state") in ("ready", "not-ready"):
            if status.get("foreign"):
                peer_unavailable(f"a ganesha not started by scripts/nfs-peer.sh is running "
                                 f"(pid {status.get('ganesha_pid')}, {status.get('config')})")
            nfspeer_dir = status["nfspeer_dir"]
            if state.get("dir") != nfspeer_dir:  # started by hand: reuse, leave it running
                state = {"dir": nfspeer_dir, "owned": False, "tmp": False}
        else:
            given = os.environ.get("NFSPEER_DIR")
            nfspeer_dir = given or tempfile.mkdtemp(prefix="hpccache-nfspeer-")
            state = {"dir": nfspeer_dir, "owned": True, "tmp": not given}
        proc = _run_script("start", nfspeer_dir)  # idempotent; waits until NFS+MOUNT answer
        if proc.returncode != 0:
            if state["tmp"] and not lease.live_users():
                shutil.rmtree(nfspeer_dir, ignore_errors=True)
            peer_unavailable(f"scripts/nfs-peer.sh start failed: {_script_error(proc)}")
        status = peer_status(nfspeer_dir)
        lease.save(state)
        lease.me.touch()
    return GaneshaPeer(export_dir=Path(nfspeer_dir) / "export", export_path=status["export_path"])


def _release(lease: _Lease) -> str | None:
    """Unregister; the last session out stops a peer that a test session started."""
    with lease.locked():
        lease.me.unlink(missing_ok=True)
        if lease.live_users():
            return None
        state = lease.state()
        lease.save(None)
        if not state.get("owned"):
            return None
        proc = _run_script("stop", str(state["dir"]))
        if state.get("tmp"):
            shutil.rmtree(str(state["dir"]), ignore_errors=True)
        return None if proc.returncode == 0 else _script_error(proc)


@contextlib.contextmanager
def ganesha_peer() -> Iterator[GaneshaPeer]:
    """Start (or reuse) the nfs-ganesha peer for the duration of the block."""
    lease = _Lease()
    peer = _acquire(lease)
    try:
        yield peer
    finally:
        for path in peer._scratch:
            shutil.rmtree(path, ignore_errors=True)
        error = _release(lease)
        if error:
            raise RuntimeError(f"stopping the nfs-ganesha peer failed: {error}")


# --- libnfs-utils (a real NFSv3 client) ---------------------------------------------------
def nfs_url(path: str, *, host: str = LOOPBACK, nfs_port: int = NFS_PORT,
            mount_port: int = MOUNT_PORT) -> str:
    """``nfs://HOST/PATH?version=3&nfsport=N&mountport=M`` (ports given: no portmapper)."""
    path = "/" + path.lstrip("/")
    return (f"nfs://{host}{quote(path, safe='/')}"
            f"?version=3&nfsport={nfs_port}&mountport={mount_port}")


def run_libnfs(tool: str, url: str, *args: str, timeout: float = 30.0
               ) -> subprocess.CompletedProcess[bytes]:
    """Run a libnfs-utils tool (nfs-ls, nfs-cat, nfs-cp, ...) against ``url``.

    Never with discovery (``-D`` broadcasts on the network); missing tools skip or fail the
    test like a missing peer. Raises AssertionError if the tool fails or hangs.
    """
    if any(a in ("-D", "--discovery") or (a.startswith("-") and not a.startswith("--")
                                           and "D" in a) for a in args):
        raise ValueError("libnfs discovery (-D) broadcasts beyond loopback: not allowed")
    if not url.startswith(f"nfs://{LOOPBACK}") and not url.startswith("nfs://[::1]"):
        raise ValueError(f"loopback URLs only, got {url}")
    require_libnfs(tool)
    cmd = [str(shutil.which(tool)), *args, url]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"{' '.join(cmd)} hung for {timeout:g} s") from exc
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}: "
                             f"{proc.stderr.decode(errors='replace').strip()}")
    return proc


def require_libnfs(*tools: str) -> None:
    """Skip/fail now (not mid-test) if libnfs-utils tools are missing."""
    missing = [t for t in tools or ("nfs-ls", "nfs-cat") if shutil.which(t) is None]
    if missing:
        peer_unavailable(f"{', '.join(missing)} missing (package libnfs-utils); {INSTALL_HINT}")


def nfs_ls(url: str, *, recursive: bool = False) -> list[str]:
    """Names listed by ``nfs-ls`` (``ls -l``-like lines: mode nlink uid gid size name)."""
    out = run_libnfs("nfs-ls", url, *(["-R"] if recursive else [])).stdout
    names = []
    for line in out.decode(errors="surrogateescape").splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6:
            names.append(fields[5])
    return names


def nfs_cat(url: str) -> bytes:
    """A file's bytes as read by ``nfs-cat``."""
    return run_libnfs("nfs-cat", url).stdout
