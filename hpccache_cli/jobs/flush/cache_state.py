"""Why no mount address answered, when Azure knows: the cache's own health and state.

``flush --cache`` reads the cache from Azure Resource Manager anyway, and that answer carries
the cache's health (``Healthy``, ``Stopped``, ``Stopping``, ``Degraded``, ``Upgrading``,
``Transitioning``, ...) and provisioning state. When every mount address stayed silent, a
stopped or upgrading cache is the cause, not the network: the run says so, with Azure's own
description, and exits 3 (an Azure-side condition) instead of 4 ("cache unreachable", which
sends people to check firewalls). The state is read afresh from ARM at that moment, since the
layout may come from the resolution cache and be minutes old.
"""

from __future__ import annotations

import contextlib

from hpccache_cli.errors import UserError
from hpccache_cli.jobs.flush.values import Naming
from hpccache_cli.layout import CacheLayout

#: Health states in which clients are expected to be served (anything else names the cause).
SERVING = {"healthy"}


def state_problem(layout: CacheLayout) -> str | None:
    """"cache X is Stopped (...)" when the layout's state explains silent addresses, or None."""
    health = (layout.health_state or "").strip()
    provisioning = (layout.provisioning_state or "").strip()
    described = f": {layout.health_description}" if layout.health_description else ""
    if provisioning and provisioning.lower() != "succeeded":
        return (
            f"cache {layout.name} is not provisioned (provisioning state {provisioning}; health "
            f"{health or 'unknown'}{described}); wait until Azure reports it Succeeded "
            f"(hpccache cache show {layout.name} -g {layout.resource_group})"
        )
    if not health or health.lower() in SERVING or health.lower() == "unknown":
        return None
    hint = {
        "stopped": f"start it (az hpc-cache start -n {layout.name} -g {layout.resource_group})",
        "stopping": "it is stopping; start it again once it is stopped",
    }.get(health.lower(), "wait until it is Healthy")
    return (
        f"cache {layout.name} is {health}{described} (health state from Azure; provisioning "
        f"state {provisioning or 'unknown'}), so no mount address answered; {hint}, then run "
        f"again (check with: hpccache cache show {layout.name} -g {layout.resource_group})"
    )


def unreachable_cause(naming: Naming) -> str | None:
    """For a ``--cache`` run whose mount addresses all stayed silent: the cache's state, read
    again from ARM (one refresh), if it explains it; None for a healthy cache or a run without
    a cache named in Azure. An Azure error while asking falls back to the state the run
    started with."""
    arm = naming.arm
    if arm is None:
        return None
    from hpccache_cli.control.resolve import get_layout

    layout = arm.layout
    with contextlib.suppress(UserError):
        layout = get_layout(arm.settings, arm.resource_group, arm.name, refresh=True)
    return state_problem(layout)
