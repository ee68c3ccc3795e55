"""``amlfs export --wait`` against an archive job of the whole prefix (issue #23's goal:
only the files that need it archived, every file verified in Blob).

Set-up (not timed): the emulated AMLFS with a Lustre client and Azurite; FILES small files in
DIRS directories, all archived. Then CHANGED files get new bytes and, timed:

1. ``hpccache amlfs export -r PREFIX --wait`` as a user runs it (a subprocess, the emulator's
   ``lfs`` on PATH, its copytool archiving one file at a time);
2. after CHANGED other files get new bytes: ``hpccache amlfs archive --path PREFIX`` (the
   anchor: an ARM archive job of the prefix, waited for).

Printed for each: seconds, blobs written during the run (Last-Modified after its start), and
files verified in Blob per file (the export's records; the archive job verifies none).
Only loopback; figures printed, never asserted::

    python benchmarks/amlfs_export.py --files 10000 --dirs 100 --changed 1000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

from aml_support import FS, RG  # noqa: E402
from amlfs_state import populate  # noqa: E402
from lustre_support import LustreWorld  # noqa: E402
from tables import print_table  # noqa: E402

from hpccache_cli.emulator.aml.lustre_client import EmulatedLustreClient  # noqa: E402


def written_since(container: object, since: datetime) -> int:
    return sum(1 for b in container.list_blobs(results_per_page=5000)  # type: ignore[attr-defined]
               if b.last_modified >= since)


def touch(paths: list[str]) -> None:
    for p in paths:
        Path(p).write_bytes(b"changed " + p.encode())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--dirs", type=int, default=100)
    ap.add_argument("--changed", type=int, default=1_000)
    args = ap.parse_args()
    from aml_support import running_aml

    with tempfile.TemporaryDirectory() as tmp, running_aml(Path(tmp)) as aml:
        client = EmulatedLustreClient(aml.fs, Path(tmp) / "client").start()
        try:
            paths = populate(client, aml.container, args.files, args.dirs)
            for p in paths:
                st = os.stat(p)
                rel = Path(p).relative_to(client.root).as_posix()
                aml.fs.exported[rel] = (st.st_mtime_ns, st.st_size)
            world = LustreWorld(aml, client)
            env = {k: v for k, v in {**os.environ, **world.env(Path(tmp)),
                                     "PYTHONPATH": str(ROOT)}.items() if v is not None}
            rows = []
            step = max(1, args.files // args.changed)
            touch(paths[::step][: args.changed])
            time.sleep(1.1)  # blob Last-Modified has whole seconds: runs apart
            since = datetime.now(timezone.utc).replace(microsecond=0)
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "hpccache_cli", "amlfs", "export", "-r",
                                   str(client.root), "--wait", "-o", "json"], env=env,
                                  capture_output=True, text=True, check=False)
            wall = time.perf_counter() - t0
            summary = json.loads(proc.stdout or "{}")
            rows.append(["amlfs export -r --wait", f"{wall:.1f}",
                         str(written_since(aml.container, since)),
                         str(summary.get("flushed", 0) + summary.get("clean", 0)),
                         str(proc.returncode)])
            touch(paths[1::step][: args.changed])
            time.sleep(1.1)
            since = datetime.now(timezone.utc).replace(microsecond=0)
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "hpccache_cli", "amlfs", "archive",
                                   FS, "-g", RG, "--path", "/", "--timeout", "3600"], env=env,
                                  capture_output=True, text=True, check=False)
            wall = time.perf_counter() - t0
            rows.append(["anchor: amlfs archive --path / (ARM job)", f"{wall:.1f}",
                         str(written_since(aml.container, since)), "0",
                         str(proc.returncode)])
            print(f"{args.files} files in {args.dirs} dirs, {args.changed} changed before each "
                  "run", file=sys.stderr)
            print_table(["what", "seconds", "blobs written", "files verified in Blob", "exit"],
                        rows)
        finally:
            client.stop()


if __name__ == "__main__":
    main()
