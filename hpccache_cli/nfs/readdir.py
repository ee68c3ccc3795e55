"""The READDIRPLUS pager: the one loop that turns cookie-chained pages into a directory's
entries, for the client's ``iter_dir`` and for the flush engine's ``--recursive`` listing.

Why one: two copies drifted apart. One raised on a page with no entries and no eof, the
other returned quietly, so a server that stalled mid-listing made a ``--recursive`` flush
report a partial directory as complete. Here such a page is a :class:`TruncatedListing`.

Why it trusts nothing: a server that sent the same page with eof=false forever, or cookies
0 -> 5 -> 0, held a ``--recursive`` flush for ever (100,000 calls in 25 s), and one that named
an entry ``a/b``, ``..`` or ``""`` made the engine report paths that name another file or
none. So a listing ends, with a :class:`BadListing` saying which rule the server broke, when
a cookie comes back a second time, when it runs past ``max_pages`` pages, or when an entry's
name is not a name a directory can hold (empty, ``/`` or NUL in it, a second ``.`` or ``..``,
or a ``.``/``..`` that is not a directory). Time is the caller's to bound: ``fetch`` gets
the deadline (the flush engine's per-file ``timeout``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.errors import NfsError, ProtocolError

#: ``fetch(cookie, cookieverf)``: one READDIRPLUS page of the directory being listed.
PageFetch = Callable[[int, bytes], Awaitable[nfs3.ReaddirplusOk]]

_START_VERF = b"\0" * nfs3.COOKIEVERF_SIZE
_DOTS = (b".", b"..")


class BadListing(ProtocolError):
    """The server's listing broke a rule of READDIRPLUS: believing more of it could report
    files that do not exist, or never end. The message says which rule."""


class TruncatedListing(BadListing):
    """A page with no entries and no eof: asking again would loop forever, and stopping
    would pass a partial listing off as the whole directory."""


class ListingLoop(BadListing):
    """A cookie came back a second time: the server would send the same pages forever."""


class ListingTooLong(BadListing):
    """More pages than the caller's budget: a listing that does not end."""


class BadEntryName(BadListing):
    """An entry whose name no directory can hold (it would name another file, or none)."""


def show_name(name: bytes) -> str:
    """A name for a message: quoted, undecodable bytes and control characters as escapes
    (a NUL or a newline in a hostile name must not cut the message)."""
    text = name.decode("utf-8", "backslashreplace")
    return "'" + "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text) + "'"


def name_problem(name: bytes) -> str | None:
    """Why ``name`` cannot be an entry of a directory, or None (``.`` and ``..`` are the
    caller's: they are fine once each)."""
    if not name:
        return "an empty name"
    if b"/" in name:
        return "a name with '/' in it"
    if b"\0" in name:
        return "a name with a NUL byte in it"
    return None


async def entries(
    fetch: PageFetch, *, bad_cookie_restarts: int = 0, max_pages: int | None = None
) -> AsyncGenerator[nfs3.EntryPlus, None]:
    """Every entry of a directory except ``.`` and ``..``, page after page until eof.

    ``bad_cookie_restarts``: how many times an NFS3ERR_BAD_COOKIE (the directory changed
    under the listing) starts it again from the beginning; entries may then repeat, so only
    a caller that drops repeats should allow it. ``max_pages``: the page budget (None: no
    budget). Raises a :class:`BadListing` (see the module docstring) when the server breaks
    a rule; entries yielded before that were named properly.
    """
    cookie, verf, restarts, pages = 0, _START_VERF, 0, 0
    sent: set[int] = {0}  # cookies asked for in this pass: one back again means a loop
    dots = {b".": 0, b"..": 0}
    while True:
        if max_pages is not None and pages >= max_pages:
            raise ListingTooLong(
                f"READDIRPLUS listing not at its end after {pages:,} pages: a listing that "
                "does not end (a server bug?)")
        pages += 1
        try:
            page = await fetch(cookie, verf)
        except NfsError as exc:
            if exc.status == nfs3.Nfsstat3.NFS3ERR_BAD_COOKIE and restarts < bad_cookie_restarts:
                cookie, verf, restarts = 0, _START_VERF, restarts + 1
                sent, dots = {0}, {b".": 0, b"..": 0}
                continue
            raise
        for entry in page.entries:
            name = entry.name
            if name in _DOTS:
                _check_dot(entry, dots)
                continue
            if not name or 47 in name or 0 in name:  # empty, '/' (47) or NUL: int tests,
                # several times faster than ``b"/" in name`` on the per-entry path
                raise BadEntryName(
                    f"READDIRPLUS named an entry {show_name(name)} ({name_problem(name)}): "
                    "not a name a directory can hold (a server bug?)")
            yield entry
        if page.eof:
            return
        if not page.entries:
            raise TruncatedListing(
                "READDIRPLUS returned a page with no entries and no eof: the listing is "
                "incomplete (a server bug?)"
            )
        cookie, verf = page.entries[-1].cookie, page.cookieverf
        if cookie in sent:
            raise ListingLoop(
                f"READDIRPLUS gave cookie {cookie} twice: the listing loops and would "
                "never end (a server bug?)")
        sent.add(cookie)


def _check_dot(entry: nfs3.EntryPlus, dots: dict[bytes, int]) -> None:
    """``.`` and ``..``: once each, and directories (a server lists them, and they are
    skipped; a second one, or a file by that name, is a listing that cannot be trusted)."""
    name = entry.name
    dots[name] += 1
    if dots[name] > 1:
        raise BadEntryName(
            f"READDIRPLUS named an entry {show_name(name)} a second time: not a name a "
            "directory can hold twice (a server bug?)")
    attrs = entry.name_attributes
    if attrs is not None and not attrs.is_dir:
        raise BadEntryName(
            f"READDIRPLUS named an entry {show_name(name)} that is not a directory: not a "
            "name a file can have (a server bug?)")
