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
from hpccache_cli.lustre.state import Target, judge_files  # noqa: E402
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


def anchor(paths: list[str], lfs: str, container: object, root: Path) -> float:
    start = time.perf_counter()
    for p in paths:
        subprocess.run([lfs, "hsm_state", p], capture_output=True, check=True)
        name = Path(p).relative_to(root).as_posix()
        container.get_blob_client(name).get_blob_properties()  # type: ignore[attr-defined]
    return (time.perf_counter() - start) / len(paths)


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
        mine, per_file, calls = [], [], 0
        for _ in range(args.rounds):
            wall, calls = ours(paths, lfs, aml.container, client.mountinfo)
            mine.append(wall)
            per_file.append(anchor(sample, lfs, aml.container, client.root))
        ours_s = statistics.median(mine)
        anchor_s = statistics.median(per_file) * args.files
        print_table(["what", "files", "seconds", "files/s", "lfs calls"], [
            ["amlfs state (library path)", str(args.files), f"{ours_s:.2f}",
             f"{args.files / ours_s:,.0f}", str(calls)],
            [f"anchor: lfs + HEAD per file (sample {len(sample)}, scaled)", str(args.files),
             f"{anchor_s:.1f}", f"{args.files / anchor_s:,.0f}", str(args.files)],
            ["ratio", "", f"{anchor_s / ours_s:.1f}x", "", ""],
        ])


if __name__ == "__main__":
    main()
