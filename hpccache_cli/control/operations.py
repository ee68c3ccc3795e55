"""Storage-target and whole-cache operations: flush, suspend, resume, invalidate.

These are ARM long-running operations (POST, then poll ``Azure-AsyncOperation``, then a final
GET of ``Location``). The Azure CLI offers no storage-target flush at all, which is why it is
here. The SDK's poller runs in a thread; :func:`wait_for` waits in short slices so a terminal
can show elapsed time and Ctrl-C is honoured (the operation itself then continues in Azure).

Every wait is bounded: ``timeout`` (the commands' ``--timeout``, default
:data:`~hpccache_cli.control.client.DEFAULT_OPERATION_TIMEOUT`) ends it with "still running in
Azure; check with: ...". Failures after Azure accepted the operation say so (see
:mod:`hpccache_cli.control.lro`), and never call the accepted target "not found".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from hpccache_cli.control.arm_errors import translate
from hpccache_cli.control.client import DEFAULT_OPERATION_TIMEOUT, ArmSettings, make_client
from hpccache_cli.control.resolve import cache_not_found_hint, first_page_names, hint_bounds
from hpccache_cli.errors import AzureError, UsageError


class TargetAction(str, Enum):
    """What can be done to one storage target, with the words used to report it."""

    flush = "flush"
    suspend = "suspend"
    resume = "resume"
    invalidate = "invalidate"

    @property
    def done(self) -> str:
        return {"flush": "flushed", "suspend": "suspended", "resume": "resumed"}.get(
            self.value, "invalidated"
        )


# (elapsed seconds, status text such as "InProgress") -> None
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class OperationResult:
    """How an operation ended: ``Succeeded``, or ``Started`` when not waited for."""

    action: str
    cache: str
    resource_group: str
    target: str | None
    status: str
    elapsed_s: float

    def describe(self) -> str:
        subject = (
            f"storage target {self.target!r} of cache {self.cache!r}"
            if self.target
            else f"cache {self.cache!r}"
        )
        if self.status == "Started":
            return f"started {self.action} of {subject}; it continues in Azure"
        verb = TargetAction(self.action).done if self.action in TargetAction.__members__ else "done"
        return f"{verb} {subject} in {self.elapsed_s:.1f} s"


def target_not_found_hint(client: Any, resource_group: str, cache: str) -> str | None:
    """List the cache's targets, or fall back to explaining that the cache itself is missing."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        names = first_page_names(
            client.storage_targets.list_by_cache(resource_group, cache, **hint_bounds())
        )
    except ResourceNotFoundError:
        hint = cache_not_found_hint(client, resource_group)
        return f"cache {cache!r} does not exist" + (f" ({hint})" if hint else "")
    if names is None:  # the list was not cheap: no hint (HINT_BUDGET_S)
        return None
    if not names:
        return f"cache {cache!r} has no storage targets"
    return f"storage targets of {cache}: {', '.join(names)}"


def wait_for(
    poller: Any,
    on_progress: Progress | None = None,
    tick: float = 0.5,
    timeout: float | None = None,
) -> float:
    """Wait until ``poller`` is done, reporting progress; return the elapsed seconds.

    Raises what the poller raised (a failed operation is an HttpResponseError), or
    :class:`~hpccache_cli.control.lro.OperationTimeout` once ``timeout`` seconds have passed.
    """
    from hpccache_cli.control.lro import OperationTimeout

    start = time.monotonic()
    while not poller.done():
        left = None if timeout is None else timeout - (time.monotonic() - start)
        if left is not None and left <= 0:
            raise OperationTimeout(str(poller.status()), time.monotonic() - start)
        poller.wait(timeout=tick if left is None else min(tick, left))
        if on_progress is not None and not poller.done():
            on_progress(time.monotonic() - start, str(poller.status()))
    poller.result()
    return time.monotonic() - start


def check_timeout(timeout: float) -> float:
    """An operation's time limit must be positive: nothing is polled forever."""
    if not timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {timeout:g}")
    return timeout


@dataclass(frozen=True)
class OperationSpec:
    """One long-running ARM operation, as :func:`run_operation` needs it described.

    ``begin(client, polling, **bounds)`` starts it and returns the SDK's poller; ``bounds``
    are azure-core per-request keywords (``timeout``, ``read_timeout``,
    ``connection_timeout``) that keep the starting request, its retries included, inside
    the operation's deadline. ``hint(client)`` explains a 404; ``check_with`` is the command
    that shows the resource afterwards.
    """

    what: str
    subject: str
    begin: Callable[..., Any]
    hint: Callable[[Any], str | None]
    check_with: str


def request_bounds(settings: ArmSettings, left: float) -> dict[str, float]:
    """azure-core keywords bounding one request (every attempt and wait of it) to ``left`` s."""
    left = max(left, 0.001)
    return {
        "timeout": left,
        "read_timeout": min(settings.read_timeout, left),
        "connection_timeout": min(settings.connect_timeout, left),
    }


