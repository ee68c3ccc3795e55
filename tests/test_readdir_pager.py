"""One READDIRPLUS pager for the client and the flush engine, and what it does with a server
that sends a page with no entries and no eof.

Such a page neither ends the listing nor moves it on. The client used to raise while the
engine's own copy of the loop returned quietly, so ``--recursive`` reported the files of the
first page as the whole directory (skipped, exit 0). Both now go through
``hpccache_cli.nfs.readdir`` and a truncated listing fails. So does one that loops (a cookie
twice), never ends (a page budget) or names an entry no directory can hold (issue 19).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hostile_tree_support import DIR, EXPORT, TreeServer, tree_server_thread
from test_flush_support import by_path, dirty_cache, emulator, flush

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.flush.results import Outcome
from hpccache_cli.nfs import nfs3, readdir
from hpccache_cli.nfs.client import ClientOptions, SyncNfsClient
from hpccache_cli.nfs.readdir import BadEntryName, ListingLoop, ListingTooLong, TruncatedListing

ADDR = "127.0.0.93"


@contextmanager
def stalling_listings(emu: EmulatorThread) -> Iterator[None]:
    """The emulator's READDIRPLUS, except that the first page never says eof and every
    later page is empty without eof: the server stalls after one page."""
    table = emu.emulator.nfs.table
    real = table[nfs3.READDIRPLUS.number]

    def stalled(args: nfs3.ReaddirplusArgs) -> tuple[int, Any]:
        status, page = real(args)
        if status != nfs3.Nfsstat3.NFS3_OK:
            return status, page
        return status, replace(page, entries=page.entries if args.cookie == 0 else [],
                               eof=False)

    emu.run(table.__setitem__, nfs3.READDIRPLUS.number, stalled)
    try:
        yield
    finally:
        emu.run(table.__setitem__, nfs3.READDIRPLUS.number, real)


def test_the_client_raises_on_an_empty_page_without_eof(tmp_path: Path) -> None:
    dirty_cache(tmp_path, [f"dir/f{i}" for i in range(3)])
    with emulator(tmp_path, [ADDR]) as emu, stalling_listings(emu):
        options = ClientOptions(mount_port=emu.ports.mount, nfs_port=emu.ports.nfs, timeout=10)
        with SyncNfsClient(ADDR, options) as client:
            root = client.mount(b"/NAS_12_exp5")
            fh = client.lookup_path(root, b"dir")
            listed: list[bytes] = []
            with pytest.raises(TruncatedListing, match="no entries and no eof"):
                for entry in client.iter_dir(fh):
                    listed.append(entry.name)
    assert sorted(listed) == [b"f0", b"f1", b"f2"]  # the first page came through


def test_recursive_flush_fails_a_directory_whose_listing_is_truncated(tmp_path: Path) -> None:
    dirty_cache(tmp_path, [f"dir/f{i}" for i in range(3)])
    with emulator(tmp_path, [ADDR]) as emu, stalling_listings(emu):
        summary = flush(emu, [b"dir/"], recursive=True)
    got = by_path(summary)
    assert got[b"dir/"].outcome is Outcome.FAILED, got[b"dir/"].reason
    assert "no entries and no eof" in got[b"dir/"].reason
    assert summary.exit_code == 1
    # What was listed is still flushed, each file on its own line.
    assert [got[p].outcome for p in (b"dir/f0", b"dir/f1", b"dir/f2")] == [Outcome.FLUSHED] * 3


# -- the pager's rules against a hostile server (issue 19) ----------------------------------


def _page(entries: list[nfs3.EntryPlus], eof: bool = False) -> nfs3.ReaddirplusOk:
    return nfs3.ReaddirplusOk(None, b"v" * 8, entries, eof)


def _file(name: bytes, cookie: int) -> nfs3.EntryPlus:
    return nfs3.EntryPlus(cookie, name, cookie, nfs3.Fattr3(nfs3.Ftype3.NF3REG), b"fh" + name)


def _listed(pages: Callable[[int], nfs3.ReaddirplusOk], **kwargs: Any) -> list[bytes]:
    asked: list[int] = []

    async def fetch(cookie: int, verf: bytes) -> nfs3.ReaddirplusOk:
        asked.append(cookie)
        assert len(asked) < 100, f"still paging: {asked[:10]}..."
        return pages(cookie)

    async def body() -> list[bytes]:
        return [e.name async for e in readdir.entries(fetch, **kwargs)]

    return asyncio.run(body())


def test_the_pager_stops_at_a_cookie_it_sent_before() -> None:
    with pytest.raises(ListingLoop, match="gave cookie 5 twice"):
        _listed(lambda c: _page([_file(b"a", 5)]) if c == 0 else _page([_file(b"b", 5)]))
    with pytest.raises(ListingLoop, match="gave cookie 0 twice"):  # 0 -> 5 -> 0
        _listed(lambda c: _page([_file(b"a", 5)]) if c == 0 else _page([_file(b"b", 0)]))


def test_the_pager_keeps_to_its_page_budget() -> None:
    assert _listed(lambda c: _page([_file(b"f%d" % c, c + 1)], eof=c == 2), max_pages=3) == [
        b"f0", b"f1", b"f2"]  # exactly the budget: fine
    with pytest.raises(ListingTooLong, match="after 3 pages"):
        _listed(lambda c: _page([_file(b"f%d" % c, c + 1)], eof=c == 3), max_pages=3)


@pytest.mark.parametrize("name", [b"", b"a/b", b"/", b"..\0", b"x\0"])
def test_the_pager_refuses_a_name_no_directory_holds(name: bytes) -> None:
    with pytest.raises(BadEntryName, match="READDIRPLUS named an entry"):
        _listed(lambda c: _page([_file(b"ok", 1), _file(name, 2)], eof=True))


def test_dot_entries_are_skipped_once_each_and_only_as_directories() -> None:
    dot = nfs3.EntryPlus(1, b".", 1, nfs3.Fattr3(nfs3.Ftype3.NF3DIR), b"d")
    dotdot = nfs3.EntryPlus(2, b"..", 2, None, None)  # no attributes: nothing to doubt
    assert _listed(lambda c: _page([dot, dotdot, _file(b"f", 3)], eof=True)) == [b"f"]
    with pytest.raises(BadEntryName, match="'..' a second time"):
        _listed(lambda c: _page([dot, dotdot, _file(b"f", 3), dotdot], eof=True))
    with pytest.raises(BadEntryName, match="'.' that is not a directory"):
        _listed(lambda c: _page([_file(b".", 1)], eof=True))


def test_the_client_listing_refuses_a_cookie_loop_over_the_wire() -> None:
    """The client's own ``iter_dir`` (the same pager), against the hostile tree server."""
    server = TreeServer()
    d = server.add("d", DIR)
    f1 = server.add("d/f1")
    server.pagers[d] = lambda cookie: ([server.entry(b"f1", f1, 1)], False)
    with tree_server_thread(server):
        options = ClientOptions(mount_port=server.port, nfs_port=server.port, timeout=10)
        with SyncNfsClient("127.0.0.1", options) as client:
            fh = client.lookup_path(client.mount(EXPORT), b"d")
            with pytest.raises(ListingLoop):
                list(client.iter_dir(fh))
    assert server.readdirs == 2
