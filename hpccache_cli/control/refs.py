"""Resource references: how a command names an Azure resource, for any resource type.

A resource is named by its id (``/subscriptions/S/resourceGroups/G/providers/P/T/NAME...``) or
by its name with a resource group (``-g``, else the Azure CLI's default group); the
subscription is the id's, else the resolved default. Every command goes through these
functions, so each way a reference can be wrong has one message. A new resource type is one
:class:`ResourceType` value (Azure Managed Lustre: ``ResourceType("Microsoft.StorageCache",
("amlFilesystems",), "AMLFS")``, its jobs child types of it; ``cli/amlfs_refs.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from hpccache_cli.errors import UsageError


@dataclass(frozen=True)
class ResourceType:
    """A resource type: provider, the type path of its id, and what users call it."""

    provider: str
    path: tuple[str, ...]
    label: str
    #: What stands for each name in the id shown in messages (the last one is the resource's).
    placeholders: tuple[str, ...] = ("NAME",)

    def example(self) -> str:
        """The id's shape, for messages."""
        parts = "/".join(f"{t}/{p}" for t, p in zip(self.path, self.placeholders, strict=True))
        return f"/subscriptions/SUB/resourceGroups/RG/providers/{self.provider}/{parts}"

    def pattern(self) -> re.Pattern[str]:
        names = "/".join(rf"{re.escape(t)}/([^/]+)" for t in self.path)
        return re.compile(
            rf"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/"
            rf"{re.escape(self.provider)}/{names}/?$",
            re.IGNORECASE,
        )


CACHE = ResourceType("Microsoft.StorageCache", ("caches",), "HPC Cache")
STORAGE_TARGET = ResourceType(
    "Microsoft.StorageCache", ("caches", "storageTargets"), "storage target", ("CACHE", "NAME")
)


@dataclass(frozen=True)
class ResourceRef:
    """One resource: its type, group, names (parents first) and subscription (None: the
    resolved default)."""

    type: ResourceType
    resource_group: str
    names: tuple[str, ...]
    subscription_id: str | None = None

    @property
    def name(self) -> str:
        return self.names[-1]


def parse_id(resource_id: str, rtype: ResourceType) -> ResourceRef:
    """``resource_id`` as a reference to a ``rtype``; one line naming the expected shape if
    it is not one."""
    match = rtype.pattern().match(resource_id.strip())
    if not match:
        article = "an" if rtype.label[:1].upper() in "AEIOUH" else "a"
        raise UsageError(
            f"{resource_id!r} is not {article} {rtype.label} resource id; expected "
            f"{rtype.example()}"
        )
    sub, group, *names = (unquote(p) for p in match.groups())
    return ResourceRef(rtype, group, tuple(names), sub)


def resource_group_of(resource_id: str | None) -> str | None:
    """The resource group named in any ARM resource id (the SDK models do not carry it)."""
    match = re.search(r"/resourceGroups/([^/]+)", resource_id or "", re.IGNORECASE)
    return unquote(match.group(1)) if match else None


def group_or_default(
    resource_group: str | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """``-g``, else the Azure CLI's default group (``AZURE_DEFAULTS_GROUP``, ``[defaults]``)."""
    if resource_group:
        return resource_group
    from hpccache_cli.control.az_config import default_group

    return default_group(environ)


def require_group(name: str, resource_group: str | None, rtype: ResourceType) -> str:
    """The group of ``name`` (``-g`` or the default), or the one line saying how to give it."""
    group = group_or_default(resource_group)
    if group:
        return group
    label = "cache" if rtype is CACHE else rtype.label
    raise UsageError(
        f"which resource group is {label} {name!r} in? pass -g/--resource-group "
        f"(or the {label}'s resource id in place of its name, or set the Azure CLI's default: "
        "az config set defaults.group=NAME)"
    )


def by_name_or_id(name: str, resource_group: str | None, rtype: ResourceType) -> ResourceRef:
    """NAME with -g (or the default group), or a full resource id in place of NAME."""
    if name.startswith("/"):
        return parse_id(name, rtype)
    return ResourceRef(rtype, require_group(name, resource_group, rtype), (name,))
