"""The Microsoft.StorageCache route table of the fake ARM: caches, their storage targets, and
the ``ascOperations`` status resource their long-running operations point at.

Only what hpccache uses is implemented: cache list/get/flush, storage target list/get and the
four storage-target operations. Replies copy the real service's shapes and headers:
``nextLink`` paging, ``202`` with ``Azure-AsyncOperation`` + ``Location`` for operations,
``retry-after-ms`` so the SDK polls quickly (a ``Retry-After`` of 0 would count as absent and
fall back to the client's polling interval). Registered in
:data:`hpccache_cli.emulator.arm.routes.ROUTE_TABLES`.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from hpccache_cli.emulator.arm.replies import ArmReply, error_reply, page
from hpccache_cli.emulator.arm.resources import PROVIDER, CacheRecord
from hpccache_cli.emulator.arm.routing import RG, SUB, Route, RouteTable

if TYPE_CHECKING:
    from hpccache_cli.emulator.arm.routing import ArmBackend

_CACHES = r"/providers/Microsoft\.StorageCache/caches"
_CACHE = RG + _CACHES + r"/(?P<cache>[^/]+)"
_TARGET = _CACHE + r"/storageTargets/(?P<target>[^/]+)"
_ACTIONS = "flush|suspend|resume|invalidate"


@dataclass
class Operation:
    """One long-running operation's status resource."""

    id: str
    location: str
    status: str = "InProgress"
    started: float = field(default_factory=time.time)
    ended: float | None = None
    error: dict[str, str] | None = None

    def finish(self, error: tuple[str, str] | None = None) -> None:
        self.ended = time.time()
        if error:
            self.status = "Failed"
            self.error = {"code": error[0], "message": error[1]}
        else:
            self.status = "Succeeded"


