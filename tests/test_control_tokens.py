"""Long waits ask for tokens as they go, so a federated token's ~10-minute life is no limit.

Azure Pipelines' workload-identity tokens live about ten minutes; a storage-target flush can
take longer. The control code must hand the SDK a *credential* (asked before each request whose
token is near expiry), never a token string fetched once. This test gives the real SDK a
credential whose tokens are always close to expiry and holds a target flush open over many
polls: every request must have been preceded by a fresh ``get_token``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from arm_support import TOKEN, ArmWorld, start_world
from azure.core.credentials import AccessToken
from peers import wait_until

from hpccache_cli.control.operations import flush_target


class ShortLivedCredential:
    """Issues the fake ARM's token with 60 s left: inside azure-core's refresh window, so the
    SDK must come back for a new one before every request."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        with self.lock:
            self.calls += 1
        return AccessToken(TOKEN, int(time.time()) + 60)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmWorld]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    w = start_world(tmp_path / "emu")
    try:
        yield w
    finally:
        w.ops.gate.set()
        w.arm.stop()


def test_target_flush_acquires_tokens_while_it_waits(world: ArmWorld) -> None:
    world.write_cache_file("/proj/long/a.txt", "data")
    credential = ShortLivedCredential()
    settings = world.settings(credential=credential)
    world.ops.gate.clear()  # the write-back waits: the LRO stays InProgress, polled repeatedly
    before = world.arm.request_count()
    outcome: dict[str, object] = {}

    def run() -> None:
        outcome["result"] = flush_target(settings, "emu-rg", "emu", "nas1", wait=True)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    wait_until(lambda: world.arm.request_count() - before >= 6, timeout=30,
               message="the LRO was not polled")
    tokens_while_waiting = credential.calls
    world.ops.gate.set()
    worker.join(timeout=30)
    assert not worker.is_alive()
    result = outcome["result"]
    assert result.status == "Succeeded"  # type: ignore[attr-defined]
    requests = world.arm.request_count() - before
    assert tokens_while_waiting >= 6  # one per request so far, not one for the whole wait
    assert credential.calls >= requests
    assert world.backend_file("nas1", "long/a.txt").read_text() == "data"
