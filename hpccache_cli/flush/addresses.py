"""Mount addresses as the user types them (``--ip``, flush-file's SERVER): checked before any
packet is sent.

A cache's mount addresses are IP addresses (``hpccache cache show`` lists them), so anything
else is refused with a sentence that says what was given instead: a port, a network, a URL,
brackets, or a host name. Host names are not resolved on purpose: a typo would otherwise cost
a DNS query and a connect timeout per address, and end as "cache unreachable" (exit 4)
instead of "bad input" (exit 2).
"""

from __future__ import annotations

from hpccache_cli.flush.errors import FlushOptionError
from hpccache_cli.layout import address_problem, canonical_address


def check_ip(text: str, field: str = "ips") -> str:
    """``text`` as an IPv4/IPv6 address, or FlushOptionError (``field``: the keyword that
    carried it) saying what it is instead. The checker is the one every mount address goes
    through, :func:`hpccache_cli.layout.address_problem`; this words it as a usage error."""
    canonical = canonical_address(text)
    if canonical is not None:
        return canonical
    problem = address_problem(text)
    assert problem is not None
    raise FlushOptionError(f"{{{field}}} {text!r} {problem.why}", fields=(field, *problem.fields),
                           hint=problem.hint)
