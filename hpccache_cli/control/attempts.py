"""How many attempts the last ARM request took (see :class:`AttemptLog`)."""

from __future__ import annotations

import threading


class AttemptLog:
    """How many attempts the last request took (error messages quote it); shared by the
    policies of every client built from one :class:`~hpccache_cli.control.client.ArmSettings`.
    In a module of its own so that the settings (no Azure SDK at import) and the transport
    policies (the SDK) both use it without importing each other."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.attempts = 0

    def start(self) -> None:
        with self._lock:
            self.attempts = 1

    def retried(self) -> int:
        with self._lock:
            self.attempts += 1
            return self.attempts