def _no_group(rg: str) -> ArmReply:
    return error_reply(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


class CacheRoutes:
    """Microsoft.StorageCache ``caches`` (and ``locations/ascOperations``); holds the LROs."""

    def __init__(self, arm: ArmBackend) -> None:
        self.arm = arm
        self._ops: dict[str, Operation] = {}
        self._lock = threading.Lock()

    def table(self) -> RouteTable:
        """The routes, by provider and resource types (what the dispatcher indexes)."""
        return RouteTable(
            PROVIDER,
            ("caches", "locations"),
            [
                Route("GET", SUB + _CACHES, self._list_caches, "caches/read"),
                Route("GET", RG + _CACHES, self._list_caches, "caches/read"),
                Route("GET", _CACHE, self._get_cache, "caches/read"),
                Route("POST", _CACHE + "/flush", self._cache_flush, "caches/flush/action"),
                Route("GET", _CACHE + "/storageTargets", self._list_targets,
                      "caches/storageTargets/read"),
                Route("GET", _TARGET, self._get_target, "caches/storageTargets/read"),
                Route("POST", _TARGET + f"/(?P<action>{_ACTIONS})", self._target_action,
                      "caches/storageTargets/{action}/action"),
                Route("GET", SUB + r"/providers/Microsoft\.StorageCache/locations/(?P<loc>[^/]+)"
                      r"/ascOperations/(?P<op>[^/]+)", self._get_operation,
                      "locations/ascoperations/read"),
            ],
            uses_subscription=True,
        )

    # ---- lookups --------------------------------------------------------------------------

    def _find(self, sub: str, rg: str, cache: str) -> CacheRecord | ArmReply:
        record = self.arm.store.find(sub, rg, cache)
        if record is not None:
            return record
        if rg.lower() not in self.arm.store.resource_groups(sub):
            return _no_group(rg)
        return error_reply(
            404,
            "ResourceNotFound",
            f"The Resource '{PROVIDER}/caches/{cache}' under resource group '{rg}' was not found. "
            "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        )

    def _page(self, items: list[dict[str, Any]], path: str, query: dict[str, str]) -> ArmReply:
        host = self.arm.faults.take_link_host()
        origin = f"https://{host}" if host else self.arm.url
        return page(items, path, query, page_size=self.arm.page_size, origin=origin)

    # ---- reads ----------------------------------------------------------------------------

    def _list_caches(
        self, query: dict[str, str], path: str, sub: str, rg: str | None = None
    ) -> ArmReply:
        store = self.arm.store
        if rg is not None and rg.lower() not in store.resource_groups(sub):
            return _no_group(rg)
        return self._page([store.snapshot(r.body) for r in store.caches(sub, rg)], path, query)

    def _get_cache(
        self, query: dict[str, str], path: str, sub: str, rg: str, cache: str
    ) -> ArmReply:
        found = self._find(sub, rg, cache)
        if isinstance(found, ArmReply):
            return found
        return ArmReply(200, self.arm.store.snapshot(found.body))

    def _list_targets(
        self, query: dict[str, str], path: str, sub: str, rg: str, cache: str
    ) -> ArmReply:
        found = self._find(sub, rg, cache)
        if isinstance(found, ArmReply):
            return found
        items = [self.arm.store.snapshot(t) for t in found.targets.values()]
        return self._page(items, path, query)

    def _get_target(
        self, query: dict[str, str], path: str, sub: str, rg: str, cache: str, target: str
    ) -> ArmReply:
        found = self._find(sub, rg, cache)
        if isinstance(found, ArmReply):
            return found
        body = found.target(target)
        if body is None:
            return error_reply(
                404,
                "ResourceNotFound",
                f"The Resource '{PROVIDER}/caches/{cache}/storageTargets/{target}' under resource "
                f"group '{rg}' was not found.",
            )
        return ArmReply(200, self.arm.store.snapshot(body))

    # ---- long-running operations ----------------------------------------------------------

    def _cache_flush(
        self, query: dict[str, str], path: str, sub: str, rg: str, cache: str
    ) -> ArmReply:
        found = self._find(sub, rg, cache)
        if isinstance(found, ArmReply):
            return found
        return self._start(found, sub, query, None, "flush")

    def _target_action(
        self,
        query: dict[str, str],
        path: str,
        sub: str,
        rg: str,
        cache: str,
        target: str,
        action: str,
    ) -> ArmReply:
        found = self._get_target(query, path, sub, rg, cache, target)
        if found.status != 200:
            return found
        record = self.arm.store.find(sub, rg, cache)
        assert record is not None
        return self._start(record, sub, query, found.body["name"], action.lower())

    def _start(
        self, record: CacheRecord, sub: str, query: dict[str, str], target: str | None, action: str
    ) -> ArmReply:
        op_id = str(uuid.uuid4())
        origin = self.arm.url
        url_fault = self.arm.faults.take_urls()
        if url_fault is not None:
            scheme, _, host = origin.partition("://")
            origin = f"{url_fault.scheme or scheme}://{url_fault.host or host}"
        base = (
            f"{origin}/subscriptions/{sub}/providers/{PROVIDER}/locations/"
            f"{record.location}/ascOperations/{op_id}"
        )
        op = Operation(op_id, record.location)
        with self._lock:
            self._ops[op_id] = op
        lro_fault = self.arm.faults.take_lro()
        if lro_fault is not None and lro_fault.hold:
            pass  # stays InProgress
        elif lro_fault is not None:
            op.finish((lro_fault.code, lro_fault.message))
        else:
            self.arm.begin_work(record, target, action, op.finish)
        version = query["api-version"]
        return ArmReply(
            202,
            None,
            {
                "Azure-AsyncOperation": f"{base}?api-version={version}",
                "Location": f"{base}?monitor=true&api-version={version}",
                "retry-after-ms": str(self.arm.poll_after_ms),
            },
        )

    def _get_operation(
        self, query: dict[str, str], path: str, sub: str, loc: str, op: str
    ) -> ArmReply:
        with self._lock:
            operation = self._ops.get(op)
        if operation is None:
            return error_reply(404, "ResourceNotFound", f"Operation '{op}' was not found.")
        headers = {}
        if operation.status == "InProgress":
            headers["retry-after-ms"] = str(self.arm.poll_after_ms)
            if query.get("monitor", "").lower() == "true":
                return ArmReply(202, None, headers)
        body: dict[str, Any] = {
            "id": f"/subscriptions/{sub}/providers/{PROVIDER}/locations/{loc}/ascOperations/{op}",
            "name": op,
            "status": operation.status,
            "startTime": _iso(operation.started),
        }
        if operation.ended is not None:
            body["endTime"] = _iso(operation.ended)
        if operation.error:
            body["error"] = dict(operation.error)
        return ArmReply(200, body, headers)

    def operations(self) -> list[Operation]:
        with self._lock:
            return list(self._ops.values())
