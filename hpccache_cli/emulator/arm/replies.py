"""What every route table of the fake ARM answers with: :class:`ArmReply`, ARM's error body,
and ``nextLink`` paging (shared, so a new resource type's table is only its routes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ArmReply:
    """The fake ARM's HTTP answer (status, JSON body, headers); not the RPC ``rpc.Reply``."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # sent as-is instead of ``body`` as JSON (faults)
    content_type: str = "application/json; charset=utf-8"
    hang: bool = False  # never answer (a fault): the server holds the request until it stops


def error_reply(status: int, code: str, message: str, **headers: str) -> ArmReply:
    """ARM's error body: ``{"error": {"code", "message"}}``."""
    return ArmReply(status, {"error": {"code": code, "message": message}}, dict(headers))


def page(
    items: list[dict[str, Any]],
    path: str,
    query: dict[str, str],
    *,
    page_size: int,
    origin: str,
) -> ArmReply:
    """One page of ``items`` at ``$skipToken``, with ``nextLink`` on ``origin`` when more."""
    size = max(1, page_size)
    try:
        skip = int(query.get("$skipToken", "0"))
    except ValueError:
        return error_reply(400, "InvalidSkipToken", "The $skipToken is not valid.")
    body: dict[str, Any] = {"value": items[skip : skip + size]}
    if skip + size < len(items):
        body["nextLink"] = (
            f"{origin}{path}?api-version={query['api-version']}&$skipToken={skip + size}"
        )
    return ArmReply(200, body)
