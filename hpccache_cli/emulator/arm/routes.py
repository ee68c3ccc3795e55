"""The fake ARM's dispatcher: sign-in, faults, ``api-version``, then the route table of the
resource provider and type the path names (:mod:`.routing`).

Route tables live in their own modules (:mod:`.cache_routes` for Microsoft.StorageCache) and
are registered in :data:`ROUTE_TABLES`, one line each: ``"module:Class"``, where ``Class(arm)``
has ``table() -> RouteTable``. The subscription list (``GET /subscriptions``, what ``az login``
reads first) is served here.
"""

from __future__ import annotations

import importlib
from typing import Any

from hpccache_cli.emulator.arm.replies import ArmReply, error_reply
from hpccache_cli.emulator.arm.resources import PROVIDER
from hpccache_cli.emulator.arm.routing import ArmBackend as ArmBackend
from hpccache_cli.emulator.arm.routing import Route, RouteTable, resource_key

#: Every route table of the fake ARM, ``"module:Class"``. A new resource type is one line here.
ROUTE_TABLES: tuple[str, ...] = (
    "hpccache_cli.emulator.arm.aml_routes:AmlRoutes",  # before caches: its aml- operations
    "hpccache_cli.emulator.arm.cache_routes:CacheRoutes",
    "hpccache_cli.emulator.arm.usage_model_routes:UsageModelRoutes",
    "hpccache_cli.emulator.arm.routes:SubscriptionRoutes",
)

__all__ = ["ROUTE_TABLES", "ArmBackend", "ArmReply", "ArmRoutes", "SubscriptionRoutes"]


#: The tenant every fake subscription belongs to (the zero GUID, as the fake's subscription).
TENANT_ID = "00000000-0000-0000-0000-000000000000"


def _subscription(sub: str) -> dict[str, Any]:
    """A subscription as ``GET /subscriptions`` lists it (the fields ``az login`` reads)."""
    return {
        "id": f"/subscriptions/{sub}",
        "subscriptionId": sub,
        "tenantId": TENANT_ID,
        "displayName": f"fake subscription {sub[:8]}",
        "state": "Enabled",
        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                 "quotaId": "Internal_2014-09-01", "spendingLimit": "Off"},
        "authorizationSource": "RoleBased",
    }


class SubscriptionRoutes:
    """``GET /subscriptions``: the subscriptions the fake serves (no provider in the path)."""

    def __init__(self, arm: ArmBackend) -> None:
        self.arm = arm

    def table(self) -> RouteTable:
        return RouteTable(
            "", ("",), [Route("GET", "/subscriptions", self._list, "subscriptions/read")],
            uses_subscription=False,
        )

    def _list(self, query: dict[str, str], path: str) -> ArmReply:
        subs = sorted(self.arm.store.subscriptions())
        return ArmReply(200, {"value": [_subscription(s) for s in subs]})


def load_tables(arm: ArmBackend, names: tuple[str, ...] = ROUTE_TABLES) -> list[Any]:
    """The route table objects of ``names`` (``"module:Class"``), each built on ``arm``."""
    tables = []
    for name in names:
        module, _, cls = name.partition(":")
        tables.append(getattr(importlib.import_module(module), cls)(arm))
    return tables


class ArmRoutes:
    """Dispatch one request of the fake ARM to the table of its provider and type."""

    def __init__(self, arm: ArmBackend, names: tuple[str, ...] = ROUTE_TABLES) -> None:
        self.arm = arm
        self.tables = load_tables(arm, names)
        self._index: dict[tuple[str, str], list[tuple[RouteTable, Route]]] = {}
        for owner in self.tables:
            table = owner.table()
            for key in table.resource_keys():
                self._index.setdefault(key, []).extend((table, r) for r in table.routes)

    def handle(
        self, method: str, path: str, query: dict[str, str], auth: str | None, body: bytes = b""
    ) -> ArmReply:
        if not self.arm.token_ok(auth):
            code = "AuthenticationFailed" if not auth else "InvalidAuthenticationToken"
            msg = (
                "Authentication failed. The 'Authorization' header is missing."
                if not auth
                else "The access token is invalid."
            )
            challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            return error_reply(401, code, msg, **challenge)
        for table, route in self._index.get(resource_key(path), []):
            match = route.compiled.match(path)
            if match is None or route.method != method:
                continue
            return self._answer(table, route, match.groupdict(), method, path, query, body)
        return error_reply(
            404, "InvalidResourceType", f"The fake ARM does not serve {method} {path}."
        )

    def _answer(
        self, table: RouteTable, route: Route, raw: dict[str, str], method: str, path: str,
        query: dict[str, str], body: bytes = b"",
    ) -> ArmReply:
        from urllib.parse import unquote

        groups = {k: unquote(v) for k, v in raw.items()}
        body_fault = self.arm.faults.take_body(method, path)
        if body_fault is not None:
            return ArmReply(body_fault.status, raw=body_fault.body,
                            content_type=body_fault.content_type, hang=body_fault.hang)
        fault = self.arm.faults.take_status(method, path)
        if fault is not None:
            prefix = f"{table.provider or PROVIDER}/"
            act = prefix + route.action.format(action=groups.get("action", ""),
                                               kind=groups.get("kind", ""))
            code, message = fault.code_and_message(act, path)
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            if fault.retry_after_ms is not None:
                headers["retry-after-ms"] = str(fault.retry_after_ms)
            return error_reply(fault.status, code, message, **headers)
        if "api-version" not in query:
            return error_reply(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        sub = groups.get("sub")
        if table.uses_subscription and sub is not None and (
            sub.lower() not in self.arm.store.subscriptions()
        ):
            return error_reply(
                404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found."
            )
        extra = {"body": body} if getattr(route.handler, "wants_body", False) else {}
        reply: ArmReply = route.handler(query=query, path=path, **groups, **extra)
        return reply

    def operations(self) -> list[Any]:
        """The long-running operations every table has started (for tests)."""
        return [op for t in self.tables for op in getattr(t, "operations", list)()]


# Old names, for route code written against the single-table module (now routing.py,
# replies.py and cache_routes.py).
_err = error_reply
from hpccache_cli.emulator.arm.cache_routes import Operation as Operation  # noqa: E402
from hpccache_cli.emulator.arm.routing import RG as _RG  # noqa: E402,F401
from hpccache_cli.emulator.arm.routing import SUB as _SUB  # noqa: E402,F401
