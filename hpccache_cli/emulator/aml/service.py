"""The emulated AMLFS service: Azurite, the blob clients, and the file systems it serves.

The fake ARM holds one :class:`AmlService` (``FakeArm.aml``) and its AMLFS routes
(:mod:`hpccache_cli.emulator.arm.aml_routes`) look file systems up here. Usage::

    service = AmlService.start(state_dir)            # starts Azurite on a free loopback port
    fs = service.add(AmlSettings(name="fs1", ...))   # a directory tree + its container
    arm.aml = service
    ...
    service.stop()                                   # ends the runs, stops Azurite
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from hpccache_cli.emulator.aml.azurite import Azurite
from hpccache_cli.emulator.aml.config import AmlSettings
from hpccache_cli.emulator.aml.filesystem import AmlFilesystem


class AmlService:
    """File systems by (subscription, resource group, name), case-insensitively like ARM."""

    def __init__(self, azurite: Azurite | None, blob_service: Any | None,
                 owns_client: bool = True) -> None:
        self.azurite = azurite
        self.blob_service = blob_service
        self.owns_client = owns_client  # False: a shared client (tests), left open at stop
        self._lock = threading.Lock()
        self._systems: dict[tuple[str, str, str], AmlFilesystem] = {}

    @classmethod
    def start(cls, state_dir: Path, azurite_prefix: Path | None = None) -> AmlService:
        """Start Azurite (data in ``state_dir/azurite``) and connect to it."""
        from azure.storage.blob import BlobServiceClient

        azurite = Azurite(state_dir / "azurite", azurite_prefix).start()
        try:
            client = BlobServiceClient.from_connection_string(azurite.connection_string)
        except Exception:
            azurite.stop()
            raise
        return cls(azurite, client)

    @property
    def connection_string(self) -> str | None:
        return self.azurite.connection_string if self.azurite else None

    def add(self, settings: AmlSettings) -> AmlFilesystem:
        """Serve one more file system; with HSM, its container is created if missing."""
        container = None
        if settings.hsm and self.blob_service is not None:
            container = self.blob_service.get_container_client(settings.container)
            if not container.exists():
                container.create_container()
            logs = self.blob_service.get_container_client(settings.logging_container)
            if not logs.exists():
                logs.create_container()
        Path(settings.root_dir).mkdir(parents=True, exist_ok=True)
        fs = AmlFilesystem(settings, container)
        key = (settings.subscription_id.lower(), settings.resource_group.lower(),
               settings.name.lower())
        with self._lock:
            self._systems[key] = fs
        return fs

    def find(self, sub: str, rg: str, name: str) -> AmlFilesystem | None:
        with self._lock:
            return self._systems.get((sub.lower(), rg.lower(), name.lower()))

    def systems(self, sub: str, rg: str | None = None) -> list[AmlFilesystem]:
        with self._lock:
            return [fs for k, fs in sorted(self._systems.items())
                    if k[0] == sub.lower() and (rg is None or k[1] == rg.lower())]

    def resource_groups(self, sub: str) -> set[str]:
        with self._lock:
            return {k[1] for k in self._systems if k[0] == sub.lower()}

    def stop(self) -> None:
        with self._lock:
            systems = list(self._systems.values())
        for fs in systems:
            fs.stop()
        if self.blob_service is not None and self.owns_client:
            self.blob_service.close()
        if self.azurite is not None:
            self.azurite.stop()

    def __enter__(self) -> AmlService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_from_config(table: dict[str, Any], base: Path) -> tuple[AmlService, AmlFilesystem]:
    """``hpccache emulator run`` with an ``[aml]`` table: check it (ConfigError), start Azurite
    (data under the file system's root's parent, in ``.aml-state``) and serve the file system."""
    from hpccache_cli.emulator.aml.config import aml_from_dict

    settings = aml_from_dict(table, base)
    service = AmlService.start(Path(settings.root_dir).parent / ".aml-state")
    try:
        return service, service.add(settings)
    except Exception:
        service.stop()
        raise


def banner_lines(service: AmlService, fs: AmlFilesystem) -> list[str]:
    s = fs.settings
    hsm = f"container {s.container}" if fs.hsm else "no HSM settings"
    url = service.azurite.url if service.azurite else "(none)"
    return [
        f"  Azure Managed Lustre: {s.name} (resource group {s.resource_group}), namespace "
        f"{fs.root}, {hsm}",
        f"  Azurite (blob back end): {url}, account {s.storage_account}",
    ]
