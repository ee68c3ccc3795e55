"""The fake ARM routes by resource provider and type (#18): a new resource type is one route
table (its routes and example bodies) and one line in ``ROUTE_TABLES``."""

from __future__ import annotations

from typing import Any

from arm_support import SUB, example_cache

from hpccache_cli.emulator.arm import FakeArm
from hpccache_cli.emulator.arm.replies import ArmReply
from hpccache_cli.emulator.arm.routes import ROUTE_TABLES, ArmRoutes
from hpccache_cli.emulator.arm.routing import RG, Route, RouteTable, resource_key

WIDGETS = r"/providers/Contoso\.Widgets/widgets"


class WidgetRoutes:
    """A resource type the fake ARM does not serve: what a new table looks like."""

    def __init__(self, arm: Any) -> None:
        self.arm = arm

    def table(self) -> RouteTable:
        return RouteTable("Contoso.Widgets", ("widgets",), [
            Route("GET", RG + WIDGETS + r"/(?P<name>[^/]+)", self._get, "widgets/read"),
        ])

    def _get(self, query: dict[str, str], path: str, sub: str, rg: str, name: str) -> ArmReply:
        return ArmReply(200, {"id": path, "name": name, "properties": {"size": 3}})


def test_resource_key_reads_provider_and_type() -> None:
    assert resource_key(f"/subscriptions/{SUB}/resourceGroups/g/providers/"
                        "Microsoft.StorageCache/caches/c/storageTargets/t") == (
        "microsoft.storagecache", "caches")
    assert resource_key("/subscriptions") == ("", "")


def test_a_new_type_is_one_more_table() -> None:
    arm = FakeArm(None, token="t")
    body, targets = example_cache()
    arm.add_cache(body, targets)
    routes = ArmRoutes(arm, (*ROUTE_TABLES, "test_arm_routing:WidgetRoutes"))
    auth, version = "Bearer t", {"api-version": "2026-08-01"}
    widget = routes.handle("GET", f"/subscriptions/{SUB}/resourceGroups/scgroup/providers/"
                           "Contoso.Widgets/widgets/w1", version, auth)
    assert widget.status == 200 and widget.body["name"] == "w1"
    cache = routes.handle("GET", f"/subscriptions/{SUB}/resourceGroups/scgroup/providers/"
                          "Microsoft.StorageCache/caches/sc1", version, auth)
    assert cache.status == 200 and cache.body["name"] == "sc1"
    unknown = routes.handle("GET", f"/subscriptions/{SUB}/resourceGroups/scgroup/providers/"
                            "Contoso.Widgets/gadgets/g1", version, auth)
    assert unknown.status == 404 and unknown.body["error"]["code"] == "InvalidResourceType"
    subs = routes.handle("GET", "/subscriptions", version, auth)
    assert [s["subscriptionId"] for s in subs.body["value"]] == [SUB]
