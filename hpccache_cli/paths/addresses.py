"""Which IP addresses an NFS mount talks to, so it can be matched to a cache's mount addresses.

A mount source names its server as an IPv4 address, an IPv6 address or a host name. Only a
host name ever needs resolving, and even then the kernel's ``addr=`` option usually says which
address it connected to, so :func:`mount_addresses` calls :func:`socket.getaddrinfo` only for
a host name without ``addr=``, once per host (cached), and only when something asks for a
match against a cache layout: translating local paths to namespace paths never resolves.
"""

from __future__ import annotations

import functools

from hpccache_cli.layout import canonical_address
from hpccache_cli.paths.mountinfo import Mount


@functools.lru_cache(maxsize=4096)
def canonical_ip(text: str) -> str | None:
    """The canonical form of an IP literal (``0:0::1`` -> ``::1``); None for a host name.

    Cached: it is asked once per translated path, of the same few mount addresses.
    """
    return canonical_address(text.strip("[]"))


@functools.lru_cache(maxsize=1024)
def resolve_host(host: str) -> tuple[str, ...]:
    """Addresses of ``host``; IP literals are returned as is, () when it does not resolve."""
    literal = canonical_ip(host)
    if literal is not None:
        return (literal,)
    import socket  # (only a host name needs it: `hpccache path` translates without)

    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return ()
    out: list[str] = []
    for info in infos:
        addr = canonical_ip(str(info[4][0]).split("%", 1)[0])
        if addr is not None and addr not in out:
            out.append(addr)
    return tuple(out)


def mount_addresses(mount: Mount) -> tuple[str, ...]:
    """The addresses ``mount`` may be talking to, canonical, without a lookup when possible."""
    if mount.host is None:
        return ()
    literal = canonical_ip(mount.host)
    if literal is not None:
        return (literal,)
    addr = mount.addr and canonical_ip(mount.addr.split("%", 1)[0])
    if addr:
        return (addr,)
    return resolve_host(mount.host)


def cache_address(mount: Mount) -> str | None:
    """The address to show and to flush through, without any lookup.

    An IP literal source, else the kernel's ``addr=``, else the host name as written (the
    flush can connect by name; resolving here would be a network call nobody asked for).
    """
    if mount.host is None:
        return None
    literal = canonical_ip(mount.host)
    if literal is not None:
        return literal
    addr = mount.addr and canonical_ip(mount.addr.split("%", 1)[0])
    return addr or mount.host


def matches_any(mount: Mount, addresses: tuple[str, ...] | list[str] | frozenset[str]) -> bool:
    """True when ``mount`` talks to one of ``addresses`` (IP literals or host names)."""
    if mount.host is None:
        return False
    return _matches(mount.host, mount.addr, tuple(addresses))


@functools.lru_cache(maxsize=4096)
def _matches(host: str, addr: str | None, addresses: tuple[str, ...]) -> bool:
    # Cached: enrich() asks this once per path, and a million paths share a few mounts.
    probe = Mount(0, 0, "/", "/", "nfs", "", {"addr": addr} if addr else {}, host, "/", "/")
    wanted: set[str] = set()
    for a in addresses:
        wanted.update(resolve_host(a))
    return any(a in wanted for a in mount_addresses(probe))
