"""The Azure CLI's recorded outputs (tests/fixtures/az/, see its README): what az printed, and
the REST bodies it printed them from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

AZ = Path(__file__).parent / "fixtures" / "az"
FORMATS = ("json", "yaml", "tsv", "table")
#: fixture stem -> SDK model class name (``az hpc-cache show``'s and ``storage-target show``'s)
SDK_STEMS = {
    "cache-sc1": "Cache",
    "cache-emu": "Cache",
    "caches-scgroup": "Cache",
    "target-sc1-st1": "StorageTarget",
    "target-emu-nas1": "StorageTarget",
    "target-emu-blob1": "StorageTarget",
    "targets-sc1": "StorageTarget",
    "targets-emu": "StorageTarget",
}


def text(name: str) -> str:
    return (AZ / name).read_text(encoding="utf-8")


def rest_body(stem: str) -> Any:
    """The REST body az rest printed (for a list: the ``value`` list)."""
    return json.loads(text(f"rest-{stem}.json"))


def sdk_result(stem: str) -> Any:
    """What the SDK client returns for ``stem``: a model, or a list of models for a list."""
    from azure.mgmt.storagecache import models

    cls = getattr(models, SDK_STEMS[stem])
    body = rest_body(stem)
    if isinstance(body, dict) and "value" in body:
        return [cls(item) for item in body["value"]]
    return cls(body)


def recorded_queries() -> list[dict[str, str]]:
    data: list[dict[str, str]] = json.loads(text("sdk-queries.json"))
    return data
