"""Which subscription to talk to: the option, then the environment, then the Azure CLI's default.

Users who ran ``az login`` expect hpccache to act on the subscription ``az`` acts on, so the last
fallback reads the Azure CLI's profile file (``azureProfile.json`` under ``AZURE_CONFIG_DIR``
or ``~/.azure``). That file is written with a UTF-8 byte-order mark on some platforms, hence
``utf-8-sig``. No SDK import and no network: resolving a subscription is a file read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpccache_cli.control import json_bounds
from hpccache_cli.errors import AzureError

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Subscription:
    """A subscription id and where it came from (said in messages)."""

    id: str
    source: str


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value.strip()))


def profile_path(env: Mapping[str, str] | None = None) -> Path:
    """The Azure CLI's profile file for this environment."""
    env = os.environ if env is None else env
    base = env.get("AZURE_CONFIG_DIR") or str(Path(env.get("HOME") or Path.home()) / ".azure")
    return Path(base) / "azureProfile.json"


def read_profile(path: Path) -> list[dict[str, Any]]:
    """The subscriptions the Azure CLI knows; [] when the file is absent or unreadable."""
    try:
        data = json_bounds.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return []
    subs = data.get("subscriptions") if isinstance(data, dict) else None
    return [s for s in subs or [] if isinstance(s, dict) and s.get("id")]


def resolve_subscription(
    explicit: str | None = None, env: Mapping[str, str] | None = None
) -> Subscription:
    """``--subscription`` (an id, or a name the Azure CLI knows), else AZURE_SUBSCRIPTION_ID,
    else the Azure CLI's default subscription, else an AzureError saying how to choose one."""
    env = os.environ if env is None else env
    path = profile_path(env)
    if explicit and explicit.strip():
        value = explicit.strip()
        if is_guid(value):
            return Subscription(value, "--subscription")
        for sub in read_profile(path):
            if str(sub.get("name", "")).lower() == value.lower():
                return Subscription(str(sub["id"]), f"--subscription {value!r} ({path})")
        raise AzureError(
            f"--subscription {value!r} is not a subscription id and no subscription of that name "
            f"is in {path}; pass the id (az account list -o table shows them)"
        )
    from_env = env.get("AZURE_SUBSCRIPTION_ID", "").strip()
    if from_env:
        return Subscription(from_env, "AZURE_SUBSCRIPTION_ID")
    for sub in read_profile(path):
        if sub.get("isDefault"):
            return Subscription(str(sub["id"]), f"the Azure CLI default ({path})")
    raise AzureError(
        "no subscription chosen: pass --subscription ID, set AZURE_SUBSCRIPTION_ID, or run "
        f"`az login` / `az account set --subscription ...` (no default found in {path})"
    )
