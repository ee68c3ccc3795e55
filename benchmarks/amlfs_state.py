"""``amlfs state`` on many files in many directories against the anchor: one ``lfs
hsm_state`` and one blob HEAD per file (issue #23's goal: >= 20x, and >= 10,000 files/s).

Set-up (not timed): an emulated AMLFS with a Lustre client (its ``lfs`` program, the HSM
state store) and Azurite; FILES files spread over DIRS directories, every file archived
(blobs uploaded as the copytool writes them, in parallel, and marked archived in the store).
Timed, interleaved per round:

1. ``amlfs state``'s library path, as the command runs it: HSM state through the emulated
   ``lfs`` in batches, blobs listed per directory with metadata, one verdict per file;
2. the anchor on a sample of SAMPLE files (it costs a process per file): ``lfs hsm_state
   FILE`` as a subprocess and ``get_blob_properties`` (a HEAD) per file; its per-file time is
   scaled to FILES.

Needs Azurite (scripts/test.sh installs it). Only loopback; figures printed, never asserted::

    python benchmarks/amlfs_state.py --files 20000 --dirs 200 --sample 200 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from aml_support import running_aml  # noqa: E402
from tables import print_table  # noqa: E402

from hpccache_cli.emulator.aml import hsm, hsm_store  # noqa: E402
from hpccache_cli.emulator.aml.lustre_client import EmulatedLustreClient  # noqa: E402
from hpccache_cli.lustre.hsm import LfsCommand  # noqa: E402
from hpccache_cli.lustre.mounts import LustreMounts  # noqa: E402
from hpccache_cli.lustre.state import Target, judge_files, list_dirs  # noqa: E402
from hpccache_cli.paths.mountinfo import MountTable  # noqa: E402


def populate(client: EmulatedLustreClient, container: object, files: int, dirs: int
             ) -> list[str]:
    root = client.root
    paths = []
    for i in range(files):
        p = root / f"d{i % dirs:04d}" / f"f{i:06d}.dat"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x" * (i % 100 + 1))
        paths.append(str(p))

    def up(path: str) -> None:
        rel = Path(path).relative_to(root).as_posix()
        st = os.stat(path)
        hsm.upload(container, root, hsm.Item(rel, False, st.st_size, st.st_mtime_ns))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(up, paths))
    conn = hsm_store.connect(client.db)
    conn.execute("BEGIN")
    for p in paths:
        st = os.stat(p)
        hsm_store.mark_archived(conn, st.st_ino, st)
    conn.execute("COMMIT")
    conn.close()
    return paths


def ours(paths: list[str], lfs: str, container: object, mountinfo: Path) -> tuple[float, int]:
    start = time.perf_counter()
    mounts = LustreMounts(MountTable.load(mountinfo))
    targets = []
    for p in paths:
        m = mounts.find(p)
        assert m is not None
        targets.append(Target(p, m.fs_path(p), p, m))
    side = LfsCommand(lfs)
    verdicts = judge_files(targets, side, container)
    wall = time.perf_counter() - start
    bad = sum(1 for v in verdicts if v.verdict.value != "current")
    assert bad == 0, f"{bad} files not current"
    return wall, side.calls


def anchor(paths: list[str], lfs: str, container: object, root: Path) -> tuple[float, float]:
    """Per-file seconds of the anchor's two halves: one lfs process, one blob HEAD."""
    lfs_s = head_s = 0.0
    for p in paths:
        t0 = time.perf_counter()
        subprocess.run([lfs, "hsm_state", p], capture_output=True, check=True)
        t1 = time.perf_counter()
        name = Path(p).relative_to(root).as_posix()
        container.get_blob_client(name).get_blob_properties()  # type: ignore[attr-defined]
        lfs_s += t1 - t0
        head_s += time.perf_counter() - t1
    return lfs_s / len(paths), head_s / len(paths)


def halves(paths: list[str], lfs: str, container: object, root: Path) -> tuple[float, float]:
    """Our two sides alone: the batched lfs calls, and the blob listings."""
    t0 = time.perf_counter()
    LfsCommand(lfs).states(paths)
    t1 = time.perf_counter()
    dirs = sorted({str(Path(p).parent.relative_to(root)) for p in paths})
    list_dirs(container, dirs, len(paths))
    return t1 - t0, time.perf_counter() - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--dirs", type=int, default=200)
    ap.add_argument("--sample", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_aml(Path(tmp)) as aml:
        client = EmulatedLustreClient(aml.fs, Path(tmp) / "client")
        t0 = time.perf_counter()
        paths = populate(client, aml.container, args.files, args.dirs)
        print(f"set-up: {args.files} files in {args.dirs} dirs archived in "
              f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
        lfs = str(client.bin_dir / "lfs")
        sample = paths[:: max(1, len(paths) // args.sample)][: args.sample]
        mine, hsm_side, blob_side, a_lfs, a_head, calls = [], [], [], [], [], 0
        for _ in range(args.rounds):
            wall, calls = ours(paths, lfs, aml.container, client.mountinfo)
            mine.append(wall)
            h, b = halves(paths, lfs, aml.container, client.root)
            hsm_side.append(h)
            blob_side.append(b)
            one_lfs, one_head = anchor(sample, lfs, aml.container, client.root)
            a_lfs.append(one_lfs)
            a_head.append(one_head)
        n = args.files
        med = statistics.median
        ours_s, anchor_lfs, anchor_head = med(mine), med(a_lfs) * n, med(a_head) * n
        anchor_s = anchor_lfs + anchor_head
        print_table(["what", "files", "seconds", "files/s", "requests"], [
            ["amlfs state (library path, both sides)", str(n), f"{ours_s:.2f}",
             f"{n / ours_s:,.0f}", f"{calls} lfs + listings"],
            ["  its HSM side alone (batched lfs)", str(n), f"{med(hsm_side):.2f}",
             f"{n / med(hsm_side):,.0f}", f"{calls} lfs"],
            ["  its Blob side alone (listings)", str(n), f"{med(blob_side):.2f}",
             f"{n / med(blob_side):,.0f}", "1 per 5,000 blobs"],
            [f"anchor: lfs + HEAD per file (sample {len(sample)}, scaled)", str(n),
             f"{anchor_s:.1f}", f"{n / anchor_s:,.0f}", f"{2 * n}"],
            ["  anchor's HEADs alone", str(n), f"{anchor_head:.1f}", f"{n / anchor_head:,.0f}",
             f"{n}"],
            ["ratio (anchor / ours)", "", f"{anchor_s / ours_s:.1f}x", "", ""],
            ["ratio (HEADs alone / ours)", "", f"{anchor_head / ours_s:.1f}x", "", ""],
        ])

if __name__ == "__main__":
    main()
