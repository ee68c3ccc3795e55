"""Turn Azure SDK exceptions into one line that says what failed and what to do next.

Every ARM or sign-in failure leaves hpccache as an :class:`~hpccache_cli.errors.AzureError`
(exit 3). The SDK's own messages are multi-line and written for SDK developers; users need the
identity that was tried, the role that is missing on which scope, the names that do exist, or
simply "try again later".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from hpccache_cli.control import json_bounds
from hpccache_cli.errors import AzureError, UserError

if TYPE_CHECKING:
    from hpccache_cli.control.client import ArmSettings

_AUTHZ = re.compile(r"perform action '([^']+)' over scope '([^']+)'")


def error_parts(exc: Any) -> tuple[str | None, str]:
    """(code, message) from an HttpResponseError, from its parsed model or the raw body."""
    err = getattr(exc, "error", None)
    code = getattr(err, "code", None)
    message = getattr(err, "message", None)
    if not message:
        body = _body(exc)
        inner = body.get("error") if isinstance(body, dict) else None
        if isinstance(inner, dict):
            code = code or inner.get("code")
            message = inner.get("message")
    if not message:
        message = getattr(exc, "reason", None) or str(exc).splitlines()[0]
    return code, " ".join(str(message).split())


def _body(exc: Any) -> Any:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    try:
        return json_bounds.loads(response.text() or "null")
    except Exception:  # noqa: BLE001 - a body we cannot parse is just absent
        return None


def lro_failure(exc: Any) -> str | None:
    """The operation's own error message when ``exc`` is a failed/canceled LRO, else None."""
    body = _body(exc)
    if isinstance(body, dict) and str(body.get("status", "")).lower() in ("failed", "canceled"):
        error = body.get("error")
        inner = error if isinstance(error, dict) else {}
        msg = inner.get("message") or f"status {body['status']}"
        code = inner.get("code")
        return f"{msg} ({code})" if code else msg
    return None


def _role_hint(action: str) -> str:
    """The built-in role that has ``action``, and the action itself for a custom role."""
    if action.lower().endswith("/read"):
        return f"Reader (or any role with {action})"
    return f"Contributor (or a custom role with {action})"


def _attempts(settings: ArmSettings) -> str:
    """" after N attempts" when the last request was tried more than once, else ""."""
    n = settings.attempts.attempts
    return f" after {n} attempts" if n > 1 else ""


