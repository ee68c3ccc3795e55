"""The shape of one cache as the flush and path code need it, whatever it was read from.

Azure Resource Manager (``control/``), the emulator's config and the on-disk resolution cache
all produce a :class:`CacheLayout`; path translation and the flush engine consume it. Keeping
it a plain, JSON-friendly value is what lets the resolution cache store it and lets tests build
one without Azure.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Any

from hpccache_cli.usage_models import UsageModel, lookup

_FIX = "give the mount address alone, e.g. 10.0.0.11 (hpccache cache show lists them)"


@dataclass(frozen=True)
class AddressProblem:
    """Why a text is not a mount address: ``why`` (may name ``{nfs_port}``/``{mount_port}``,
    listed in ``fields``) and a one-word ``hint`` (``port``, ``url``, ``not_an_ip``, ...)."""

    why: str
    hint: str
    fields: tuple[str, ...] = ()


def canonical_address(text: str) -> str | None:
    """``text`` as a canonical IPv4/IPv6 address (``0:0::1`` -> ``::1``), or None."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def address_problem(text: str) -> AddressProblem | None:
    """None when ``text`` is an IP address; else what it is instead.

    The one checker of mount addresses, wherever they come from: ``--ip`` (the flush
    library words it as a usage error), ARM's ``mountAddresses`` and the resolution cache
    (``control.resolve``). A cache's mount addresses are IP addresses, and host names are not
    resolved on purpose: a typo would cost a DNS query and a connect timeout per address, and
    end as "cache unreachable" instead of a sentence naming the bad value.
    """
    if not isinstance(text, str):
        return AddressProblem(f"is a {type(text).__name__}, not a text", "not_a_string")
    if canonical_address(text) is not None:
        return None
    if "://" in text:
        return AddressProblem(f"is a URL, not an IP address: {_FIX}", "url")
    if "/" in text:
        return AddressProblem(f"is a network or path, not an IP address: {_FIX}", "network")
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
        fix = f"write it without brackets ({inner})" if canonical_address(inner) else _FIX
        return AddressProblem(f"has brackets: {fix}", "brackets")
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and (canonical_address(host) or canonical_address(host.strip("[]"))):
        return AddressProblem(f"has a port: {_FIX}; ports go in {{nfs_port}}/{{mount_port}}",
                              "port", ("nfs_port", "mount_port"))
    return AddressProblem(
        f"is not an IPv4 or IPv6 address (host names are not looked up): {_FIX}", "not_an_ip")


@dataclass(frozen=True)
class JunctionInfo:
    """One namespace path of a cache and the storage target behind it."""

    namespace_path: str  # "/NAS_12_exp5": what clients see under the cache
    storage_target: str  # storage target name
    target_type: str = "nfs3"  # nfs3 | blobNfs | clfs | unknown
    usage_model: str | None = None
    nfs_export: str | None = None  # "/export5" on the back-end NAS (None for blob)
    target_path: str = "/"  # subdirectory of the export
    target_state: str | None = None  # "Ready", "Suspended", ...

    @property
    def model(self) -> UsageModel:
        return lookup(self.usage_model, self.target_type)

    def contains(self, namespace_path: str) -> bool:
        """True when ``namespace_path`` is this junction or below it (component-wise)."""
        j = self.namespace_path.rstrip("/") or "/"
        if j == "/":
            return namespace_path.startswith("/")
        return namespace_path == j or namespace_path.startswith(j + "/")

    def backend_path(self, namespace_path: str) -> str | None:
        """Where the file lives on the back end: export + target path + the rest."""
        if not self.contains(namespace_path):
            return None
        rest = namespace_path[len(self.namespace_path.rstrip("/")) :].lstrip("/")
        parts = [p.strip("/") for p in (self.nfs_export or "", self.target_path, rest)]
        return "/" + "/".join(p for p in parts if p)


