"""Following a long-running operation after Azure accepted it, and saying so when that fails.

Once ARM answered the POST of a flush (or suspend, resume, invalidate) with 202, the operation
runs in Azure whatever happens to hpccache's polling. So a failure while following it (the
status URL answers 404, sends something that is not JSON, points elsewhere, the wait runs out)
must never read like a refusal or a missing resource: :func:`follow_failure` says the operation
was accepted, may still be running, what went wrong, and the command that shows its state.

:class:`FollowedPolling` is ARM's polling method (given to the SDK through its ``polling``
keyword) that remembers the acceptance and refuses status URLs that are not HTTPS on the ARM
endpoint's own host: real ARM keeps them there, and following them elsewhere would hand that
host the bearer token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from azure.mgmt.core.polling.arm_polling import ARMPolling

from hpccache_cli.control.transport import same_origin, shown_origin
from hpccache_cli.errors import AzureError, UserError

if TYPE_CHECKING:
    from hpccache_cli.control.client import ArmSettings


class StatusUrlRefused(AzureError):
    """Azure sent an operation status URL that hpccache will not follow."""


class OperationTimeout(Exception):
    """The operation did not finish within the time allowed (it goes on in Azure)."""

    def __init__(self, status: str, elapsed: float) -> None:
        super().__init__(status)
        self.status = status
        self.elapsed = elapsed


class FollowedPolling(ARMPolling):
    """ARM polling that records acceptance and follows status URLs on the endpoint only."""

    def __init__(self, settings: ArmSettings) -> None:
        super().__init__(
            settings.polling_interval, path_format_arguments={"endpoint": settings.endpoint}
        )
        self.endpoint = settings.endpoint
        self.accepted = False

    def initialize(self, client: Any, initial_response: Any, deserialization_callback: Any) -> None:
        self.accepted = True  # the SDK calls this only after a 2xx answer to the request
        headers = initial_response.http_response.headers
        for name in ("Azure-AsyncOperation", "Location"):
            if headers.get(name):
                self._check(headers[name], name)
        super().initialize(client, initial_response, deserialization_callback)

    def request_status(self, status_link: str) -> Any:
        self._check(status_link, "status")
        return super().request_status(status_link)

    def _check(self, url: str, name: str) -> None:
        if "://" not in url:  # relative: resolved against the endpoint by the SDK
            return
        if not url.lower().startswith("https://"):
            raise StatusUrlRefused(
                f"Azure sent an {name} URL in plain HTTP ({shown_origin(url)}); refused to "
                "follow it (tokens go over TLS only)"
            )
        if not same_origin(url, self.endpoint):
            raise StatusUrlRefused(
                f"Azure sent an {name} URL on another host ({shown_origin(url)}) than the Resource "
                f"Manager endpoint {self.endpoint}; refused to follow it (real ARM keeps them on "
                "its own host)"
            )


def _cause(exc: BaseException, settings: ArmSettings) -> str:
    """What went wrong while following, in words."""
    from azure.core.exceptions import (
        DecodeError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
        ServiceResponseTimeoutError,
    )

    from hpccache_cli.control.arm_errors import error_parts
    from hpccache_cli.control.transport import UnsafeReplyError

    tries = settings.attempts.attempts
    after = f" after {tries} attempts" if tries > 1 else ""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, UnsafeReplyError):
        return (
            "Azure Resource Manager sent an operation status hpccache will not read "
            f"(HTTP {exc.status}: {exc.reason})"
        )
    if isinstance(exc, DecodeError) or (
        isinstance(exc, HttpResponseError) and (exc.status_code or 0) < 400
    ):
        return (
            "Azure Resource Manager sent an operation status that could not be read "
            f"({' '.join(str(exc).split())[:160]})"
        )
    if isinstance(exc, HttpResponseError):
        code, message = error_parts(exc)
        label = f"HTTP {exc.status_code}" + (f" {code}" if code else "")
        return f"its status URL answered {label}: {message}{after}"
    if isinstance(exc, ServiceResponseTimeoutError):
        return (
            f"Azure Resource Manager did not answer within {settings.read_timeout:g} s "
            f"(HPCCACHE_ARM_READ_TIMEOUT){after}"
        )
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return f"cannot reach Azure Resource Manager ({' '.join(str(exc).split())[:160]}){after}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"


def follow_failure(
    exc: BaseException, settings: ArmSettings, what: str, check_with: str
) -> AzureError:
    """The one line for a failure after Azure accepted ``what`` (exit 3)."""
    return AzureError(
        f"{what} was accepted by Azure and may still be running, but following it failed: "
        f"{_cause(exc, settings)}; check with: {check_with}"
    )


def timed_out(what: str, timeout: float, status: str, check_with: str) -> AzureError:
    """The one line for an operation still running when ``--timeout`` passed (exit 3)."""
    return AzureError(
        f"{what} did not finish within {timeout:g} s (--timeout; last status: {status}); it is "
        f"still running in Azure; check with: {check_with}"
    )
