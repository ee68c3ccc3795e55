"""Helpers for the AMLFS per-file tests: the fake ARM and Azurite (``aml_support``) plus an
emulated Lustre client (a tree mounted "as Lustre", its ``lfs`` on PATH, a copytool into
Azurite), and a wait on a condition with a deadline."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aml_support import AmlWorld, running_aml

from hpccache_cli.emulator.aml.lustre_client import EmulatedLustreClient
from hpccache_cli.emulator.aml.service import AmlService


@dataclass
class LustreWorld:
    aml: AmlWorld
    client: EmulatedLustreClient

    @property
    def root(self) -> Path:
        return self.client.root

    def write(self, rel: str, data: bytes) -> str:
        return str(self.aml.write(rel, data))

    def env(self, tmp: Path) -> dict[str, str | None]:
        """A CLI environment: the fake ARM, Azurite's connection string, our lfs on PATH."""
        base = self.aml.world.env()
        return {**base, "XDG_CACHE_HOME": str(tmp / "xdg"), "TF_BUILD": None,
                "AZURE_DEFAULTS_GROUP": None, "HPCCACHE_MOUNTINFO": str(self.client.mountinfo),
                "AZURE_STORAGE_CONNECTION_STRING": self.connection_string,
                "PATH": f"{self.client.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}

    @property
    def connection_string(self) -> str:
        svc = self.aml.service.blob_service
        account = svc.account_name
        url = svc.url.rstrip("/")
        key = svc.credential.account_key
        return (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
                f"BlobEndpoint={url};")


@contextmanager
def running_lustre(base: Path, shared: AmlService) -> Iterator[LustreWorld]:
    with running_aml(base, shared=shared) as aml:
        client = EmulatedLustreClient(aml.fs, base / "lustre-client")
        with client:
            yield LustreWorld(aml, client)


def wait_for(cond: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
