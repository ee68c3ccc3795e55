"""The Microsoft.StorageCache ARM API as the fake serves it: routing, paging, LROs.

Only what hpccache uses is implemented: cache list/get/flush, storage target list/get and the
four storage-target operations, and the ``ascOperations`` status resource their long-running
operations point at. Replies copy the real service's shapes and headers: ``nextLink`` paging,
``202`` with ``Azure-AsyncOperation`` + ``Location`` for operations, ``retry-after-ms`` so the
SDK polls quickly (a ``Retry-After`` of 0 would count as absent and fall back to the client's
polling interval).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import unquote

from hpccache_cli.emulator.aml.service import AmlService
from hpccache_cli.emulator.arm.aml_routes import AmlRoutes
from hpccache_cli.emulator.arm.faults import ArmFaults
from hpccache_cli.emulator.arm.resources import PROVIDER, ArmStore, CacheRecord


class ArmBackend(Protocol):
    """What the routes use of the fake ARM (:class:`~hpccache_cli.emulator.arm.server.FakeArm`):
    named here so that the routes need not import the server that imports them."""

    faults: ArmFaults
    store: ArmStore
    aml: AmlService | None
    page_size: int
    poll_after_ms: int

    @property
    def url(self) -> str: ...

    def token_ok(self, header: str | None) -> bool: ...

    def begin_work(
        self,
        record: CacheRecord,
        target: str | None,
        action: str,
        finish: Callable[[tuple[str, str] | None], None],
    ) -> None: ...

_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)"
_CACHES = r"/providers/Microsoft\.StorageCache/caches"
_CACHE = _RG + _CACHES + r"/(?P<cache>[^/]+)"
_TARGET = _CACHE + r"/storageTargets/(?P<target>[^/]+)"
_ACTIONS = "flush|suspend|resume|invalidate"


@dataclass
class ArmReply:
    """The fake ARM's HTTP answer (status, JSON body, headers); not the RPC ``rpc.Reply``."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as-is instead of ``body`` as JSON (faults)
    content_type: str = "application/json; charset=utf-8"
    hang: bool = False  # never answer (a fault): the server holds the request until it stops


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


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat().replace("+00:00", "Z")


def _err(status: int, code: str, message: str, **headers: str) -> ArmReply:
    return ArmReply(status, {"error": {"code": code, "message": message}}, dict(headers))


class ArmRoutes:
    """Dispatch one request of the fake ARM; holds the LRO table."""

    def __init__(self, arm: ArmBackend) -> None:
        self.arm = arm
        self._ops: dict[str, Operation] = {}
        self._lock = threading.Lock()
        route = Callable[..., ArmReply]
        table: list[tuple[str, str, route, str]] = [
            ("GET", _SUB + _CACHES, self._list_caches, "caches/read"),
            ("GET", _RG + _CACHES, self._list_caches, "caches/read"),
            ("GET", _CACHE, self._get_cache, "caches/read"),
            ("POST", _CACHE + "/flush", self._cache_flush, "caches/flush/action"),
            ("GET", _CACHE + "/storageTargets", self._list_targets, "caches/storageTargets/read"),
            ("GET", _TARGET, self._get_target, "caches/storageTargets/read"),
            (
                "POST",
                _TARGET + f"/(?P<action>{_ACTIONS})",
                self._target_action,
                "caches/storageTargets/{action}/action",
            ),
            (
                "GET",
                _SUB + r"/providers/Microsoft\.StorageCache/locations/(?P<loc>[^/]+)"
                r"/ascOperations/(?P<op>[^/]+)",
                self._get_operation,
                "locations/ascoperations/read",
            ),
        ]
        table[:0] = AmlRoutes(arm, ArmReply).table()  # Azure Managed Lustre (its own module)
        self._table: list[tuple[str, re.Pattern[str], route, str]] = [
            (m, re.compile(f"^{p}/?$", re.IGNORECASE), f, a) for m, p, f, a in table
        ]

    # ---- entry point ----------------------------------------------------------------------

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
            return _err(401, code, msg, **{"WWW-Authenticate": 'Bearer error="invalid_token"'})
        for m, pattern, func, action in self._table:
            match = pattern.match(path)
            if match is None or m != method:
                continue
            groups = {k: unquote(v) for k, v in match.groupdict().items()}
            body_fault = self.arm.faults.take_body(method, path)
            if body_fault is not None:
                return ArmReply(body_fault.status, raw=body_fault.body,
                             content_type=body_fault.content_type, hang=body_fault.hang)
            fault = self.arm.faults.take_status(method, path)
            if fault is not None:
                act = f"{PROVIDER}/" + action.format(
                    action=groups.get("action", ""), kind=groups.get("kind", "")
                )
                code, message = fault.code_and_message(act, path)
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                if fault.retry_after_ms is not None:
                    headers["retry-after-ms"] = str(fault.retry_after_ms)
                return _err(fault.status, code, message, **headers)
            if "api-version" not in query:
                return _err(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                )
            if groups["sub"].lower() not in self.arm.store.subscriptions():
                return _err(
                    404,
                    "SubscriptionNotFound",
                    f"The subscription '{groups['sub']}' could not be found.",
                )
            extra = {"body": body} if getattr(func, "wants_body", False) else {}
            return func(query=query, path=path, **groups, **extra)
        return _err(404, "InvalidResourceType", f"The fake ARM does not serve {method} {path}.")

    # ---- lookups --------------------------------------------------------------------------

    def _find(self, sub: str, rg: str, cache: str) -> CacheRecord | ArmReply:
        record = self.arm.store.find(sub, rg, cache)
        if record is not None:
            return record
        if rg.lower() not in self.arm.store.resource_groups(sub):
            return _err(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return _err(
            404,
            "ResourceNotFound",
            f"The Resource '{PROVIDER}/caches/{cache}' under resource group '{rg}' was not found. "
            "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
        )

    def _page(self, items: list[dict[str, Any]], path: str, query: dict[str, str]) -> ArmReply:
        size = max(1, self.arm.page_size)
        try:
            skip = int(query.get("$skipToken", "0"))
        except ValueError:
            return _err(400, "InvalidSkipToken", "The $skipToken is not valid.")
        body: dict[str, Any] = {"value": items[skip : skip + size]}
        if skip + size < len(items):
            host = self.arm.faults.take_link_host()
            origin = f"https://{host}" if host else self.arm.url
            body["nextLink"] = (
                f"{origin}{path}?api-version={query['api-version']}&$skipToken={skip + size}"
            )
        return ArmReply(200, body)

    # ---- reads ----------------------------------------------------------------------------

    def _list_caches(
        self, query: dict[str, str], path: str, sub: str, rg: str | None = None
    ) -> ArmReply:
        store = self.arm.store
        if rg is not None and rg.lower() not in store.resource_groups(sub):
            return _err(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
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
            return _err(
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
            return _err(404, "ResourceNotFound", f"Operation '{op}' was not found.")
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
