"""The HSM side: ``lfs`` output parsed (against samples quoted from the Lustre manual and man
pages, not only against our emulator's printing), and :class:`LfsCommand`'s bounds: batches,
output limits, time limits, a failed archive batch named file by file; the emulated ``lfs``
takes the real command lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lustre_support import LustreWorld, wait_for

from hpccache_cli.lustre.hsm import LfsCommand, batches
from hpccache_cli.lustre.hsm_state import (
    ARCHIVED,
    DIRTY,
    EXISTS,
    RELEASED,
    Failed,
    HsmAction,
    HsmState,
    parse_action_line,
    parse_failure_line,
    parse_state_line,
)
from hpccache_cli.lustre.mounts import LustreMounts, parse_source
from hpccache_cli.paths.mountinfo import MountTable

# Quoted from lfs-hsm(1) (lustre-release Documentation/man1/lfs-hsm.1): note "archive_id: 1".
MAN_SAMPLE = "/mnt/lustre/foo: (0x0000000b) exists dirty archived, archive_id: 1"
# As lfs.c prints (and sites document it): a released file, and a new one.
RELEASED_SAMPLE = "testfile5: (0x0000000d) released exists archived, archive_id:1"
NEW_SAMPLE = "ubuntu-25.04-desktop-amd64.iso: (0x00000000)"


def test_state_lines_from_the_manual_parse() -> None:
    path, st = parse_state_line(MAN_SAMPLE) or ("", HsmState(-1))
    assert path == "/mnt/lustre/foo" and st == HsmState(EXISTS | DIRTY | ARCHIVED, 1)
    path, st = parse_state_line(RELEASED_SAMPLE) or ("", HsmState(-1))
    assert st.has(RELEASED) and st.archive_id == 1 and st.words == "released exists archived"
    assert parse_state_line(NEW_SAMPLE) == ("ubuntu-25.04-desktop-amd64.iso", HsmState(0, 0))


def test_a_path_holding_the_separator_still_parses() -> None:
    line = "/mnt/a: (0x1) b: (0x00000009) exists archived, archive_id:2"
    assert parse_state_line(line) == ("/mnt/a: (0x1) b", HsmState(9, 2))


@pytest.mark.parametrize("line", ["", "garbage", "/x: (0xZZ)", "/x: (0x00000009) exists bogus",
                                  "/x: (0x000000009999) exists"])
def test_what_is_not_a_state_line_is_refused(line: str) -> None:
    assert parse_state_line(line) is None


def test_action_and_failure_lines() -> None:
    assert parse_action_line("/m/f: NOOP") == ("/m/f", HsmAction("NOOP"))
    path, act = parse_action_line("/m/f: ARCHIVE running (1048576 bytes moved)") or ("", None)
    assert isinstance(act, HsmAction) and act.pending_archive and act.detail.startswith("1048576")
    _, act = parse_action_line("/m/f: RESTORE waiting (from 0 to EOF)") or ("", None)
    assert isinstance(act, HsmAction) and act.busy and not act.pending_archive
    assert parse_failure_line("lfs hsm_state: get HSM state for '/m/x' failed: No such file or "
                              "directory") == ("/m/x", "No such file or directory")


def test_batches_bound_files_and_bytes() -> None:
    paths = [f"/m/{i:05d}" for i in range(5000)]
    got = batches(paths, max_files=2000)
    assert [len(b) for b in got] == [2000, 2000, 1000] and sum(got, []) == paths
    long = ["/m/" + "x" * 900] * 300
    assert all(sum(len(p) + 1 for p in b) <= 96 * 1024 for b in batches(long))


def test_lustre_mount_sources_and_paths(tmp_path: Path) -> None:
    m = parse_source("10.0.0.4@tcp:10.0.0.5@tcp:/lustrefs/proj", "/lus")
    assert m is not None and m.fsname == "lustrefs" and m.fileset == "/proj"
    assert m.mgs_addresses == ("10.0.0.4", "10.0.0.5")
    assert m.fs_path("/lus/a/b") == "/proj/a/b" and m.client_path("/proj/a/b") == "/lus/a/b"
    assert m.client_path("/other") is None
    table = MountTable.parse(b"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                             b"2 1 0:50 / /mnt/lus rw - lustre 127.0.0.1@tcp:/lustrefs rw\n")
    mounts = LustreMounts(table)
    found = mounts.find("/mnt/lus/x/y")
    assert found is not None and found.fs_path("/mnt/lus/x/y") == "/x/y"
    assert mounts.find("/home/x") is None


def fake_lfs(tmp_path: Path, body: str) -> str:
    """A hostile stand-in lfs (a script), for the bounds only the misbehaving can test."""
    script = tmp_path / "lfs"
    script.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_an_lfs_that_floods_is_cut_off(tmp_path: Path) -> None:
    lfs = LfsCommand(fake_lfs(tmp_path, "sys.stdout.write('x' * 5_000_000)"))
    got = lfs.states(["/a", "/b"])
    assert all(isinstance(v, Failed) and "printed more than" in v.reason for v in got.values())


def test_an_lfs_that_hangs_is_given_up_on(tmp_path: Path) -> None:
    lfs = LfsCommand(fake_lfs(tmp_path, "time.sleep(60)"), timeout=1)
    got = lfs.states(["/a"])
    assert isinstance(got["/a"], Failed) and "did not answer within 1 s" in got["/a"].reason


def test_an_answer_for_a_file_not_asked_is_ignored(tmp_path: Path) -> None:
    lfs = LfsCommand(fake_lfs(tmp_path, "print('/z: (0x00000009) exists archived')"))
    got = lfs.states(["/a"])
    assert isinstance(got["/a"], Failed) and "gave no answer" in got["/a"].reason


def test_unfit_paths_never_reach_lfs(tmp_path: Path) -> None:
    lfs = LfsCommand(fake_lfs(tmp_path, "raise SystemExit(3)"))
    got = lfs.states(["-rf", "/a\nb"])
    assert "starts with '-'" in got["-rf"].reason  # type: ignore[union-attr]
    assert "line break" in got["/a\nb"].reason  # type: ignore[union-attr]
    assert lfs.calls == 0


def test_many_files_cost_few_lfs_calls(lw: LustreWorld) -> None:
    paths = [lw.write(f"many/{i}", b"x") for i in range(50)]
    lfs = LfsCommand(str(lw.client.bin_dir / "lfs"), max_files=20)
    got = lfs.states(paths)
    assert lfs.calls == 3 and all(v == HsmState(0) for v in got.values())


def test_a_batch_with_a_vanished_file_is_retried_file_by_file(lw: LustreWorld) -> None:
    a, b = lw.write("v/a", b"a"), lw.write("v/b", b"b")
    os.unlink(b)
    lfs = LfsCommand(str(lw.client.bin_dir / "lfs"))
    failed = lfs.archive([a, b])
    assert list(failed) == [b] and "No such file" in failed[b].reason
    wait_for(lambda: lw.client.archived_count == 1, "the archive of the file that exists")


def test_the_emulated_lfs_takes_the_real_command_lines(lw: LustreWorld) -> None:
    a = lw.write("cmd/a", b"abc")
    lfs = str(lw.client.bin_dir / "lfs")
    listing = lw.root / "list"
    listing.write_text(a + "\n")
    run = subprocess.run([lfs, "hsm_archive", "--archive", "1", "--filelist", str(listing)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    wait_for(lambda: lw.client.archived_count == 1, "the archive")
    out = subprocess.run([lfs, "hsm_state", a], capture_output=True, text=True, check=True)
    assert out.stdout == f"{a}: (0x00000009) exists archived, archive_id:1\n"
    assert subprocess.run([lfs, "hsm_release", a], check=False).returncode == 0
    out = subprocess.run([lfs, "hsm_state", a], capture_output=True, text=True, check=True)
    assert "(0x0000000d) released exists archived" in out.stdout
    assert subprocess.run([lfs, "hsm_restore", a], check=False).returncode == 0
    bad = subprocess.run([lfs, "hsm_state", a, "/nonexistent"], capture_output=True, text=True,
                         check=False)
    assert bad.returncode != 0 and f"{a}: (0x00000009)" in bad.stdout
    assert "get HSM state for '/nonexistent' failed: No such file or directory" in bad.stderr
    usage = subprocess.run([lfs, "hsm_restore", "--archive", "1", a], capture_output=True,
                           text=True, check=False)
    assert usage.returncode != 0 and "only when archiving" in usage.stderr


def test_both_hsm_sides_give_the_same_answers(lw: LustreWorld) -> None:
    """LfsCommand (lfs as a subprocess) and the emulator's in-process EmulatedHsm agree on
    states, actions and refusals: one interface, two implementations."""
    from hpccache_cli.lustre.hsm import HsmSide

    a, b, c = (lw.write(f"both/{n}", n.encode()) for n in "abc")
    sides: list[HsmSide] = [LfsCommand(str(lw.client.bin_dir / "lfs")), lw.client.hsm_side()]
    assert sides[1].archive([a]) == {}
    wait_for(lambda: lw.client.archived_count == 1, "the archive")
    with open(a, "ab") as fh:
        fh.write(b"!")
    lw.client.faults.hold = True
    assert sides[0].archive([b]) == {}
    paths = [a, b, c, "/nonexistent"]
    states = [s.states(paths) for s in sides]
    actions = [s.actions(paths) for s in sides]
    assert states[0] == states[1] and actions[0] == actions[1]
    assert states[0][a] == HsmState(EXISTS | DIRTY | ARCHIVED, 1)
    assert isinstance(actions[0][b], HsmAction) and actions[0][b].pending_archive
    assert all(isinstance(s.archive(["/nonexistent"])["/nonexistent"], Failed) for s in sides)
    lw.client.faults.hold = False
