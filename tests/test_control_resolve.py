"""The resolution cache: a second lookup makes no ARM call, --refresh does, nothing secret kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from arm_support import SUB, TOKEN, ArmWorld, running_world

from hpccache_cli.control.resolve import (
    cache_dir,
    discover_by_address,
    get_layout,
    get_layout_by_id,
    parse_cache_id,
)
from hpccache_cli.errors import AzureError, UsageError


class ExplodingCredential:
    """Proves a cached lookup never asks for a token."""

    def get_token(self, *scopes: str, **kwargs: object) -> object:
        raise AssertionError("a token was requested")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmWorld]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HPCCACHE_LAYOUT_TTL", raising=False)
    with running_world(tmp_path / "emu") as w:
        yield w


def test_second_lookup_is_served_from_disk(world: ArmWorld, tmp_path: Path) -> None:
    first = get_layout(world.settings(), "emu-rg", "emu")
    calls = world.arm.request_count()
    assert calls == 2  # caches.get + storage_targets.list_by_cache
    assert {j.namespace_path for j in first.junctions} == {"/proj", "/blob", "/ro"}

    again = get_layout(world.settings(credential=ExplodingCredential()), "EMU-RG", "emu")
    assert again == first and world.arm.request_count() == calls

    files = list(cache_dir().glob("*.json"))
    assert len(files) == 1 and files[0].parent == tmp_path / "xdg" / "hpccache" / "layouts"
    assert TOKEN not in files[0].read_text()  # no token is ever written
    assert not list(cache_dir().glob(".layout-*"))  # atomic write left no temp file

    refreshed = get_layout(world.settings(), "emu-rg", "emu", refresh=True)
    assert refreshed == first and world.arm.request_count() == calls + 2


def test_stale_or_damaged_entries_are_fetched_again(world: ArmWorld) -> None:
    get_layout(world.settings(), "emu-rg", "emu")
    (path,) = cache_dir().glob("*.json")
    data = json.loads(path.read_text())
    data["fetched_at"] -= 301
    path.write_text(json.dumps(data))
    get_layout(world.settings(), "emu-rg", "emu")
    assert world.arm.request_count() == 4
    path.write_text("{not json")
    get_layout(world.settings(), "emu-rg", "emu")
    assert world.arm.request_count() == 6
    get_layout(world.settings(), "emu-rg", "emu", ttl=0)  # 0 turns the cache off
    get_layout(world.settings(), "emu-rg", "emu", ttl=0)
    assert world.arm.request_count() == 10


def test_ttl_from_environment(world: ArmWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPCCACHE_LAYOUT_TTL", "0")
    get_layout(world.settings(), "emu-rg", "emu")
    get_layout(world.settings(), "emu-rg", "emu")
    assert world.arm.request_count() == 4 and not list(cache_dir().glob("*.json"))
    monkeypatch.setenv("HPCCACHE_LAYOUT_TTL", "soon")
    with pytest.raises(UsageError, match="HPCCACHE_LAYOUT_TTL"):
        get_layout(world.settings(), "emu-rg", "emu")


def test_lookup_by_resource_id_and_by_mount_address(world: ArmWorld) -> None:
    rid = f"/subscriptions/{SUB}/resourceGroups/scgroup/providers/Microsoft.StorageCache/caches/sc1"
    layout = get_layout_by_id(world.settings(), rid)
    assert layout.name == "sc1" and layout.resource_id == rid

    found = discover_by_address(world.settings(), "127.0.0.12")
    assert found is not None and found.name == "emu"
    calls = world.arm.request_count()
    assert discover_by_address(world.settings(), "127.0.0.12") == found  # from disk
    assert world.arm.request_count() == calls
    assert discover_by_address(world.settings(), "127.0.0.99") is None


def test_not_found_is_an_azure_error(world: ArmWorld) -> None:
    with pytest.raises(AzureError, match="caches in emu-rg: emu"):
        get_layout(world.settings(), "emu-rg", "missing")
    assert not list(cache_dir().glob("*.json"))


def test_parse_cache_id() -> None:
    ref = parse_cache_id(
        "/subscriptions/S1/resourcegroups/My%20RG/providers/microsoft.storagecache/Caches/c-1/"
    )
    assert (ref.subscription_id, ref.resource_group, ref.name) == ("S1", "My RG", "c-1")
    for bad in (
        "",
        "caches/x",
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/x/y",
    ):
        with pytest.raises(UsageError, match="not an HPC Cache resource id"):
            parse_cache_id(bad)
