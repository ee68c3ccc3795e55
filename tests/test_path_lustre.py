"""``hpccache path`` on Lustre mounts: client path -> file-system path (no network), -> blob URL
with ``--discover`` (the AMLFS found in the fake ARM by its MGS address), and back with
``--to-local`` from a file-system path or a blob URL."""

from __future__ import annotations

import json
from pathlib import Path

from aml_support import FS
from arm_support import run_hpccache
from lustre_support import LustreWorld

from hpccache_cli.cli.path_lustre import fs_path_of


def path(lw: LustreWorld, tmp: Path, *args: str) -> object:
    return run_hpccache(lw.env(tmp), "path", *args, "-o", "json", timeout=120)


def test_client_path_to_file_system_path_without_azure(lw: LustreWorld, tmp_path: Path) -> None:
    f = lw.write("res/out.txt", b"x")
    proc = path(lw, tmp_path, f)
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)[0]
    assert rec["kind"] == "lustre" and rec["namespace_path"] == "/res/out.txt"
    assert rec["cache_address"] == "127.0.0.1" and rec["backend_path"] is None
    assert "--discover" in rec["note"]


def test_discover_gives_the_blob_url_and_to_local_comes_back(lw: LustreWorld,
                                                             tmp_path: Path) -> None:
    f = lw.write("res/a b.txt", b"x")
    proc = path(lw, tmp_path, f, "--discover")
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)[0]
    container = lw.aml.fs.settings.container
    assert rec["cache"] == FS and rec["storage_target"] == container
    assert rec["backend_path"].endswith(f"/{container}/res/a b.txt")
    assert rec["backend_path"].startswith("http://127.0.0.1:")
    for back in ("/res/a b.txt", rec["backend_path"].replace(" ", "%20")):
        proc = path(lw, tmp_path, "--to-local", back)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)[0]["local_paths"] == [f]


def test_blob_urls_read_as_file_system_paths() -> None:
    assert fs_path_of("https://acct.blob.core.windows.net/data/a/b%20c") == "/a/b c"
    assert fs_path_of("http://127.0.0.1:10000/devstoreaccount1/data/x") == "/x"
    assert fs_path_of("res//x") == "/res/x"
