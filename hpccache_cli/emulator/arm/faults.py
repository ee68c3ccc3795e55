"""Errors the fake ARM produces on demand, so tests can walk every failure path of the client.

Faults are queued and consumed by the next matching request(s)::

    arm.faults.next_status(429, count=3, retry_after_ms=10)   # throttle three requests
    arm.faults.next_status(403)                                # AuthorizationFailed
    arm.faults.next_status(500, method="POST")                 # fail the next POST
    arm.faults.fail_next_lro("disk full on the back end")      # operation ends Failed
    arm.faults.hold_next_lro()                                 # operation stays InProgress
    arm.faults.next_lro_urls(scheme="http")                    # status URLs in plain HTTP
    arm.faults.next_lro_urls(host="127.0.0.2:9")               # status URLs on another host
    arm.faults.next_link_host("127.0.0.2:9")                   # next page on another host
    arm.faults.next_body(b"<html>", path_contains="/caches/")  # a 200 that is not JSON
    arm.faults.next_hang(path_contains="/caches/emu")          # never answer (until stop)
    arm.faults.next_nested(3000, path_contains="/caches/emu")  # valid JSON, 3,000 levels deep

The bodies are ARM's error format, with the codes and message wording the real service uses,
because the client's error translation parses them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

_DEFAULTS = {
    400: ("BadRequest", "The request is invalid."),
    401: ("InvalidAuthenticationToken", "The access token is invalid."),
    404: ("ResourceNotFound", "The resource was not found."),
    409: ("Conflict", "The operation conflicts with the resource's state."),
    429: (
        "TooManyRequests",
        "The request is being throttled as the limit has been reached for operation type.",
    ),
    500: ("InternalServerError", "Encountered internal server error."),
    502: ("BadGateway", "The gateway did not receive a response."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
}


@dataclass
class StatusFault:
    """Answer ``count`` matching requests with ``status`` instead of serving them."""

    status: int
    count: int = 1
    code: str | None = None
    message: str | None = None
    retry_after: int | None = None  # seconds, in Retry-After
    retry_after_ms: int | None = None  # milliseconds, in retry-after-ms
    method: str | None = None  # only this HTTP method
    path_contains: str | None = None  # only paths containing this (case-insensitive)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not self.path_contains or self.path_contains.lower() in path.lower()

    def code_and_message(self, action: str, scope: str) -> tuple[str, str]:
        if self.status == 403:
            return self.code or "AuthorizationFailed", self.message or (
                "The client 'emulated-user@contoso.com' with object id "
                "'00000000-0000-0000-0000-0000000000aa' does not have authorization to perform "
                f"action '{action}' over scope '{scope}' or the scope is invalid. If access was "
                "recently granted, please refresh your credentials."
            )
        code, message = _DEFAULTS.get(self.status, ("Error", "The request failed."))
        return self.code or code, self.message or message


@dataclass
class LroFault:
    """How the next long-running operation misbehaves: it fails with ``message``/``code``,
    or, with ``hold``, stays InProgress until the fake stops."""

    message: str = ""
    code: str = ""
    count: int = 1
    hold: bool = False


@dataclass
class UrlFault:
    """The next operation's status URLs get another ``scheme`` and/or ``host`` (host:port)."""

    scheme: str | None = None
    host: str | None = None


@dataclass
class BodyFault:
    """Answer one matching request with ``status`` and ``body`` as-is (not JSON, say)."""

    body: bytes
    status: int = 200
    content_type: str = "text/html"
    method: str | None = None
    path_contains: str | None = None
    count: int = 1
    hang: bool = False  # never answer at all (until the fake stops)
    path_suffix: str | None = None  # only paths ending so (a list, not its items)

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path_suffix and not path.lower().rstrip("/").endswith(self.path_suffix.lower()):
            return False
        return not self.path_contains or self.path_contains.lower() in path.lower()


