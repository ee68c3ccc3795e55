"""The fake ARM through the real azure-mgmt-storagecache client over HTTPS on 127.0.0.1."""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from arm_support import SUB, TOKEN, ArmWorld, running_world

from hpccache_cli.control.client import make_client
from hpccache_cli.control.credentials import StaticTokenCredential
from hpccache_cli.control.operations import flush_cache, run_target_operation, wait_for
from hpccache_cli.control.resolve import layout_from_arm
from hpccache_cli.errors import AzureError


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmWorld]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with running_world(tmp_path / "emu", page_size=1) as w:
        yield w


def test_serves_the_emulator_config_through_the_sdk(world: ArmWorld) -> None:
    client = make_client(world.settings())
    cache = client.caches.get("emu-rg", "emu")
    assert cache.properties.mount_addresses == ["127.0.0.11", "127.0.0.12"]
    assert cache.properties.health.state.value == "Healthy"
    assert cache.sku.name == "Standard_2G"
    targets = {t.name: t for t in client.storage_targets.list_by_cache("emu-rg", "emu")}
    assert set(targets) == {"nas1", "blob1", "ro1"}
    nas = targets["nas1"].properties
    assert nas.target_type.value == "nfs3"
    assert nas.nfs3.usage_model == "WRITE_WORKLOAD_15"
    assert [(j.namespace_path, j.nfs_export) for j in nas.junctions] == [("/proj", "/export1")]
    blob = client.storage_targets.get("emu-rg", "emu", "BLOB1")  # ARM names: case-insensitive
    assert blob.properties.target_type.value == "clfs"
    assert blob.properties.junctions[0].nfs_export is None


def test_rest_examples_parse_into_a_layout(world: ArmWorld) -> None:
    client = make_client(world.settings())
    cache = client.caches.get("scgroup", "sc1")
    targets = list(client.storage_targets.list_by_cache("scgroup", "sc1"))
    layout = layout_from_arm(cache, targets, SUB)
    assert layout.mount_addresses == ("127.0.0.21", "127.0.0.22")
    assert layout.resource_group == "scgroup"
    by_ns = {j.namespace_path: j for j in layout.junctions}
    assert by_ns["/path/on/cache"].nfs_export == "exp1"
    assert by_ns["/path/on/cache"].usage_model == "READ_ONLY"
    assert not by_ns["/path/on/cache"].model.caches_writes
    clfs = by_ns["/some/arbitrary/place/on/cache"]
    assert (clfs.target_type, clfs.nfs_export, clfs.usage_model) == ("clfs", None, None)
    assert clfs.model.caches_writes  # blob targets cache writes
    unknown = by_ns["/some/crazier/place/on/cache"]
    assert (unknown.target_type, unknown.nfs_export) == ("unknown", None)  # "" -> None
    blob_nfs = by_ns["/blobnfs"]
    assert (blob_nfs.target_type, blob_nfs.usage_model) == ("blobNfs", "READ_WRITE")
    assert layout.junction_for("/path2/on/cache/x/y").storage_target == "st1"


def test_list_pages_follow_next_link(world: ArmWorld) -> None:
    client = make_client(world.settings())
    names = sorted(c.name for c in client.caches.list())
    assert names == ["emu", "sc1"]
    assert world.arm.request_count("GET", "/providers/Microsoft.StorageCache/caches") == 2
    targets = list(client.storage_targets.list_by_cache("scgroup", "sc1"))
    assert [t.name for t in targets] == ["st1", "st2", "st3", "st4"]
    listed = [r for r in world.arm.requests if r.path.endswith("/storageTargets")]
    assert len(listed) == 4 and "$skipToken=3" in listed[-1].query


def test_bearer_token_is_required(world: ArmWorld) -> None:
    ctx = ssl.create_default_context(cafile=str(world.arm.ca_file))
    url = (
        f"{world.arm.url}/subscriptions/{SUB}/providers/Microsoft.StorageCache/caches"
        "?api-version=2026-08-01"
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url, context=ctx, timeout=10)
    assert info.value.code == 401
    wrong = world.settings(credential=StaticTokenCredential("wrong"))
    with pytest.raises(AzureError, match="rejected the token"):
        from hpccache_cli.control.resolve import get_layout

        get_layout(wrong, "emu-rg", "emu")


