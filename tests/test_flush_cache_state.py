"""``flush --cache`` uses what Azure says of the cache: its state, a newer namespace, and says
when the resolution cache cannot be written. CLI in a child process, real SDK over HTTPS to the
fake ARM, NFS to the emulator on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flush_cache_support import A_JUNCTION, A_ROOT, BY_NAME, CACHE, RG, SUB, report_of, run, world

DOWN = {"down_addresses": [A_ROOT, A_JUNCTION]}


@pytest.mark.parametrize(
    ("health", "description", "provisioning", "words"),
    [
        ("Stopped", "The cache is stopped", "Succeeded",
         f"cache {CACHE} is Stopped: The cache is stopped"),
        ("Upgrading", "Upgrading software", "Succeeded",
         f"cache {CACHE} is Upgrading: Upgrading software"),
        ("Transitioning", "Provisioning", "Creating",
         f"cache {CACHE} is not provisioned (provisioning state Creating"),
    ],
)
def test_a_stopped_or_unprovisioned_cache_is_named_not_unreachable(
    tmp_path: Path, health: str, description: str, provisioning: str, words: str
) -> None:
    with world(tmp_path, faults=DOWN) as w:
        record = w.arm.store.find(SUB, RG, CACHE)
        assert record is not None
        w.arm.store.set_cache_state(record, health, description, provisioning)
        files = w.dirty("/NAS_12_exp5/s/a")
        proc = run(["flush", *BY_NAME, "-o", "json", *files], w.env())
    err = proc.stderr.decode()
    assert proc.returncode == 3, err
    assert f"hpccache: error: {words}" in err
    assert "cache unreachable" not in err.split("hpccache: error:")[-1]
    assert json.loads(proc.stdout)["exit_code"] == 3


def test_a_healthy_cache_that_does_not_answer_stays_unreachable(tmp_path: Path) -> None:
    with world(tmp_path, faults=DOWN) as w:
        proc = run(["flush", *BY_NAME, *w.dirty("/NAS_12_exp5/h/a")], w.env())
    assert proc.returncode == 4
    assert "hpccache: error: cache unreachable" in proc.stderr.decode()


def test_under_no_junction_of_a_cached_layout_asks_azure_again(tmp_path: Path) -> None:
    """The layout in the resolution cache predates a new junction (/blob/data added to blob1
    a minute ago): the path under it is flushed after one more ARM read, and a path that is
    under no junction even now says Azure was asked."""
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        record = w.arm.store.find(SUB, RG, CACHE)
        assert record is not None
        blob = record.targets["blob1"]["properties"]
        junctions, blob["junctions"] = blob["junctions"], []
        first = run(["flush", *BY_NAME, *w.dirty("/NAS_12_exp5/n/a")], w.env())
        assert first.returncode == 0, first.stderr
        blob["junctions"] = junctions  # the namespace changes after the layout was cached
        gets = w.arm_calls("GET")
        files = w.dirty("/blob/data/new", "/NAS_12_exp5/n/b")
        proc = run(["flush", *BY_NAME, "--report", str(report), *files, "/nowhere/x",
                    "/nowhere/y"], w.env())
        assert w.arm_calls("GET") == gets + 2  # once (cache + targets), not once per path
        w.assert_written_back(*files)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr.decode()
    assert "under no junction of the cached layout of cache emu-test; asked Azure again: " \
        "the namespace has changed" in err
    lines = report_of(report)
    assert lines["/blob/data/new"]["outcome"] == "flushed"
    for path in ("/nowhere/x", "/nowhere/y"):
        assert lines[path]["outcome"] == "failed"
        assert "checked with Azure during this run" in lines[path]["reason"]


def test_a_fresh_layout_from_azure_is_not_asked_for_twice(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        proc = run(["flush", *BY_NAME, "/nowhere/z"], w.env())
        assert w.arm_calls("GET") == 2
    assert proc.returncode == 1
    assert "asked Azure again" not in proc.stderr.decode()


def test_an_unwritable_resolution_cache_is_mentioned_once_with_v(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "xdg-file"
    not_a_dir.write_text("a file where the cache directory should be\n")
    with world(tmp_path) as w:
        env = w.env(XDG_CACHE_HOME=str(not_a_dir))
        files = w.dirty("/NAS_12_exp5/w/a", "/NAS_12_exp5/w/b")
        verbose = run(["flush", *BY_NAME, "-v", *files], env)
        quiet = run(["flush", *BY_NAME, *files], env)
    assert verbose.returncode == 0 and quiet.returncode == 0, verbose.stderr
    notes = [line for line in verbose.stderr.decode().splitlines()
             if "cannot write the resolution cache" in line]
    assert len(notes) == 1 and str(not_a_dir) in notes[0]
    assert "cannot write the resolution cache" not in quiet.stderr.decode()


def test_flush_cache_takes_the_azure_cli_default_group(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        files = w.dirty("/NAS_12_exp5/d/a")
        proc = run(["flush", "--cache", CACHE, *files], w.env(AZURE_DEFAULTS_GROUP=RG))
        assert proc.returncode == 0, proc.stderr
        w.assert_written_back(*files)
