"""``make_client(settings, client_class)``: any ARM client class gets hpccache's endpoint,
policies and quiet setting (#18: a new resource type's client is made the same way)."""

from __future__ import annotations

import dataclasses
from typing import Any

from arm_support import ArmWorld

from hpccache_cli.control.client import make_client
from hpccache_cli.control.transport import ArmRetryPolicy, EndpointBoundAuthPolicy


class ProbeClient:
    """Takes what every azure-mgmt client takes: (credential, subscription_id, **kwargs)."""

    def __init__(self, credential: Any, subscription_id: str, **kwargs: Any) -> None:
        self.credential, self.subscription_id, self.kwargs = credential, subscription_id, kwargs


def test_any_client_class_gets_the_same_policies(world: ArmWorld) -> None:
    settings = world.settings()
    probe = make_client(settings, ProbeClient)
    assert isinstance(probe, ProbeClient)
    assert probe.subscription_id == settings.subscription_id
    assert probe.kwargs["base_url"] == settings.endpoint
    assert isinstance(probe.kwargs["retry_policy"], ArmRetryPolicy)
    assert isinstance(probe.kwargs["authentication_policy"], EndpointBoundAuthPolicy)
    quiet = make_client(dataclasses.replace(settings, quiet=True), ProbeClient)
    assert quiet.kwargs["retry_policy"]._say is None  # --only-show-errors: no notices
    with make_client(settings) as client:  # the default: the StorageCache client
        assert [c.name for c in client.caches.list_by_resource_group("emu-rg")] == ["emu"]
