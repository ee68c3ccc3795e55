"""How hpccache's SDK client sends requests: bounded retries that say what they do, and a
bearer token that only ever goes to the Resource Manager host it was meant for.

Both are azure-core policies handed to the client through its documented keywords
(``retry_policy``, ``authentication_policy``); nothing of the SDK is patched.

* :class:`ArmRetryPolicy`: ``HPCCACHE_ARM_RETRIES`` is the limit for retries on 408/429/5xx
  (the SDK's status limit, which would otherwise stay at 3, as well as its total); connection
  and read failures are retried at most :data:`TIMEOUT_RETRIES` times within that limit. It
  counts the attempts really made (error messages quote that number) and announces on stderr
  any wait of :data:`ANNOUNCE_WAIT_S` or more before a retry, so a throttled command is not
  mistaken for a hung one.
* :class:`EndpointBoundAuthPolicy`: refuses any request to another origin (scheme, host, port)
  than the ARM endpoint before a token is attached: a paging link or operation URL pointing
  elsewhere must not collect the user's token.
* :class:`BoundedReplyPolicy`: refuses a reply nested deeper or larger than
  :mod:`hpccache_cli.control.json_bounds` accepts before the SDK parses it (a deep reply would
  otherwise end in a RecursionError), and one whose ARM envelope has the wrong JSON types
  (:func:`envelope_problem`); it sits inside the retry policy (``per_retry_policies``) so it
  sees every attempt and every operation-status poll.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azure.core.pipeline.policies import RetryPolicy, SansIOHTTPPolicy
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

from hpccache_cli.control.json_bounds import JsonBoundsError, check
from hpccache_cli.errors import AzureError

if TYPE_CHECKING:
    from hpccache_cli.control.attempts import AttemptLog

#: Waits before a retry this long or longer are announced on stderr.
ANNOUNCE_WAIT_S = 2.0
#: Longest exponential back-off between two attempts (azure-core's default is 120 s).
BACKOFF_MAX_S = 30
#: Retries after a connect or read timeout (or a dropped connection), at most: a server that
#: does not answer in 10 or 20 s is unlikely to answer on the fourth try.
TIMEOUT_RETRIES = 2


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url``, with the scheme's default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def same_origin(url: str, endpoint: str) -> bool:
    return origin(url) == origin(endpoint)


def announce(line: str) -> None:
    """Write one progress line on stderr (the CLI's convention for waits)."""
    sys.stderr.write(f"hpccache: {line}\n")
    sys.stderr.flush()


class ArmRetryPolicy(RetryPolicy[Any, Any]):  # (request and response types: any transport's)
    """azure-core's retry policy with one limit for all retries, counted and announced."""

    def __init__(
        self,
        retries: int,
        log: AttemptLog,
        say: Callable[[str], None] | None = announce,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            retry_total=retries,
            retry_status=retries,
            retry_connect=min(retries, TIMEOUT_RETRIES),
            retry_read=min(retries, TIMEOUT_RETRIES),
            retry_backoff_max=BACKOFF_MAX_S,
            **kwargs,
        )
        self._retries = retries
        self._log = log
        self._say = say

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        self._log.start()  # called once per request, before its first attempt
        return super().configure_retries(options)

    def increment(self, settings: dict[str, Any], response: Any = None, error: Any = None) -> bool:
        more = super().increment(settings, response=response, error=error)
        if more:
            settings["hpccache_next_attempt"] = self._log.retried()
        return bool(more)

    def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
        asked = self.get_retry_after(response) if response is not None else None
        wait = asked or self.get_backoff_time(settings)
        if self._say is not None and wait >= ANNOUNCE_WAIT_S:
            attempt = settings.get("hpccache_next_attempt", 2)
            total = self._retries + 1
            if response is not None:
                status = response.http_response.status_code
                why = "throttling" if status == 429 else "failing"
                how = "as it asked (Retry-After)" if asked else "before retrying"
                self._say(
                    f"Azure Resource Manager is {why} (HTTP {status}); waiting {wait:.0f} s "
                    f"{how}, then attempt {attempt} of {total}"
                )
            else:
                self._say(
                    f"Azure Resource Manager did not answer; waiting {wait:.0f} s, then "
                    f"attempt {attempt} of {total}"
                )
        super().sleep(settings, transport, response=response)


class TokenRefusedError(AzureError):
    """A request to another host than the ARM endpoint was stopped before it got a token."""


class EndpointBoundAuthPolicy(ARMChallengeAuthenticationPolicy):
    """ARM's bearer-token policy, for requests to ``endpoint``'s origin only."""

    def __init__(self, credential: Any, *scopes: str, endpoint: str, **kwargs: Any) -> None:
        super().__init__(credential, *scopes, **kwargs)
        self._endpoint = endpoint

    def on_request(self, request: Any) -> None:
        url = request.http_request.url
        if not same_origin(url, self._endpoint):
            raise TokenRefusedError(
                f"refused to send the bearer token to {shown_origin(url)}: it is not the Resource "
                f"Manager endpoint {self._endpoint} (tokens go only there)"
            )
        super().on_request(request)


def shown_origin(url: str) -> str:
    """The origin of ``url`` (no path or query: they may be long or carry signatures)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class UnsafeReplyError(Exception):
    """ARM's reply is beyond what hpccache parses (too deep, too large, not shaped as an ARM
    resource): ``reason`` says which,
    ``status`` is its HTTP status. Not an azure-core error, so no retry policy retries it;
    ``arm_errors.translate`` names the request it answered."""

    def __init__(self, reason: str, status: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class BoundedReplyPolicy(SansIOHTTPPolicy[Any, Any]):
    """Check each read (non-streamed) reply's size and nesting before anyone parses it."""

    def on_response(self, request: Any, response: Any) -> None:
        if response.context.options.get("stream", True):
            return  # a streamed body is not parsed as JSON (the SDK's own rule)
        http = response.http_response
        body = http.body() or b""
        try:
            check(body)
        except JsonBoundsError as exc:
            raise UnsafeReplyError(str(exc), http.status_code) from None
        problem = envelope_problem(body)
        if problem:
            raise UnsafeReplyError(problem, http.status_code)


#: Keys of ARM's resource envelope and list pages, with the JSON type each must have when
#: present and not null: the SDK's models and hpccache's code take them for granted (a
#: ``properties`` list used to end in an AttributeError traceback).
_ENVELOPE = {"id": str, "name": str, "type": str, "location": str, "nextLink": str,
             "status": str, "properties": dict, "tags": dict, "error": dict, "value": list}
_JSON_NAMES: dict[type, str] = {str: "a string", dict: "an object", list: "a list"}


def envelope_problem(body: bytes) -> str | None:
    """What is wrong with the shape of ARM reply ``body`` (JSON), or None.

    Only the envelope every ARM reply shares is checked (and each item of a list page's
    ``value``); a body that is not JSON is left to the SDK, which names it as such."""
    import json

    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        return None
    items: list[tuple[str, Any]] = [("", data)]
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        for i, item in enumerate(data["value"]):
            if not isinstance(item, dict):
                return f"item {i} of 'value' is {_kind(item)}, not an object"
            items.append((f" of item {i} of 'value'", item))
    for where, item in items:
        if not isinstance(item, dict):
            continue
        for key, want in _ENVELOPE.items():
            value = item.get(key)
            if value is not None and not isinstance(value, want):
                return f"'{key}'{where} is {_kind(value)}, not {_JSON_NAMES[want]}"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return _JSON_NAMES.get(type(value), "null")
