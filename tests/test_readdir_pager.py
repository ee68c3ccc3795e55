"""One READDIRPLUS pager for the client and the flush engine, and what it does with a server
that sends a page with no entries and no eof.

Such a page neither ends the listing nor moves it on. The client used to raise while the
engine's own copy of the loop returned quietly, so ``--recursive`` reported the files of the
first page as the whole directory (skipped, exit 0). Both now go through
``hpccache_cli.nfs.readdir`` and a truncated listing fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_flush_support import by_path, dirty_cache, emulator, flush

from hpccache_cli.emulator.server import EmulatorThread
from hpccache_cli.flush.results import Outcome
from hpccache_cli.nfs import nfs3
from hpccache_cli.nfs.client import ClientOptions, SyncNfsClient
from hpccache_cli.nfs.readdir import TruncatedListing

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