def _transport_failure(exc: BaseException, settings: ArmSettings, what: str) -> AzureError:
    """No HTTP answer: a timeout, TLS trouble or no connection, each named for what it is."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseTimeoutError

    reason = " ".join(str(exc).split())
    where = settings.endpoint
    after = _attempts(settings)
    if "mismatch" in reason and ("certificate" in reason.lower() or "CERTIFICATE" in reason):
        detail = re.search(r"((?:IP address|Hostname) mismatch[^'\")(]*'[^']*')", reason)
        return AzureError(
            f"the TLS certificate of {where} is not issued for that address "
            f"({detail.group(1) if detail else 'name mismatch'}): use the host name the "
            "certificate names in --arm-endpoint (a different CA file will not help)"
        )
    if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason:
        return AzureError(
            f"the TLS certificate of {where} is not trusted; pass --ca-bundle "
            "(or HPCCACHE_CA_BUNDLE) with the CA file that signs it"
        )
    if "NO_CERTIFICATE_OR_CRL_FOUND" in reason or "PEM lib" in reason:
        return AzureError(
            f"the CA file for {where} is not a PEM certificate bundle ({reason[:120]}); pass "
            "the CA certificate(s) in PEM format with --ca-bundle / HPCCACHE_CA_BUNDLE"
        )
    if isinstance(exc, ServiceResponseTimeoutError) or (
        isinstance(exc, ServiceRequestError) and "timed out" in reason.lower()
    ):
        # urllib3 names the socket timeout in force: the connect one covers the TLS handshake.
        m = re.search(r"timeout=([0-9.]+)", reason)
        used = float(m.group(1)) if m else None
        if isinstance(exc, ServiceRequestError) or (
            used == settings.connect_timeout and used != settings.read_timeout
        ):
            return AzureError(
                f"could not connect to Azure Resource Manager at {where} (TCP and TLS) within "
                f"{settings.connect_timeout:g} s (HPCCACHE_ARM_CONNECT_TIMEOUT){after}; check "
                "the network, proxy settings, or --arm-endpoint"
            )
        return AzureError(
            f"Azure Resource Manager at {where} did not answer {what} within "
            f"{settings.read_timeout:g} s (HPCCACHE_ARM_READ_TIMEOUT){after}; try again later"
        )
    return AzureError(
        f"cannot reach Azure Resource Manager at {where} ({reason[:200]}){after}; "
        "check the network, proxy settings, or --arm-endpoint"
    )


def _auth_failure(settings: ArmSettings, detail: str) -> AzureError:
    from hpccache_cli.control.credentials import next_step

    step = "check the credential" if settings.auth == "injected" else next_step(settings.auth)
    return AzureError(f"Azure sign-in failed: tried {settings.tried}{detail}; next: {step}")


def translate(
    exc: BaseException,
    settings: ArmSettings,
    what: str,
    not_found_hint: Callable[[], str | None] | None = None,
    subject: str | None = None,
) -> UserError:
    """The user-facing error for ``exc`` raised while working on ``what``.

    ``subject`` names the resource for a 404 when ``what`` is an action ("flush of ...").
    """
    from azure.core.exceptions import (
        ClientAuthenticationError,
        DecodeError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    from hpccache_cli.control.transport import UnsafeReplyError

    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, (UnsafeReplyError, RecursionError)):
        status = getattr(exc, "status", None)
        reply = f"HTTP {status}" if status else "the reply"
        why = exc.reason if isinstance(exc, UnsafeReplyError) else "it nests too deep to read"
        return AzureError(
            f"Azure Resource Manager sent a reply hpccache will not read ({reply} to {what}: "
            f"{why}); try again, and if it persists check for a proxy between here and "
            f"{settings.endpoint}"
        )
    if isinstance(exc, (DecodeError, json.JSONDecodeError)) or (
        isinstance(exc, HttpResponseError)
        and 200 <= (exc.status_code or 0) < 300
        and lro_failure(exc) is None
    ):
        code_seen = getattr(exc, "status_code", None)
        reply = f"HTTP {code_seen}" if code_seen else "the reply"
        return AzureError(
            f"Azure Resource Manager sent a response that could not be read ({reply} to "
            f"{what} is not valid JSON: {' '.join(str(exc).split())[:120]}); try again, and if "
            f"it persists check for a proxy between here and {settings.endpoint}"
        )
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "response", None) is None:
        # The credential itself failed (no token), before ARM saw anything.
        return _auth_failure(settings, "")
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        code, message = error_parts(exc)
        failed_op = lro_failure(exc)
        if failed_op:
            return AzureError(f"{what} failed in Azure: {failed_op}")
        label = f"HTTP {status}" + (f" {code}" if code else "")
        if status == 401:
            return _auth_failure(
                settings,
                f", but ARM at {settings.endpoint} rejected the token ({label}: {message})",
            )
        if status == 403:
            m = _AUTHZ.search(message)
            if m:
                action, scope = m.groups()
                return AzureError(
                    f"not allowed to {action} on {scope}: ask for {_role_hint(action)} on that "
                    f"scope (identity: {settings.tried}); if it was just granted, sign in again"
                )
            return AzureError(f"Azure refused access to {what} ({label}: {message})")
        if status == 404 and code in ("ResourceGroupNotFound", "SubscriptionNotFound"):
            fix = "-g/--resource-group" if code == "ResourceGroupNotFound" else "--subscription"
            return AzureError(
                f"{message.rstrip('.')} (subscription {settings.subscription_id}, {label}); "
                f"check {fix}"
            )
        if status == 404:
            hint = None
            if not_found_hint is not None:
                try:
                    hint = not_found_hint()
                except Exception:  # noqa: BLE001 - the hint is a courtesy
                    hint = None
            extra = f"; {hint}" if hint else ""
            return AzureError(
                f"{subject or what} not found in subscription {settings.subscription_id}{extra}"
            )
        if status == 429:
            return AzureError(
                f"Azure is throttling requests for {what} ({label}){_attempts(settings)}; "
                "try again in a few minutes (HPCCACHE_ARM_RETRIES allows more retries)"
            )
        if status is not None and status >= 500:
            return AzureError(
                f"Azure failed on {what} ({label}: {message}){_attempts(settings)}; "
                "try again later"
            )
        return AzureError(f"Azure refused {what} ({label}: {message})")
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return _transport_failure(exc, settings, what)
    if isinstance(exc, ValueError) and "AZURE_TOKEN_CREDENTIALS" in str(exc):
        return AzureError(f"cannot set up {settings.tried}: {exc}")
    raise exc


@contextmanager
def arm_errors(
    settings: ArmSettings,
    what: str,
    not_found_hint: Callable[[], str | None] | None = None,
    subject: str | None = None,
) -> Iterator[None]:
    """Run ARM calls; any SDK failure leaves as one AzureError line (exit 3)."""
    try:
        yield
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - translate() re-raises what it does not know
        raise translate(exc, settings, what, not_found_hint, subject) from None
