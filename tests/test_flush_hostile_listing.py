"""``--recursive`` against a hostile NFS server: no listing holds the run, and no path is
reported that the server did not name as itself (issue 19, "Recursion trusts the server").

The server (``hostile_tree_support.TreeServer``) is real TCP with scripted READDIRPLUS pages:
cookie loops (the same page with eof=false forever; 0 -> 5 -> 0), a listing that never ends,
a subdirectory with its parent's handle (or fileid), names no directory can hold. Each
fails its directory with a reason naming the broken rule; what was named properly before it
is still flushed, and nothing else is.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hostile_tree_support import DIR, TreeServer, results, run_against
from test_flush_support import FAST

from hpccache_cli.flush.results import Outcome
from hpccache_cli.nfs import nfs3


def _tree() -> tuple[TreeServer, bytes, bytes, bytes]:
    server = TreeServer()
    d = server.add("d", DIR)
    return server, d, server.add("d/f1"), server.add("d/f2")


def _assert_only(summary: object, flushed: set[bytes], failed_dir: bytes = b"d") -> str:
    """Exactly ``flushed`` flushed, ``failed_dir`` failed, nothing else reported; returns
    the directory's reason."""
    got = results(summary)  # type: ignore[arg-type]
    assert set(got) == flushed | {failed_dir}, sorted(got)
    assert all(got[p].outcome is Outcome.FLUSHED for p in flushed), got
    assert got[failed_dir].outcome is Outcome.FAILED and got[failed_dir].kind == "list"
    assert summary.total == len(got) and summary.exit_code == 1  # type: ignore[attr-defined]
    return got[failed_dir].reason


@pytest.mark.parametrize("loop", ["same-page", "0-5-0"])
def test_a_cookie_loop_fails_the_directory_at_once(loop: str) -> None:
    server, d, f1, f2 = _tree()
    if loop == "same-page":  # the same page, eof=false, whatever the cookie
        def pager(cookie: int) -> tuple[list[nfs3.EntryPlus], bool]:
            return [server.entry(b"f1", f1, 1), server.entry(b"f2", f2, 2)], False
    else:  # cookie 0 -> a page ending at 5 -> a page ending at 0 again
        def pager(cookie: int) -> tuple[list[nfs3.EntryPlus], bool]:
            if cookie == 0:
                return [server.entry(b"f1", f1, 5)], False
            return [server.entry(b"f2", f2, 0)], False
    server.pagers[d] = pager
    summary = run_against(server, [b"d"])
    reason = _assert_only(summary, {b"d/f1", b"d/f2"})
    cookie = 2 if loop == "same-page" else 0
    assert f"READDIRPLUS gave cookie {cookie} twice: the listing loops" in reason
    assert server.readdirs <= 3  # not 100,000


def test_a_listing_that_never_ends_stops_at_the_page_budget() -> None:
    """Fresh cookies forever (no loop to see): the page budget ends it."""
    server, d, f1, _ = _tree()
    server.pagers[d] = lambda cookie: ([server.entry(b"f1", f1, cookie + 1)], False)
    summary = run_against(server, [b"d"], policies=replace(FAST, listing_pages=40))
    reason = _assert_only(summary, {b"d/f1"})
    assert "not at its end after 40 pages" in reason
    assert server.readdirs == 40


def test_a_listing_that_never_ends_stops_at_the_timeout() -> None:
    """The same without a page budget in reach: the per-file ``timeout`` ends it (it was
    ignored: the listing ran on after the run's own timeout)."""
    server, d, f1, _ = _tree()
    server.pagers[d] = lambda cookie: ([server.entry(b"f1", f1, cookie + 1)], False)
    summary = run_against(server, [b"d"], timeout=2.0)
    reason = _assert_only(summary, {b"d/f1"})
    assert "could not list 'd': timed out after 2 s" in reason


@pytest.mark.parametrize("same", ["handle", "fileid", "grandparent-handle"])
def test_a_directory_met_again_is_not_entered(same: str) -> None:
    """``d/sub`` is ``d`` again: the run reported d/sub/sub/.../f1 "flushed" by thousands."""
    server, d, _, _ = _tree()
    if same == "handle":
        server.link(d, b"sub", d)
        where = "'d/sub': it has the handle of 'd'"
    elif same == "fileid":  # a new handle, the fileid of d
        sub = server.link(d, b"sub", server.new(DIR, fileid=server.nodes[d].fileid))
        server.link(sub, b"x", server.add("elsewhere"))
        where = f"'d/sub': it has the fileid of 'd' ({server.nodes[d].fileid})"
    else:
        server.link(server.add("d/a", DIR), b"back", d)
        where = "'d/a/back': it has the handle of 'd'"
    summary = run_against(server, [b"d"])
    reason = _assert_only(summary, {b"d/f1", b"d/f2"})
    assert f"did not enter {where}, met already in this tree" in reason
    assert set(server.flushed) == {server.handle(p) for p in ("d/f1", "d/f2")}