def test_target_flush_reports_in_progress_until_the_files_are_written_back(
    world: ArmWorld,
) -> None:
    world.write_cache_file("/proj/dir/a.txt", "new data")
    assert world.ns.dirty_count("nas1") == 1
    world.ops.gate.clear()  # hold the flush inside the emulator
    client = make_client(world.settings())
    poller = client.storage_target.begin_flush("emu-rg", "emu", "nas1")
    poller.wait(timeout=0.3)
    assert not poller.done() and poller.status() == "InProgress"
    assert client.storage_targets.get("emu-rg", "emu", "nas1").properties.state.value == "Flushing"
    assert world.ns.dirty_count("nas1") == 1
    world.ops.gate.set()
    seen: list[str] = []
    wait_for(poller, lambda elapsed, status: seen.append(status), tick=0.05)
    assert world.ns.dirty_count("nas1") == 0
    assert world.backend_file("nas1", "dir/a.txt").read_text() == "new data"
    assert client.storage_targets.get("emu-rg", "emu", "nas1").properties.state.value == "Ready"


def test_suspend_and_resume_act_on_the_emulator(world: ArmWorld) -> None:
    settings = world.settings()
    result = run_target_operation(settings, "emu-rg", "emu", "nas1", "suspend")
    assert result.status == "Succeeded" and "suspended storage target 'nas1'" in result.describe()
    assert "nas1" in world.ns.suspended
    client = make_client(settings)
    assert client.storage_targets.get("emu-rg", "emu", "nas1").properties.state.value == "Suspended"
    run_target_operation(settings, "emu-rg", "emu", "nas1", "resume")
    assert "nas1" not in world.ns.suspended
    assert client.storage_targets.get("emu-rg", "emu", "nas1").properties.state.value == "Ready"


def test_invalidate_drops_clean_copies_and_keeps_dirty_ones(world: ArmWorld) -> None:
    clean = world.write_cache_file("/proj/clean.txt", "same")
    world.backend_file("nas1", "clean.txt").write_text("same")
    dirty = world.write_cache_file("/proj/dirty.txt", "changed")
    run_target_operation(world.settings(), "emu-rg", "emu", "nas1", "invalidate")
    assert not clean.exists() and dirty.exists()


def test_cache_flush_writes_back_every_target(world: ArmWorld) -> None:
    world.write_cache_file("/proj/p.txt", "p")
    world.write_cache_file("/blob/b.txt", "b")
    assert world.ns.dirty_count() == 2
    result = flush_cache(world.settings(), "emu-rg", "emu")
    assert result.status == "Succeeded"
    assert world.ns.dirty_count() == 0
    assert world.backend_file("blob1", "sub/b.txt").read_text() == "b"


def test_operations_on_example_caches_just_succeed(world: ArmWorld) -> None:
    result = run_target_operation(world.settings(), "scgroup", "sc1", "st2", "flush")
    assert result.status == "Succeeded"


def test_failed_write_back_fails_the_operation_with_its_reason(world: ArmWorld) -> None:
    world.write_cache_file("/proj/stuck.txt", "x")
    world.ns.faults.failing_paths.append("/proj/stuck.txt")
    with pytest.raises(AzureError) as info:
        run_target_operation(world.settings(), "emu-rg", "emu", "nas1", "flush")
    message = str(info.value)
    assert "flush of storage target 'nas1'" in message and "failed in Azure" in message
    assert "could not be written back: /proj/stuck.txt" in message


def test_fake_requires_api_version_and_knows_its_routes(world: ArmWorld) -> None:
    ctx = ssl.create_default_context(cafile=str(world.arm.ca_file))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for path, code in (
        (f"/subscriptions/{SUB}/providers/Microsoft.StorageCache/caches", 400),
        (f"/subscriptions/{SUB}/providers/Microsoft.Compute/disks?api-version=1", 404),
        (
            "/subscriptions/11111111-0000-0000-0000-000000000000/providers/"
            "Microsoft.StorageCache/caches?api-version=2026-08-01",
            404,
        ),
    ):
        req = urllib.request.Request(world.arm.url + path, headers=headers)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, context=ctx, timeout=10)
        assert info.value.code == code, path
