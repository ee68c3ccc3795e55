"""One module for resource references (#18): ids, names, default group, one message each."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpccache_cli.control.refs import (
    CACHE,
    STORAGE_TARGET,
    ResourceType,
    by_name_or_id,
    parse_id,
    resource_group_of,
)
from hpccache_cli.errors import UsageError

SUB = "00000000-0000-0000-0000-000000000000"
CACHE_ID = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.StorageCache/caches/c1"


def test_ids_of_any_type_parse_to_a_reference() -> None:
    ref = parse_id(CACHE_ID, CACHE)
    assert (ref.subscription_id, ref.resource_group, ref.names) == (SUB, "rg", ("c1",))
    target = parse_id(CACHE_ID + "/storageTargets/t%201", STORAGE_TARGET)
    assert target.names == ("c1", "t 1") and target.name == "t 1"
    lustre = ResourceType("Microsoft.StorageCache", ("amlFilesystems",), "Azure Managed Lustre")
    fs = parse_id(f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.StorageCache/"
                  "amlFilesystems/fs1", lustre)
    assert fs.name == "fs1"
    assert resource_group_of(CACHE_ID) == "rg"


def test_one_message_per_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AZURE_DEFAULTS_GROUP", raising=False)
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path))  # no Azure CLI default group
    with pytest.raises(UsageError) as wrong:
        parse_id(CACHE_ID, STORAGE_TARGET)
    assert str(wrong.value) == (
        f"{CACHE_ID!r} is not a storage target resource id; expected /subscriptions/SUB/"
        "resourceGroups/RG/providers/Microsoft.StorageCache/caches/CACHE/storageTargets/NAME")
    with pytest.raises(UsageError) as no_group:
        by_name_or_id("c1", None, CACHE)
    assert str(no_group.value).startswith("which resource group is cache 'c1' in?")
    assert by_name_or_id("c1", "rg", CACHE).resource_group == "rg"
