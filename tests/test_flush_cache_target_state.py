"""``flush --cache`` names a storage target Azure reports Suspended or Flushing up front (#19).

Before, a file on a suspended target waited its whole timeout in silence and failed as a
timeout, although Azure said ``Suspended``. Now its files fail at once, naming the target and
its state; a state read from the resolution cache is checked with Azure first (the target
may have been resumed since); a target being flushed is named in a note and its files wait.
CLI in a child process, real SDK over HTTPS to the fake ARM, NFS to the emulator.
"""

from __future__ import annotations

from pathlib import Path

from flush_cache_support import BY_NAME, RG, SUB, report_of, run, world


def _state(w, target: str, state: str, suspended: bool | None = None) -> None:  # type: ignore[no-untyped-def]
    record = w.arm.store.find(SUB, RG, "emu-test")
    assert record is not None
    w.arm.store.set_target_state(record, target, state)
    if suspended is not None:
        w.emu.run(w.emu.namespace.set_suspended, target, suspended)


def test_a_suspended_target_is_named_up_front_not_waited_for(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    with world(tmp_path) as w:
        _state(w, "nas1", "Suspended", suspended=True)
        files = w.dirty("/NAS_12_exp5/s/a", "/NAS_12_exp5/s/b")
        proc = run(["flush", *BY_NAME, "--timeout", "20", "--report", str(report), *files],
                   w.env())
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    lines = report_of(report)
    for path in files:
        line = lines[str(path)]
        assert line["outcome"] == "failed" and line["kind"] == "suspended", line
        assert line["reason"].startswith("storage target nas1 is Suspended in Azure"), line
        assert "resume it" in line["reason"]


def test_a_cached_suspended_state_is_checked_with_azure_first(tmp_path: Path) -> None:
    """A variant: the resolution cache (5 min) still says Suspended, but the target has been
    resumed since: Azure is asked again once, and the file is flushed."""
    with world(tmp_path) as w:
        _state(w, "nas1", "Suspended", suspended=True)
        first = run(["flush", *BY_NAME, *w.dirty("/NAS_12_exp5/c/a")], w.env())
        assert first.returncode == 1, first.stderr.decode()
        _state(w, "nas1", "Ready", suspended=False)
        calls = w.arm_calls()
        files = w.dirty("/NAS_12_exp5/c/b", "/NAS_12_exp5/c/c")
        again = run(["flush", *BY_NAME, *files], w.env())
        assert again.returncode == 0, again.stderr.decode()
        assert w.arm_calls() == calls + 2  # one fresh read of the layout, not one per file
        w.assert_written_back(*files)


def test_a_flushing_target_is_named_in_a_note_and_its_files_wait(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        w.env()  # (the layout is read from ARM: no cache file yet)
        _state(w, "nas1", "Flushing")
        files = w.dirty("/NAS_12_exp5/f/a", "/NAS_12_exp5/f/b")
        proc = run(["flush", *BY_NAME, *files], w.env())
        err = proc.stderr.decode()
        assert proc.returncode == 0, err
        notes = [x for x in err.splitlines() if "is Flushing in Azure" in x]
        assert len(notes) == 1, err  # once per target, not per file
        assert notes[0].startswith("hpccache: storage target nas1 is Flushing in Azure")
        w.assert_written_back(*files)


# --- cached mount addresses that no longer answer (issue #19) ---------------------------------


def _cached_entry(w) -> Path:  # type: ignore[no-untyped-def]
    (path,) = (w.base / "xdg" / "hpccache" / "layouts").glob("*.json")
    return path


def test_stale_cached_addresses_are_replaced_by_azure_s_and_the_run_flushes(
        tmp_path: Path) -> None:
    """The resolution cache holds addresses the cache no longer has: the run asks Azure once,
    says so, and flushes through the fresh addresses (before: exit 4, "cache unreachable",
    with the cache file already rewritten)."""
    import json

    with world(tmp_path) as w:
        first = run(["flush", *BY_NAME, *w.dirty("/NAS_12_exp5/m/a")], w.env())
        assert first.returncode == 0, first.stderr.decode()
        entry = _cached_entry(w)
        data = json.loads(entry.read_text())
        fresh = data["layout"]["mount_addresses"]
        data["layout"]["mount_addresses"] = ["127.0.0.68", "127.0.0.69"]  # nobody listens
        entry.write_text(json.dumps(data))
        calls = w.arm_calls()
        files = w.dirty("/NAS_12_exp5/m/b", "/NAS_12_exp5/m/c")
        proc = run(["flush", *BY_NAME, *files], w.env())
        err = proc.stderr.decode()
        assert proc.returncode == 0, err
        w.assert_written_back(*files)
        assert w.arm_calls() == calls + 2  # one fresh read of the layout
        notes = [x for x in err.splitlines() if "do not answer; Azure now lists" in x]
        assert len(notes) == 1, err
        assert "127.0.0.68, 127.0.0.69" in notes[0] and ", ".join(fresh) in notes[0]
        assert json.loads(entry.read_text())["layout"]["mount_addresses"] == fresh


def test_when_azure_lists_the_same_silent_addresses_the_run_stays_unreachable(
        tmp_path: Path) -> None:
    """A variant: Azure itself lists addresses that do not answer: asked once, no loop, and
    the run ends as before (exit 4, cache unreachable)."""
    with world(tmp_path) as w:
        record = w.arm.store.find(SUB, RG, "emu-test")
        assert record is not None
        record.body["properties"]["mountAddresses"] = ["127.0.0.68"]
        first = run(["flush", *BY_NAME, *w.dirty("/NAS_12_exp5/u/a")], w.env())
        assert first.returncode == 4, first.stderr.decode()
        calls = w.arm_calls()
        again = run(["flush", *BY_NAME, *w.dirty("/NAS_12_exp5/u/b")], w.env())
        err = again.stderr.decode()
        assert again.returncode == 4, err
        assert "hpccache: error: cache unreachable" in err
        assert "Azure now lists" not in err
        assert w.arm_calls() <= calls + 4  # the fresh read, and the state check at the end
