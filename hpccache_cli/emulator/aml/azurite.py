"""Azurite, Microsoft's Azure Storage emulator, as the AMLFS emulator's blob back end.

Why Azurite and not a fake of our own: the HSM copy and the import walk go through
``azure-storage-blob`` against a real Blob service, so what the emulator writes is what the
field's own library reads (names, metadata, folder markers), byte for byte.

Facts this module relies on (measured with Azurite 3.37.0 on node 20):

- ``scripts/_venv.sh`` installs the pinned :data:`AZURITE_VERSION` with npm into the
  project's ``.azurite/`` (3.37.0 declares node >= 22 but runs on node 20);
- ``--blobPort 0`` makes it pick a free port, printed as ``successfully listens on URL``;
- ``--skipApiVersionCheck``: azure-storage-blob's default ``x-ms-version`` is newer than the
  versions Azurite knows (it answers 400 InvalidHeaderValue without the flag);
- ``--disableTelemetry``: telemetry is on by default and posts to applicationinsights;
- ``--location``: without it Azurite writes its databases into the current directory;
- stop by signalling ``node`` itself (an ``npx``/``sh`` in front leaves node running).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

#: The Azurite release the project installs and tests against.
AZURITE_VERSION = "3.37.0"
#: Azurite's public development account (identical in every Azurite; not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
_MAIN = Path("node_modules") / "azurite" / "dist" / "src" / "blob" / "main.js"
_LISTENS = re.compile(r"successfully listens on (http://127\.0\.0\.1:(\d+))")
START_TIMEOUT = 30.0


class AzuriteMissing(RuntimeError):
    """Azurite (or node) is not installed where the emulator looks."""


def default_prefixes() -> list[Path]:
    """Where ``npm install --prefix`` may have put Azurite, most specific first:
    ``HPCCACHE_AZURITE_PREFIX``, the source checkout's ``.azurite/``, the user's cache."""
    found: list[Path] = []
    env = os.environ.get("HPCCACHE_AZURITE_PREFIX", "").strip()
    if env:
        found.append(Path(env))
    found.append(Path(__file__).resolve().parents[3] / ".azurite")
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    found.append(Path(cache) / "hpccache" / f"azurite-{AZURITE_VERSION}")
    return found


def find_azurite(prefix: Path | None = None) -> Path:
    """The ``main.js`` of Azurite's blob service; :class:`AzuriteMissing` says how to install."""
    candidates = [prefix] if prefix is not None else default_prefixes()
    for p in candidates:
        if (p / _MAIN).is_file():
            return p / _MAIN
    where = candidates[0]
    raise AzuriteMissing(
        f"Azurite is not installed in {where}; install it with: npm install --prefix {where} "
        f"--no-audit --no-fund azurite@{AZURITE_VERSION} (scripts/test.sh does this)"
    )


def connection_string(url: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint={url}/{DEV_ACCOUNT};"
    )


def _die_with_parent() -> None:
    """In the child: SIGTERM when the emulator dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG), so no Azurite outlives a killed test run or emulator."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass  # not Linux: stop() is the only way down


class Azurite:
    """One Azurite blob service on 127.0.0.1, on a port it picks itself."""

    def __init__(self, location: Path, prefix: Path | None = None) -> None:
        self.location = location
        self.main = find_azurite(prefix)
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None
        self._log: list[str] = []

    @property
    def connection_string(self) -> str:
        return connection_string(self.url)

    def start(self, timeout: float = START_TIMEOUT) -> Azurite:
        node = shutil.which("node")
        if node is None:
            raise AzuriteMissing("node is not installed (Azurite runs on node >= 20)")
        self.location.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [node, str(self.main), "--blobHost", "127.0.0.1", "--blobPort", "0",
             "--skipApiVersionCheck", "--disableTelemetry", "--location", str(self.location)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, cwd=self.location, preexec_fn=_die_with_parent,
        )
        found = threading.Event()
        threading.Thread(target=self._read, args=(found,), daemon=True,
                         name="azurite-log").start()
        if not found.wait(timeout) or not self.url:
            self.stop()
            tail = " | ".join(self._log[-3:]) or "no output"
            raise AzuriteMissing(f"Azurite did not start within {timeout:g} s ({tail})")
        return self

    def _read(self, found: threading.Event) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        for line in proc.stdout:
            if len(self._log) < 200:
                self._log.append(line.rstrip()[:300])
            m = _LISTENS.search(line)
            if m and not found.is_set():
                self.url = m.group(1)
                found.set()
        found.set()  # exited: start() sees no URL

    def stop(self) -> None:
        """SIGTERM to node itself (it closes in well under a second), SIGKILL if it lingers."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
