"""Mount addresses as the user types them (``--ip``, flush-file's SERVER): checked before any
packet is sent.

A cache's mount addresses are IP addresses (``hpccache cache show`` lists them), so anything
else is refused with a sentence that says what was given instead: a port, a network, a URL,
brackets, or a host name. Host names are not resolved on purpose: a typo would otherwise cost
a DNS query and a connect timeout per address, and end as "cache unreachable" (exit 4)
instead of "bad input" (exit 2).
"""

from __future__ import annotations

import ipaddress

from hpccache_cli.errors import UsageError

_FIX = "give the mount address alone, e.g. 10.0.0.11 (hpccache cache show lists them)"


def check_ip(text: str, option: str = "--ip") -> str:
    """``text`` as an IPv4/IPv6 address, or UsageError saying what it is instead."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    shown = f"{option} {text!r}"
    if "://" in text:
        raise UsageError(f"{shown} is a URL, not an IP address: {_FIX}")
    if "/" in text:
        raise UsageError(f"{shown} is a network or path, not an IP address: {_FIX}")
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
        hint = f"write it without brackets ({inner})" if _is_ip(inner) else _FIX
        raise UsageError(f"{shown} has brackets: {hint}")
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and (_is_ip(host) or _is_ip(host.strip("[]"))):
        raise UsageError(f"{shown} has a port: {_FIX}; ports go in --nfs-port/--mount-port")
    raise UsageError(f"{shown} is not an IPv4 or IPv6 address (host names are not looked up): "
                     f"{_FIX}")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