def run_operation(
    settings: ArmSettings,
    spec: OperationSpec,
    *,
    wait: bool = True,
    on_progress: Progress | None = None,
    client: Any = None,
    timeout: float = DEFAULT_OPERATION_TIMEOUT,
) -> tuple[str, float]:
    """Start ``spec`` and follow it; one deadline, ``timeout`` seconds, covers every request
    of the operation, the first POST included. Returns ``(status, elapsed seconds)``:
    ``Succeeded``, or ``Started`` when not waited for.

    A failure is one :class:`~hpccache_cli.errors.UserError` saying what was last heard:
    nothing (the starting request had no answer: it may or may not have started), the last
    status of an accepted operation, or Azure's error.
    """
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    from hpccache_cli.control.arm_errors import lro_failure
    from hpccache_cli.control.lro import (
        FollowedPolling,
        OperationTimeout,
        follow_failure,
        timed_out,
    )

    check_timeout(timeout)
    start = time.monotonic()
    deadline = start + timeout
    own = client is None
    client = client or make_client(settings)
    polling = FollowedPolling(settings)
    try:
        poller = spec.begin(client, polling, **request_bounds(settings, deadline - start))
        if not wait:
            return "Started", time.monotonic() - start
        wait_for(poller, on_progress, timeout=deadline - time.monotonic())
        return "Succeeded", time.monotonic() - start
    except OperationTimeout as exc:
        raise timed_out(spec.what, timeout, exc.status, spec.check_with) from None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure leaves as one line
        if polling.accepted and lro_failure(exc) is None:
            raise follow_failure(exc, settings, spec.what, spec.check_with) from None
        late = time.monotonic() >= deadline - 0.05
        if late and isinstance(exc, (ServiceRequestError, ServiceResponseError)):
            raise no_answer_in_time(spec, timeout) from None
        raise translate(exc, settings, spec.what, lambda: spec.hint(client), spec.subject) from None
    finally:
        if own:
            client.close()


def no_answer_in_time(spec: OperationSpec, timeout: float) -> AzureError:
    """The line for a starting request still unanswered at the deadline (exit 3)."""
    return AzureError(
        f"{spec.what} did not start within {timeout:g} s (--timeout): Azure Resource Manager "
        "had not answered the request that starts it, so it may or may not have started; "
        f"check with: {spec.check_with}"
    )


def run_target_operation(
    settings: ArmSettings,
    resource_group: str,
    cache: str,
    target: str,
    action: TargetAction | str,
    *,
    wait: bool = True,
    on_progress: Progress | None = None,
    client: Any = None,
    timeout: float = DEFAULT_OPERATION_TIMEOUT,
) -> OperationResult:
    """Flush, suspend, resume or invalidate one storage target; wait (at most ``timeout``
    seconds) unless ``wait=False``."""
    act = TargetAction(action)
    subject = f"storage target {target!r} of cache {cache!r} in resource group {resource_group!r}"

    def begin(c: Any, polling: Any, **bounds: Any) -> Any:
        operation = getattr(c.storage_target, f"begin_{act.value}")
        return operation(resource_group, cache, target, polling=polling, **bounds)

    spec = OperationSpec(
        f"{act.value} of {subject}",
        subject,
        begin,
        lambda c: target_not_found_hint(c, resource_group, cache),
        f"hpccache target show --cache {cache} -g {resource_group} -n {target}",
    )
    status, elapsed = run_operation(
        settings,
        spec,
        wait=wait,
        on_progress=on_progress,
        client=client,
        timeout=timeout,
    )
    return OperationResult(act.value, cache, resource_group, target, status, elapsed)


def flush_target(
    settings: ArmSettings,
    resource_group: str,
    cache: str,
    target: str,
    *,
    wait: bool = True,
    on_progress: Progress | None = None,
    client: Any = None,
    timeout: float = DEFAULT_OPERATION_TIMEOUT,
) -> OperationResult:
    """Write back every dirty file of one storage target (the flush engine's fallback)."""
    return run_target_operation(
        settings,
        resource_group,
        cache,
        target,
        TargetAction.flush,
        wait=wait,
        on_progress=on_progress,
        client=client,
        timeout=timeout,
    )


def flush_cache(
    settings: ArmSettings,
    resource_group: str,
    cache: str,
    *,
    wait: bool = True,
    on_progress: Progress | None = None,
    client: Any = None,
    timeout: float = DEFAULT_OPERATION_TIMEOUT,
) -> OperationResult:
    """Write back every dirty file of every storage target of the cache."""
    spec = OperationSpec(
        f"flush of cache {cache!r} in resource group {resource_group!r}",
        f"cache {cache!r} in resource group {resource_group!r}",
        lambda c, polling, **bounds: c.caches.begin_flush(
            resource_group, cache, polling=polling, **bounds
        ),
        lambda c: cache_not_found_hint(c, resource_group),
        f"hpccache cache show {cache} -g {resource_group}",
    )
    status, elapsed = run_operation(
        settings,
        spec,
        wait=wait,
        on_progress=on_progress,
        client=client,
        timeout=timeout,
    )
    return OperationResult("flush", cache, resource_group, None, status, elapsed)
