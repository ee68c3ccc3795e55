"""How the fake ARM finds a route: by the resource provider and type a path names.

ARM paths say what they are about: ``/subscriptions/S/resourceGroups/G/providers/
Microsoft.StorageCache/caches/NAME/...``. :func:`resource_key` reads (provider, type) from the
first ``/providers/`` segment, and the dispatcher (:mod:`.routes`) looks only at the route
tables registered for that key, so a new resource type is one more :class:`RouteTable` (its
routes and example bodies), registered with one line in ``routes.ROUTE_TABLES``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hpccache_cli.emulator.arm.faults import ArmFaults
    from hpccache_cli.emulator.arm.resources import ArmStore, CacheRecord

class ArmBackend(Protocol):
    """What the routes use of the fake ARM (:class:`~hpccache_cli.emulator.arm.server.FakeArm`):
    named here so that the routes need not import the server that imports them."""

    faults: ArmFaults
    store: ArmStore
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


SUB = r"/subscriptions/(?P<sub>[^/]+)"
RG = SUB + r"/resourceGroups/(?P<rg>[^/]+)"

_PROVIDER = re.compile(r"/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)", re.IGNORECASE)


def resource_key(path: str) -> tuple[str, str]:
    """``(provider, type)`` of an ARM path, lower-cased; ``("", "")`` when it names none
    (``/subscriptions``)."""
    match = _PROVIDER.search(path)
    if match is None:
        return "", ""
    return match["ns"].lower(), match["type"].lower()


@dataclass
class Route:
    """One route: method, path pattern (named groups become the handler's keywords), the
    handler ``(query=, path=, **groups) -> ArmReply``, and the RBAC action a 403 names."""

    method: str
    pattern: str
    handler: Callable[..., Any]
    action: str
    compiled: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.compiled = re.compile(f"^{self.pattern}/?$", re.IGNORECASE)


@dataclass
class RouteTable:
    """The routes of one resource provider's types.

    ``uses_subscription``: a path's ``{sub}`` must be a subscription the fake serves (404
    ``SubscriptionNotFound`` otherwise), as for every resource under a subscription.
    """

    provider: str
    types: tuple[str, ...]
    routes: list[Route]
    uses_subscription: bool = True

    def resource_keys(self) -> list[tuple[str, str]]:
        return [(self.provider.lower(), t.lower()) for t in self.types]
