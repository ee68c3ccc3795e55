"""The yardstick: flush_file.py's algorithm, written here from its description, as a command.

Microsoft's flush_file.py is what users compare us with; its code is not ours to copy, so the
benchmarks run this re-implementation of its documented algorithm on our synchronous NFS
client: ``--threads`` threads (default 4), each with its own connection and one MOUNT; per
file a LOOKUP of every path component from the export's root (no caching), then either one
sync-flush COMMIT (``--sync``) or an async-start COMMIT followed by status COMMITs with a
fixed 250 ms sleep while the write-back runs. Paths come on stdin, one per line, relative to
EXPORT, as with flush_file.py.

Used by benchmarks/flush_throughput.py (thread-count sweep) and benchmarks/single_file.py
(one file, whole process). Start-up differs from the real script's (this one imports our
client, asyncio included); its per-file work and waiting are the algorithm's. Example::

    printf 'run000/part-00000.dat\\n' | python benchmarks/yardstick.py /bench 127.0.0.211 \\
        --mount-port 4046 --nfs-port 2049 --threads 64 --sync
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RECHECK_SECONDS = 0.25  # flush_file.py's fixed sleep between status checks
DEFAULT_THREADS = 4  # flush_file.py's default


def flush_paths(server: str, export: str, paths: list[str], *, threads: int, sync: bool,
                mount_port: int, nfs_port: int) -> list[str]:
    """Flush ``paths`` the flush_file.py way; returns the paths that failed."""
    from hpccache_cli.nfs import nfs3
    from hpccache_cli.nfs.client import ClientOptions, FlushOp, SyncNfsClient

    ok, not_sync = nfs3.Nfsstat3.NFS3_OK, nfs3.Nfsstat3.NFS3ERR_NOT_SYNC
    opts = ClientOptions(mount_port=mount_port, nfs_port=nfs_port)
    work: queue.Queue[str | None] = queue.Queue()
    errors: list[str] = []

    def worker() -> None:
        with SyncNfsClient(server, opts) as client:
            root = client.mount(export.encode())  # once per thread
            while (path := work.get()) is not None:
                try:
                    handle = root
                    for part in path.strip("/").split("/"):  # every component, every file
                        handle = client.lookup(handle, part.encode()).object
                    if sync:
                        if client.flush(handle, FlushOp.SYNC) != ok:
                            errors.append(path)
                        continue
                    status = client.flush(handle, FlushOp.START)
                    while status == not_sync:
                        time.sleep(RECHECK_SECONDS)
                        status = client.flush(handle, FlushOp.STATUS)
                    if status != ok:
                        errors.append(path)
                except Exception as exc:  # noqa: BLE001 - flush_file.py counts and goes on
                    errors.append(f"{path}: {exc}")

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for path in paths:
        work.put(path)
    for _ in pool:
        work.put(None)
    for t in pool:
        t.join()
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export")
    parser.add_argument("server")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--sync", action="store_true")
    parser.add_argument("--mount-port", type=int, required=True)
    parser.add_argument("--nfs-port", type=int, required=True)
    args = parser.parse_args()
    paths = [line.strip() for line in sys.stdin if line.strip()]
    start = time.monotonic()
    errors = flush_paths(args.server, args.export, paths, threads=args.threads, sync=args.sync,
                         mount_port=args.mount_port, nfs_port=args.nfs_port)
    print(f"Total elapsed time {time.monotonic() - start:.6f}", file=sys.stderr)
    for error in errors[:5]:
        print(f"ERROR {error}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
