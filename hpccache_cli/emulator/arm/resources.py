"""The resources the fake ARM serves, as the JSON bodies the real service returns.

The emulator's own cache is described from its config (so ARM and NFS agree on names, mount
addresses and junctions); further caches can be added from recorded REST examples, which is how
tests prove the real response shapes parse. Bodies are kept as plain dicts in wire format
(camelCase), exactly what goes on the wire.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from hpccache_cli.emulator.config import EmulatorConfig, StorageTarget
from hpccache_cli.usage_models import lookup

PROVIDER = "Microsoft.StorageCache"


def cache_id(subscription: str, resource_group: str, name: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
        f"/providers/{PROVIDER}/caches/{name}"
    )


def _target_body(config: EmulatorConfig, t: StorageTarget) -> dict[str, Any]:
    c = config.cache
    junctions = []
    for j in t.junctions:
        junction: dict[str, Any] = {
            "namespacePath": j.namespace_path,
            "targetPath": j.target_path,
            "nfsAccessPolicy": "default",
        }
        if j.nfs_export:
            junction["nfsExport"] = j.nfs_export
        junctions.append(junction)
    props: dict[str, Any] = {
        "junctions": junctions,
        "targetType": t.type,
        "provisioningState": "Succeeded",
        "state": "Ready",
        "allocationPercentage": 100 // max(1, len(config.storage_targets)),
    }
    if t.type == "clfs":
        props["clfs"] = {"target": t.target}
    else:
        spec: dict[str, Any] = {"target": t.target, "usageModel": t.usage_model}
        if lookup(t.usage_model, t.type).caches_writes and t.write_back_delay_seconds >= 0:
            spec["writeBackTimer"] = int(t.write_back_delay_seconds)
        props["nfs3" if t.type == "nfs3" else "blobNfs"] = spec
    return {
        "id": f"{cache_id(c.subscription_id, c.resource_group, c.name)}/storageTargets/{t.name}",
        "name": t.name,
        "type": f"{PROVIDER}/Cache/StorageTarget",
        "location": c.location,
        "properties": props,
    }


def bodies_from_config(config: EmulatorConfig) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ARM cache body and storage-target bodies describing the emulator's cache."""
    c = config.cache
    cid = cache_id(c.subscription_id, c.resource_group, c.name)
    cache = {
        "id": cid,
        "name": c.name,
        "type": f"{PROVIDER}/Cache",
        "location": c.location,
        "sku": {"name": c.sku},
        "tags": {"emulated": "true"},
        "properties": {
            "cacheSizeGB": c.cache_size_gb,
            "health": {"state": "Healthy", "statusDescription": "The cache is in Running state"},
            "mountAddresses": list(c.mount_addresses),
            "provisioningState": "Succeeded",
            "subnet": (
                f"/subscriptions/{c.subscription_id}/resourceGroups/{c.resource_group}/providers"
                "/Microsoft.Network/virtualNetworks/emulated-vnet/subnets/default"
            ),
            "upgradeStatus": {"currentFirmwareVersion": "emulator"},
            "networkSettings": {"mtu": 1500},
        },
    }
    return cache, [_target_body(config, t) for t in config.storage_targets]


@dataclass
class CacheRecord:
    """One cache and its storage targets; ``emulated`` caches act through TargetOps."""

    body: dict[str, Any]
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower name -> body
    emulated: bool = False

    @property
    def name(self) -> str:
        return str(self.body["name"])

    @property
    def location(self) -> str:
        return str(self.body.get("location") or "eastus")

    def target(self, name: str) -> dict[str, Any] | None:
        return self.targets.get(name.lower())


class ArmStore:
    """Caches by (subscription, resource group, name), case-insensitively like ARM."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._caches: dict[tuple[str, str, str], CacheRecord] = {}

    @staticmethod
    def _key_of(body: dict[str, Any]) -> tuple[str, str, str]:
        parts = str(body["id"]).split("/")
        lower = [p.lower() for p in parts]
        sub = parts[lower.index("subscriptions") + 1]
        rg = parts[lower.index("resourcegroups") + 1]
        return sub.lower(), rg.lower(), str(body["name"]).lower()

    def add_cache(
        self, body: dict[str, Any], targets: list[dict[str, Any]], emulated: bool = False
    ) -> CacheRecord:
        """Serve ``body`` (a Caches_Get body) with ``targets`` (StorageTargets bodies)."""
        record = CacheRecord(
            copy.deepcopy(body), {t["name"].lower(): copy.deepcopy(t) for t in targets}, emulated
        )
        with self._lock:
            self._caches[self._key_of(body)] = record
        return record

    def find(self, sub: str, rg: str, name: str) -> CacheRecord | None:
        with self._lock:
            return self._caches.get((sub.lower(), rg.lower(), name.lower()))

    def subscriptions(self) -> set[str]:
        with self._lock:
            return {k[0] for k in self._caches}

    def resource_groups(self, sub: str) -> set[str]:
        with self._lock:
            return {k[1] for k in self._caches if k[0] == sub.lower()}

    def caches(self, sub: str, rg: str | None = None) -> list[CacheRecord]:
        with self._lock:
            return [
                r
                for k, r in sorted(self._caches.items())
                if k[0] == sub.lower() and (rg is None or k[1] == rg.lower())
            ]

    def set_target_state(self, record: CacheRecord, target: str, state: str) -> None:
        with self._lock:
            body = record.targets.get(target.lower())
            if body is not None:
                body.setdefault("properties", {})["state"] = state

    def set_cache_state(
        self, record: CacheRecord, health: str, description: str, provisioning: str = "Succeeded"
    ) -> None:
        """What Caches_Get reports of the cache itself (a stopped or upgrading cache...)."""
        with self._lock:
            props = record.body.setdefault("properties", {})
            props["health"] = {"state": health, "statusDescription": description}
            props["provisioningState"] = provisioning

    def snapshot(self, body: dict[str, Any]) -> dict[str, Any]:
        """A copy safe to serialise while other threads change states."""
        with self._lock:
            return copy.deepcopy(body)
