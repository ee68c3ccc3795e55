"""Peak memory of ``hpccache flush`` for a very long input: 1,000,000 paths on stdin.

Why: the engine streams its input (bounded queues, results written out as they happen, a
compact digest table for duplicate detection), so its memory must not grow with the number of
paths the way a list of a million path objects would. The emulator (a child process) holds
``--existing`` dirty files in 200 directories; the input names those plus paths that do not
exist in the same directories (each costs one LOOKUP answered NFS3ERR_NOENT). Paths are
generated while being written to the command's stdin, with a ``--report`` and a
``--failed-to`` file, as a real run would have.

Peak RSS is the child's ``ru_maxrss`` (``wait4``) cross-checked with ``VmHWM`` sampled from
``/proc``. Printed, never asserted. Example::

    python benchmarks/flush_rss.py                   # 1,000,000 paths, 10,000 existing
    python benchmarks/flush_rss.py --paths 100000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flush_throughput import (  # noqa: E402
    ADDRESSES,
    JUNCTION,
    ROOT,
    EmulatorProcess,
    make_dirty,
)

DIRS = 200


def names(total: int, existing: int) -> Iterator[bytes]:
    """``existing`` real files first spread over the run, the rest missing (NOENT)."""
    every = max(1, total // max(existing, 1))
    made = 0
    for i in range(total):
        if made < existing and i % every == 0:
            yield f"d{made % DIRS:03d}/file-{made:07d}.dat\n".encode()
            made += 1
        else:
            yield f"d{i % DIRS:03d}/missing-{i:07d}.dat\n".encode()


def hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(emu: EmulatorProcess, base: Path, total: int, existing: int,
        concurrency: int) -> tuple[float, int, int, str]:
    cmd = [sys.executable, "-m", "hpccache_cli", "flush", "--export", JUNCTION,
           "--ip", ADDRESSES[0], "--mount-port", str(emu.mount_port),
           "--nfs-port", str(emu.nfs_port), "--concurrency", str(concurrency),
           "--report", str(base / "report.jsonl"), "--failed-to", str(base / "failed.lst"),
           "-q", "-o", "json"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.monotonic()
    # -q still prints one line per failed path on stderr: send them to a file, as a job
    # script would (an unread pipe would fill up and stall the run).
    with open(base / "stderr.log", "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=err, env=env)
    assert proc.stdin is not None and proc.stdout is not None

    def feed() -> None:
        assert proc.stdin is not None
        buf: list[bytes] = []
        for name in names(total, existing):
            buf.append(name)
            if len(buf) == 4096:
                proc.stdin.write(b"".join(buf))
                buf.clear()
        proc.stdin.write(b"".join(buf))
        proc.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()),  # type: ignore[union-attr]
                              daemon=True)
    reader.start()
    sampled = 0
    while True:  # wait4 (not Popen.poll) so the child's own rusage is ours to read
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        sampled = max(sampled, hwm_kib(proc.pid))
        time.sleep(0.5)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - start
    reader.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"hpccache flush exited {proc.returncode}")
    return seconds, usage.ru_maxrss, sampled, b"".join(chunks).decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", type=int, default=1_000_000)
    parser.add_argument("--existing", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=128)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="hpccache-rss-"))
    rels = [f"d{i % DIRS:03d}/file-{i:07d}.dat" for i in range(args.existing)]
    make_dirty(base, rels, 1)
    emu = EmulatorProcess(base, 0.0)
    try:
        print(f"hpccache flush with {args.paths:,} paths on stdin ({args.existing:,} existing "
              f"and dirty, the rest NOENT), --concurrency {args.concurrency}, --report and "
              "--failed-to files")
        seconds, maxrss, sampled, out = run(emu, base, args.paths, args.existing,
                                            args.concurrency)
        summary = json.loads(out)
        with open(base / "report.jsonl", "rb") as report:
            report_lines = sum(1 for _ in report)
        failed_mb = os.path.getsize(base / "failed.lst") / 1e6
    finally:
        emu.stop()
        shutil.rmtree(base, ignore_errors=True)
    print(f"  outcomes: flushed {summary['flushed']:,}, failed {summary['failed']:,} "
          f"(kinds: {summary['failure_kinds']}), total {summary['total']:,}")
    print(f"  time: {seconds:.1f} s ({args.paths / seconds:,.0f} paths/s)")
    print(f"  peak RSS: {maxrss / 1024:.1f} MiB (ru_maxrss); VmHWM sampled: "
          f"{sampled / 1024:.1f} MiB")
    print(f"  report lines: {report_lines:,}; failed list: {failed_mb:.1f} MB")


if __name__ == "__main__":
    main()
