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

from hpccache_cli.flush.errors import FlushOptionError

_FIX = "give the mount address alone, e.g. 10.0.0.11 (hpccache cache show lists them)"


def check_ip(text: str, field: str = "ips") -> str:
    """``text`` as an IPv4/IPv6 address, or FlushOptionError (``field``: the keyword that
    carried it) saying what it is instead."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    shown = "{" + field + "} " + repr(text)

    def refuse(why: str, hint: str, *more: str) -> FlushOptionError:
        return FlushOptionError(f"{shown} {why}", fields=(field, *more), hint=hint)

    if "://" in text:
        raise refuse(f"is a URL, not an IP address: {_FIX}", "url")
    if "/" in text:
        raise refuse(f"is a network or path, not an IP address: {_FIX}", "network")
    if text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
        hint = f"write it without brackets ({inner})" if _is_ip(inner) else _FIX
        raise refuse(f"has brackets: {hint}", "brackets")
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and (_is_ip(host) or _is_ip(host.strip("[]"))):
        raise refuse(f"has a port: {_FIX}; ports go in {{nfs_port}}/{{mount_port}}", "port",
                     "nfs_port", "mount_port")
    raise refuse(f"is not an IPv4 or IPv6 address (host names are not looked up): {_FIX}",
                 "not_an_ip")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