class ArmFaults:
    """The queue of pending faults; thread-safe because the server is threaded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: list[StatusFault] = []
        self._lro: list[LroFault] = []
        self._urls: list[UrlFault] = []
        self._bodies: list[BodyFault] = []
        self._link_hosts: list[str] = []
        #: Set when the fake stops: hanging requests and held operations end then.
        self.released = threading.Event()

    def next_status(
        self,
        status: int,
        *,
        count: int = 1,
        code: str | None = None,
        message: str | None = None,
        retry_after: int | None = None,
        retry_after_ms: int | None = None,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Make the next ``count`` matching requests fail with HTTP ``status``."""
        with self._lock:
            self._status.append(
                StatusFault(
                    status, count, code, message, retry_after, retry_after_ms, method, path_contains
                )
            )

    def fail_next_lro(
        self, message: str = "The operation failed.", code: str = "InternalError", count: int = 1
    ) -> None:
        """Make the next ``count`` long-running operations end with status Failed."""
        with self._lock:
            self._lro.append(LroFault(message, code, count))

    def hold_next_lro(self, count: int = 1) -> None:
        """Make the next ``count`` long-running operations stay InProgress (never finish)."""
        with self._lock:
            self._lro.append(LroFault(count=count, hold=True))

    def next_lro_urls(self, *, scheme: str | None = None, host: str | None = None) -> None:
        """Give the next operation's Azure-AsyncOperation and Location URLs another scheme or
        host (real ARM keeps them on its own host, over HTTPS)."""
        with self._lock:
            self._urls.append(UrlFault(scheme, host))

    def next_body(
        self,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "text/html",
        method: str | None = None,
        path_contains: str | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` matching requests with ``body`` verbatim (e.g. a proxy's
        HTML page with status 200)."""
        with self._lock:
            self._bodies.append(
                BodyFault(body, status, content_type, method, path_contains, count)
            )

    def next_hang(
        self,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        count: int = 1,
        path_suffix: str | None = None,
    ) -> None:
        """Read the next ``count`` matching requests and never answer them (until the fake
        stops): what a client's read timeout is for. ``path_suffix`` picks a list
        (``/caches``) apart from its items (``/caches/emu``)."""
        with self._lock:
            self._bodies.append(BodyFault(b"", method=method, path_contains=path_contains,
                                          count=count, hang=True, path_suffix=path_suffix))

    def next_nested(
        self,
        depth: int,
        *,
        status: int = 200,
        method: str | None = None,
        path_contains: str | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` matching requests with valid JSON nested ``depth`` levels
        deep (a resource with an extra key of lists in lists): what a client that parses by
        recursion cannot survive."""
        inner = b"[" * (depth - 1) + b"]" * (depth - 1)
        body = b'{"id": "/nested", "name": "nested", "properties": {}, "extra": ' + inner + b"}"
        self.next_body(body, status=status, content_type="application/json", method=method,
                       path_contains=path_contains, count=count)

    def clear(self) -> None:
        with self._lock:
            self._status.clear()
            self._lro.clear()
            self._urls.clear()
            self._bodies.clear()
            self._link_hosts.clear()

    def take_body(self, method: str, path: str) -> BodyFault | None:
        with self._lock:
            for fault in self._bodies:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._bodies.remove(fault)
                    return fault
        return None

    def next_link_host(self, host: str) -> None:
        """Put the next list page's ``nextLink`` on ``host`` (host:port)."""
        with self._lock:
            self._link_hosts.append(host)

    def take_link_host(self) -> str | None:
        with self._lock:
            return self._link_hosts.pop(0) if self._link_hosts else None

    def take_urls(self) -> UrlFault | None:
        with self._lock:
            return self._urls.pop(0) if self._urls else None

    def take_status(self, method: str, path: str) -> StatusFault | None:
        with self._lock:
            for fault in self._status:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._status.remove(fault)
                    return fault
        return None

    def take_lro(self) -> LroFault | None:
        with self._lock:
            if not self._lro:
                return None
            fault = self._lro[0]
            fault.count -= 1
            if fault.count <= 0:
                self._lro.pop(0)
            return fault