@dataclass(frozen=True)
class CacheLayout:
    """A cache's name, its mount addresses and its junctions."""

    name: str
    resource_group: str
    mount_addresses: tuple[str, ...]
    junctions: tuple[JunctionInfo, ...] = field(default_factory=tuple)
    subscription_id: str | None = None
    resource_id: str | None = None
    # The cache's own state, as ARM reported it ("Healthy"/"Stopped"/..., "Succeeded"/...):
    # when no mount address answers, these name the likely cause (stopped, upgrading...).
    health_state: str | None = None
    health_description: str | None = None
    provisioning_state: str | None = None
    # Mount addresses Azure listed that are not IP addresses (not used), each with why:
    # "'localhost' (is not an IPv4 or IPv6 address ...)".
    refused_addresses: tuple[str, ...] = ()
    # Where this value came from: "arm", or "resolution cache" (possibly minutes old).
    source: str = field(default="arm", compare=False)

    def junction_for(self, namespace_path: str) -> JunctionInfo | None:
        """The junction holding ``namespace_path``: the longest prefix on component bounds."""
        best: JunctionInfo | None = None
        for j in self.junctions:
            if j.contains(namespace_path) and (
                best is None or len(j.namespace_path) > len(best.namespace_path)
            ):
                best = j
        return best

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CacheLayout:
        """The layout of :meth:`to_dict`'s JSON (the resolution cache, ``path --layout``).
        Nothing in a file is trusted: a field of the wrong type, or a mount address that is
        not an IP address, raises ValueError naming it (a string where the address list
        belongs would otherwise be read character by character)."""
        _check_layout(data)
        return cls(
            name=data["name"],
            resource_group=data["resource_group"],
            mount_addresses=tuple(data["mount_addresses"]),
            junctions=tuple(JunctionInfo(**j) for j in data.get("junctions", ())),
            subscription_id=data.get("subscription_id"),
            resource_id=data.get("resource_id"),
            health_state=data.get("health_state"),
            health_description=data.get("health_description"),
            provisioning_state=data.get("provisioning_state"),
            refused_addresses=tuple(data.get("refused_addresses", ())),
        )


_OPTIONAL_TEXT = ("subscription_id", "resource_id", "health_state", "health_description",
                  "provisioning_state")
_JUNCTION_TEXT = ("namespace_path", "storage_target")
_JUNCTION_DEFAULTED = ("target_type", "target_path")  # text when given
_JUNCTION_OPTIONAL = ("usage_model", "nfs_export", "target_state")  # text or null


def _check_layout(data: Any) -> None:
    """Raise ValueError naming the first field of ``data`` that a CacheLayout cannot hold."""
    if not isinstance(data, dict):
        raise ValueError(f"a layout is a JSON object, not {type(data).__name__}")
    for key in ("name", "resource_group"):
        if not isinstance(data.get(key), str):
            raise ValueError(f"{key} must be text")
    for key in _OPTIONAL_TEXT:
        if not isinstance(data.get(key), (str, type(None))):
            raise ValueError(f"{key} must be text or null")
    addresses = data.get("mount_addresses")
    if not isinstance(addresses, list):
        raise ValueError("mount_addresses must be a list of IP addresses")
    for a in addresses:
        problem = address_problem(a)
        if problem is not None:
            raise ValueError(f"mount_addresses: {a!r} {problem.why.split(':', 1)[0]}")
    refused = data.get("refused_addresses", [])
    if not isinstance(refused, list) or not all(isinstance(r, str) for r in refused):
        raise ValueError("refused_addresses must be a list of text")
    junctions = data.get("junctions", [])
    if not isinstance(junctions, list):
        raise ValueError("junctions must be a list")
    known = {*_JUNCTION_TEXT, *_JUNCTION_DEFAULTED, *_JUNCTION_OPTIONAL}
    for j in junctions:
        if not isinstance(j, dict) or set(j) - known:
            raise ValueError(f"junctions: {j!r:.80} is not a junction")
        if (not all(isinstance(j.get(k), str) for k in _JUNCTION_TEXT)
                or any(k in j and not isinstance(j[k], str) for k in _JUNCTION_DEFAULTED)
                or any(not isinstance(j.get(k), (str, type(None))) for k in _JUNCTION_OPTIONAL)):
            raise ValueError(f"junctions: a field of {j!r:.80} has the wrong type")
