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

from hpccache_cli.errors import AzureError, UserError

if TYPE_CHECKING:
    from hpccache_cli.control.client import ArmSettings

_AUTHZ = re.compile(r"perform action '([^']+)' over scope '([^']+)'")


def _error_parts(exc: Any) -> tuple[str | None, str]:
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
        return json.loads(response.text() or "null")
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
    if action.lower().endswith("/read"):
        return "Reader (or any role with Microsoft.StorageCache/caches/read)"
    return (
        "Contributor (or a custom role with Microsoft.StorageCache/caches/storageTargets/*/action)"
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
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, UserError):
        return exc
    if isinstance(exc, ClientAuthenticationError) and getattr(exc, "response", None) is None:
        # The credential itself failed (no token), before ARM saw anything.
        return _auth_failure(settings, "")
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        code, message = _error_parts(exc)
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
                f"Azure is throttling requests for {what} ({label}) even after "
                f"{settings.retry_total} retries; try again in a few minutes"
            )
        if status is not None and status >= 500:
            return AzureError(
                f"Azure failed on {what} ({label}: {message}) after {settings.retry_total} "
                "retries; try again later"
            )
        return AzureError(f"Azure refused {what} ({label}: {message})")
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        reason = " ".join(str(exc).split())
        if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason:
            return AzureError(
                f"the TLS certificate of {settings.endpoint} is not trusted; pass --ca-bundle "
                "(or HPCCACHE_CA_BUNDLE) with the CA file that signs it"
            )
        return AzureError(
            f"cannot reach Azure Resource Manager at {settings.endpoint} ({reason[:200]}); "
            "check the network, proxy settings, or --arm-endpoint"
        )
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
