"""The fake ARM's usage models: ``GET /subscriptions/{sub}/providers/Microsoft.StorageCache/
usageModels`` (what ``az hpc-cache usage-model list`` and ``hpccache usage-models list`` read).

A subscription-level list with nothing behind it but facts, so the table serves a fixed body:
the models of the REST specification's two ``UsageModels_List`` examples (API 2022-01-01, then
2026-08-01), entry for entry. ``tests/fixtures/arm/UsageModels_List*.json`` are those examples;
``tests/test_usage_models_cli.py`` holds this body to them. Built the way
``docs/DEVELOPING.md`` "Add a command for a new Azure resource type" says: one
:class:`RouteTable`, shared replies, one line in ``routes.ROUTE_TABLES``.
"""

from __future__ import annotations

from typing import Any

from hpccache_cli.emulator.arm.replies import ArmReply, page
from hpccache_cli.emulator.arm.routing import SUB, ArmBackend, Route, RouteTable

PROVIDER = "Microsoft.StorageCache"
USAGE_MODELS = SUB + r"/providers/Microsoft\.StorageCache/usageModels"


def _model(name: str, description: str) -> dict[str, Any]:
    """One entry as the examples write it (every example model is an ``nfs3`` one)."""
    return {"display": {"description": description}, "modelName": name, "targetType": "nfs3"}


#: What the fake serves: UsageModels_List_2022-01-01.json's models, then UsageModels_List.json's
#: (2026-08-01). Descriptions are the examples' words.
SERVED: tuple[dict[str, Any], ...] = (
    _model("READ_HEAVY_INFREQ", "Read heavy, infrequent changes"),
    _model("WRITE_AROUND", "Clients write directly to storage"),
    _model("WRITE_WORKLOAD_15", "Write workload > 15%"),
    _model(
        "READ_ONLY",
        "Read only, with a default verification timer of 30 seconds. Verification timer has a "
        "minimum value of 1 and maximum value of 31536000. Write-back timer must have value of "
        "0 or be null.",
    ),
    _model(
        "READ_WRITE",
        "Read-write, with a default verification timer of 8 hours and default write-back timer "
        "of 1 hour. Verification timer and write-back timer have a minimum value of 1 and "
        "maximum value of 31536000.",
    ),
)


class UsageModelRoutes:
    """``usageModels``: one GET, paged like every list of the fake (``nextLink``)."""

    def __init__(self, arm: ArmBackend) -> None:
        self.arm = arm

    def table(self) -> RouteTable:
        return RouteTable(PROVIDER, ("usageModels",), [
            Route("GET", USAGE_MODELS, self.list_models, "usageModels/read"),
        ])

    def list_models(self, query: dict[str, str], path: str, sub: str) -> ArmReply:
        """The models (the dispatcher has checked the token, faults, api-version and ``sub``)."""
        items = [dict(m, display=dict(m["display"])) for m in SERVED]
        return page(items, path, query, page_size=self.arm.page_size, origin=self.arm.url)