def test_a_tree_nested_past_the_depth_bound_is_not_followed() -> None:
    """A server that makes up a new subdirectory in every directory, for ever."""
    server = TreeServer()
    d = server.add("d", DIR)
    ids = itertools.count(1)

    def endless(parent: bytes) -> None:
        def pager(cookie: int) -> tuple[list[nfs3.EntryPlus], bool]:
            fh = server.new(DIR)
            endless(fh)
            return [server.entry(b"s%d" % next(ids), fh, 1)], True
        server.pagers[parent] = pager

    endless(d)
    summary = run_against(server, [b"d"], policies=replace(FAST, listing_depth=30))
    got = results(summary)
    assert set(got) == {b"d"} and got[b"d"].outcome is Outcome.FAILED
    assert "nested 31 directories deep, more than 30" in got[b"d"].reason
    assert server.readdirs == 31


@pytest.mark.parametrize(("name", "says"), [
    (b"a/b", "'a/b' (a name with '/' in it)"),
    (b"/", "'/' (a name with '/' in it)"),
    (b"", "'' (an empty name)"),
    (b"x\0y", "'x\\x00y' (a name with a NUL byte in it)"),
    (b"..", "'..' a second time"),
    (b".", "'.' a second time"),
])
def test_a_name_no_directory_can_hold_fails_the_directory(name: bytes, says: str) -> None:
    """The entry names another file (``a/b``), the directory itself or none; it points at a
    real file elsewhere, so believing it would report that file under a false name."""
    server, d, _, _ = _tree()
    server.link(d, name, server.add("other"))
    server.add("d/later")  # listed after the bad name: not believed either
    summary = run_against(server, [b"d"])
    reason = _assert_only(summary, {b"d/f1", b"d/f2"})
    assert f"READDIRPLUS named an entry {says}" in reason
    assert server.handle("other") not in server.flushed


def test_a_dot_entry_that_is_a_file_fails_the_directory() -> None:
    server, d, f1, f2 = _tree()
    other = server.add("other")
    server.pagers[d] = lambda cookie: ([server.entry(b"f1", f1, 1), server.entry(b"..", other, 2),
                                        server.entry(b"f2", f2, 3)], True)
    reason = _assert_only(run_against(server, [b"d"]), {b"d/f1"})
    assert "named an entry '..' that is not a directory" in reason


def test_an_entry_that_cannot_be_looked_up_fails_alone() -> None:
    """An entry listed without a handle is looked up by name; when that fails, that path
    fails on its own line and the rest of the directory is still listed (it used to end
    the listing: the files after it were never flushed)."""
    server, d, _, _ = _tree()
    gone = server.link(d, b"gone", server.new(nfs3.Ftype3.NF3REG))
    server.add("d/f3")
    server.bare.add(b"gone")
    server.nodes[d].children = [(n, h) for n, h in server.nodes[d].children if h != gone]
    real = server._page

    def listing_with_gone(args: nfs3.ReaddirplusArgs) -> object:  # listed, not looked up
        status, page = real(args)
        if args.dir == d and status == nfs3.Nfsstat3.NFS3_OK:
            page.entries.insert(2, server.entry(b"gone", gone, 99))
        return status, page

    server._page = listing_with_gone  # type: ignore[method-assign]
    got = results(run_against(server, [b"d"]))
    assert set(got) == {b"d/f1", b"d/f2", b"d/f3", b"d/gone"}  # d itself: listed whole
    assert got[b"d/gone"].outcome is Outcome.FAILED and got[b"d/gone"].kind == "noent"
    assert all(got[p].outcome is Outcome.FLUSHED for p in (b"d/f1", b"d/f2", b"d/f3"))


def test_waiting_for_queue_room_does_not_use_up_a_listing_s_time() -> None:
    """Slow flushes keep the work queue full; the listing's ``timeout`` counts the server's
    time, not the wait for room, so a big directory is not failed as "timed out"."""
    server = TreeServer(page=100)
    server.add("d", DIR)
    for i in range(400):
        server.add(f"d/f{i:03d}")
    server.commit_delay = 0.005  # 400 sync COMMITs, one at a time: 2 s
    summary = run_against(server, [b"d"], timeout=1.0, concurrency=1, mode="sync")
    got = results(summary)
    assert b"d" not in got, got[b"d"].reason
    assert len(got) == 400 and summary.exit_code == 0
