"""The READDIRPLUS pager: the one loop that turns cookie-chained pages into a directory's
entries, for the client's ``iter_dir`` and for the flush engine's ``--recursive`` listing.

Why one: two copies drifted apart. One raised on a page with no entries and no eof, the
other returned quietly, so a server that stalled mid-listing made a ``--recursive`` flush
report a partial directory as complete. Here such a page is a :class:`TruncatedListing`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.errors import NfsError, ProtocolError

#: ``fetch(cookie, cookieverf)``: one READDIRPLUS page of the directory being listed.
PageFetch = Callable[[int, bytes], Awaitable[nfs3.ReaddirplusOk]]

_START_VERF = b"\0" * nfs3.COOKIEVERF_SIZE


class TruncatedListing(ProtocolError):
    """A page with no entries and no eof: asking again would loop forever, and stopping
    would pass a partial listing off as the whole directory."""


async def entries(
    fetch: PageFetch, *, bad_cookie_restarts: int = 0
) -> AsyncGenerator[nfs3.EntryPlus, None]:
    """Every entry of a directory except ``.`` and ``..``, page after page until eof.

    ``bad_cookie_restarts``: how many times an NFS3ERR_BAD_COOKIE (the directory changed
    under the listing) starts it again from the beginning; entries may then repeat, so only
    a caller that drops repeats should allow it. Raises :class:`TruncatedListing` on a page
    that neither ends the listing nor moves it on.
    """
    cookie, verf, restarts = 0, _START_VERF, 0
    while True:
        try:
            page = await fetch(cookie, verf)
        except NfsError as exc:
            if exc.status == nfs3.Nfsstat3.NFS3ERR_BAD_COOKIE and restarts < bad_cookie_restarts:
                cookie, verf, restarts = 0, _START_VERF, restarts + 1
                continue
            raise
        for entry in page.entries:
            if entry.name not in (b".", b".."):
                yield entry
        if page.eof:
            return
        if not page.entries:
            raise TruncatedListing(
                "READDIRPLUS returned a page with no entries and no eof: the listing is "
                "incomplete (a server bug?)"
            )
        cookie, verf = page.entries[-1].cookie, page.cookieverf
