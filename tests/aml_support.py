"""Helpers for the Azure Managed Lustre tests: the fake ARM with an emulated AMLFS behind it,
and Azurite (a real Blob service) behind that.

Everything goes through the real SDKs: ``azure-mgmt-storagecache`` over HTTPS to the fake ARM,
``azure-storage-blob`` to Azurite on 127.0.0.1 (a free port Azurite picks itself). A missing
Azurite skips, or fails under ``HPCCACHE_REQUIRE_PEERS=1`` (scripts/test.sh installs it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arm_support import SUB, ArmWorld, running_world
from peers import peer_unavailable

from hpccache_cli.emulator.aml.azurite import AzuriteMissing
from hpccache_cli.emulator.aml.config import AmlFaults, AmlSettings
from hpccache_cli.emulator.aml.filesystem import AmlFilesystem
from hpccache_cli.emulator.aml.service import AmlService

RG = "emu-rg"
FS = "fs1"
BARE = "bare-fs"  # a file system without HSM settings


@dataclass
class AmlWorld:
    """The fake ARM (``world``), the AMLFS service, and two file systems on it."""

    world: ArmWorld
    service: AmlService
    fs: AmlFilesystem
    bare: AmlFilesystem

    @property
    def container(self) -> Any:
        return self.fs.container

    def settings(self, **kw: Any) -> Any:
        return self.world.settings(**kw)

    def client(self) -> Any:
        from hpccache_cli.control.client import make_client

        return make_client(self.settings())

    def write(self, rel: str, data: bytes) -> Path:
        path = self.fs.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def blobs(self) -> dict[str, bytes]:
        """Every blob of the container and its bytes."""
        return {b.name: self.container.download_blob(b.name).readall()
                for b in self.container.list_blobs()}


def start_service(base: Path, prefix: Path | None = None) -> AmlService:
    """Azurite and the service on it; a missing Azurite skips, or fails under
    HPCCACHE_REQUIRE_PEERS=1 (``prefix``: where to look instead of the usual places)."""
    try:
        return AmlService.start(base / "aml-state", prefix)
    except AzuriteMissing as exc:
        peer_unavailable(f"Azurite: {exc}")


@contextmanager
def shared_azurite(base: Path) -> Iterator[AmlService]:
    """One Azurite for a test module (each test gets containers of its own)."""
    service = start_service(base)
    try:
        yield service
    finally:
        service.stop()


@contextmanager
def running_aml(base: Path, faults: AmlFaults | None = None,
                shared: AmlService | None = None) -> Iterator[AmlWorld]:
    """The fake ARM with ``fs1`` (HSM) and ``bare-fs`` (no HSM); on ``shared``'s Azurite with a
    container of the test's own, else on an Azurite of its own."""
    if shared is not None:
        service = AmlService(None, shared.blob_service, owns_client=False)
        container = f"t{uuid.uuid4().hex[:16]}"
    else:
        service, container = start_service(base), "amlfs-data"
    try:
        with running_world(base / "emu") as world:
            fs = service.add(AmlSettings(name=FS, resource_group=RG, subscription_id=SUB,
                                         root_dir=base / "lustre", container=container,
                                         faults=faults or AmlFaults()))
            bare = service.add(AmlSettings(name=BARE, resource_group=RG, subscription_id=SUB,
                                           root_dir=base / "bare", hsm=False))
            world.arm.aml = service
            yield AmlWorld(world, service, fs, bare)
    finally:
        service.stop()
