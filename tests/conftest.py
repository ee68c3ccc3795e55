"""Shared fixtures. Peer machinery lives in ``tests/peers.py`` (importable as ``peers``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest
from isolation_support import isolate_process, isolate_test

# Before any fixture (session-scoped servers too): no HPCCACHE_*/AZURE_* from the user's shell,
# HOME and the XDG/Azure CLI directories in a temp dir of the run's own (tests/isolation_support).
isolate_process()

from arm_support import ArmWorld, running_world  # noqa: E402 - after the isolation, on purpose
from peers import (  # noqa: E402
    GaneshaPeer,
    ganesha_peer,
    nfs_cat,
    nfs_ls,
    nfs_url,
    require_libnfs,
    run_libnfs,
    wait_until,
)
from tshark_support import require_tshark  # noqa: E402

if TYPE_CHECKING:
    from lustre_support import LustreWorld

    from hpccache_cli.emulator.aml.service import AmlService

PEER_FIXTURES = {"ganesha", "libnfs", "tshark", "slurm_cluster"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use a peer fixture get the ``peer`` marker (so ``-m 'not peer'`` works)."""
    for item in items:
        if PEER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.peer)


@pytest.fixture(autouse=True)
def _isolated_from_the_user(monkeypatch: pytest.MonkeyPatch,
                            tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test gets an empty home of its own and none of the user's hpccache/Azure
    variables, in-process and in its subprocesses (tests/isolation_support.py)."""
    isolate_test(monkeypatch, tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="session")
def ganesha() -> Iterator[GaneshaPeer]:
    """nfs-ganesha serving NFSv3 on 127.0.0.1 (2049, MOUNT 20048, portmapper 111).

    Started once per session through scripts/nfs-peer.sh (or a running one is reused) and
    stopped at the end. Skips, or fails under HPCCACHE_REQUIRE_PEERS=1, if it cannot run.
    """
    with ganesha_peer() as peer:
        yield peer


@pytest.fixture(scope="session")
def libnfs() -> SimpleNamespace:
    """libnfs-utils as a namespace: ``ls(url)``, ``cat(url)``, ``run(tool, url, *args)``,
    ``url(path, host=, nfs_port=, mount_port=)``. Skips/fails early if the tools are missing.
    """
    require_libnfs("nfs-ls", "nfs-cat")
    return SimpleNamespace(ls=nfs_ls, cat=nfs_cat, run=run_libnfs, url=nfs_url)


@pytest.fixture(scope="session")
def tshark() -> str:
    """tshark's path (Wireshark's dissectors judge our wire bytes). Skips/fails early, like a
    missing peer, if it is not installed or cannot capture on lo (needs root)."""
    return require_tshark()


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., object]:
    """``wait_until(predicate, timeout=60.0, *, interval=, ignore=(), message=)``: poll a
    condition with a deadline; returns the truthy value, raises AssertionError on timeout."""
    return wait_until


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ArmWorld]:
    """The emulator with its fake ARM running (``arm_support.running_world``): what the ARM
    and CLI tests talk to. A module that needs it set up otherwise defines its own."""
    with running_world(tmp_path / "emu") as w:
        yield w


@pytest.fixture
def env(world: ArmWorld, tmp_path: Path) -> dict[str, str | None]:
    """The environment a CLI subprocess needs to reach ``world``, with a resolution cache of
    its own (so no test sees another's cached layout)."""
    return {**world.env(), "XDG_CACHE_HOME": str(tmp_path / "xdg")}


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AmlService]:
    """One Azurite (the AMLFS emulator's blob back end) per test module that asks for it, a
    container per test (``aml_support.shared_azurite``). A module may define its own."""
    from aml_support import shared_azurite

    with shared_azurite(tmp_path_factory.mktemp("azurite")) as service:
        yield service


@pytest.fixture
def lw(tmp_path: Path, azurite: AmlService) -> Iterator[LustreWorld]:
    """An emulated Lustre client, lfs and copytool over ``azurite``
    (``lustre_support.running_lustre``)."""
    from lustre_support import running_lustre

    with running_lustre(tmp_path, azurite) as world:
        yield world
