"""What ``az`` makes of a command's result before printing it, so ours reads the same.

``az hpc-cache show`` returns the SDK's model; the Azure CLI turns it into plain JSON data by
rules of its own (azure-cli 2.91, recorded against it in ``tests/fixtures/az/``):

- a model's keys are its Python attribute names camel-cased (``ca_certificate_uri`` ->
  ``caCertificateUri``, ``ldap_base_dn`` -> ``ldapBaseDn``), not the REST names
  (``caCertificateURI``); the SDK (typespec models) lists those attributes with
  :func:`azure.core.serialization.attribute_list`, and ``properties`` is flattened into the
  top level through the SDK's back-compatible names;
- every attribute is kept, ``None`` included (``identity: null``);
- enums print their value, datetimes ``isoformat()`` (``2021-04-21T18:25:43.511000+00:00``);
- ``additionalProperties`` is merged into its parent;
- any object whose ``id`` names a resource group gains ``resourceGroup`` (at any depth).

Plain dicts and lists (our own results: namespace rows, operation outcomes) go through the
same steps, so every command's output follows one set of rules.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any

_CAMEL = re.compile(r"(?!^)_([a-zA-Z])")
#: Bounds on what Azure may send: nesting deeper than this is cut (a hostile or broken reply
#: must not recurse without end).
MAX_DEPTH = 64


def camel(name: str) -> str:
    """``ldap_base_dn`` -> ``ldapBaseDn``, as az converts attribute names."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def to_az(obj: Any) -> Any:
    """``obj`` (SDK model, dict, list or scalar) as az's JSON data, ``resourceGroup`` added."""
    data = _plain(obj, 0)
    add_resource_group(data, 0)
    return data


def _plain(obj: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        return None
    if isinstance(obj, dict):
        return {k: _plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, depth + 1) for v in obj]
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (datetime, date, time)):
        return obj.isoformat()
    if isinstance(obj, timedelta):
        return str(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if getattr(obj, "_is_model", False):
        from azure.core.serialization import attribute_list, get_backcompat_attr_name

        out = {
            camel(get_backcompat_attr_name(obj, attr)): _plain(getattr(obj, attr), depth + 1)
            for attr in attribute_list(obj)
            if hasattr(obj, attr)
        }
        return _merge_additional(obj, out)
    if hasattr(obj, "_asdict"):
        return _plain(obj._asdict(), depth + 1)
    if hasattr(obj, "__dict__"):
        out = {
            camel(k): _plain(v, depth + 1)
            for k, v in vars(obj).items()
            if not callable(v) and not k.startswith("_")
        }
        return _merge_additional(obj, out)
    return obj


def _merge_additional(obj: Any, out: dict[str, Any]) -> dict[str, Any]:
    """az lifts an SDK model's ``additional_properties`` into the object itself."""
    if "additionalProperties" in out and isinstance(
        getattr(obj, "additional_properties", None), dict
    ):
        extra = out.pop("additionalProperties")
        if isinstance(extra, dict):
            out.update(extra)
    return out


def resource_group_in(resource_id: Any) -> str | None:
    """The group of ``/subscriptions/S/resourceGroups/G/providers/P/T/N...`` (nine parts or
    more, as az requires), else None."""
    if not isinstance(resource_id, str) or not resource_id:
        return None
    parts = resource_id.split("/")
    if len(parts) < 9 or parts[3].lower() != "resourcegroups":
        return None
    return parts[4]


def add_resource_group(data: Any, depth: int = 0) -> None:
    """Add ``resourceGroup`` to every object with a resource ``id`` and none of its own
    (az's rule; it leaves ``sourceVault`` alone)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            add_resource_group(item, depth + 1)
        return
    if not isinstance(data, dict):
        return
    if "resourcegroup" not in (str(k).lower() for k in data):
        group = resource_group_in(data.get("id"))
        if group is not None:
            data["resourceGroup"] = group
    for key, value in data.items():
        if key != "sourceVault":
            add_resource_group(value, depth + 1)
