"""``hpccache demo``: a real flush, end to end, on this machine, in a few seconds.

Starts the built-in HPC Cache emulator on loopback with a temporary namespace (two junctions
on two storage targets), writes a few hundred files into the cache side (dirty: the storage
targets do not have them yet), runs ``hpccache flush`` in a child process for each junction
(exactly the command a user would type, shown before it runs), then checks that every storage
target now holds the same bytes as the cache. Everything lives in a temporary directory that
is removed at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import typer

from hpccache_cli.cli.common import reports_errors
from hpccache_cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED

ADDRESSES = ["127.0.0.201", "127.0.0.202"]
JUNCTIONS = {  # namespace path -> (storage target, type, back-end directory)
    "/demo/nas": ("nas1", "nfs3", "backend/nas1"),
    "/demo/blob": ("blob1", "clfs", "backend/blob1"),
}

HELP = (
    "Run a real flush against the built-in emulator, then verify the storage targets.\n\n"
    "Starts an emulated HPC Cache on 127.0.0.201 and 127.0.0.202 with two junctions, writes "
    "FILES files into the cache (dirty), flushes each junction with `hpccache flush` (shown "
    "as it runs) and checks that the back ends now hold the cache's bytes. Cleans up after "
    "itself.\n\n"
    "Exit codes: 0 every file flushed and verified; 1 something did not flush or verify; "
    "2 bad usage; 130 interrupted.\n\n"
    "Example: hpccache demo --files 1000 --write-back-ms 50"
)


def _config(base: Path, write_back_ms: float):  # type: ignore[no-untyped-def]
    from hpccache_cli.emulator.config import config_from_dict

    targets = [
        {"name": name, "type": kind, "backend_dir": backend, "write_back_delay_seconds": -1,
         **({"usage_model": "WRITE_WORKLOAD_15"} if kind == "nfs3" else {}),
         "junctions": [{"namespace_path": ns, **({"nfs_export": "/export"}
                                                 if kind == "nfs3" else {})}]}
        for ns, (name, kind, backend) in JUNCTIONS.items()
    ]
    return config_from_dict({
        "cache": {"name": "demo-cache", "mount_addresses": ADDRESSES},
        "ports": {"portmap": 0, "mount": 0, "nfs": 0, "arm": -1},
        "writeback": {"per_file_seconds": write_back_ms / 1000.0, "parallel": 64},
        "storage_targets": targets,
    }, base)


def _write_files(base: Path, count: int) -> dict[str, list[str]]:
    """``count`` dirty files spread over both junctions and a few directories each."""
    files: dict[str, list[str]] = {ns: [] for ns in JUNCTIONS}
    names = list(JUNCTIONS)
    for i in range(count):
        ns = names[0] if i % 4 else names[1]  # three quarters on the NAS
        rel = f"run{i % 7}/step{i % 13:02d}/out-{i:05d}.dat"
        path = base / "cache" / ns.lstrip("/") / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"result {i}\n".encode() * (1 + i % 50))
        files[ns].append(rel)
    return files


def _verify(base: Path, files: dict[str, list[str]]) -> list[str]:
    """Paths whose back-end copy is missing or differs from the cache copy."""
    bad = []
    for ns, rels in files.items():
        backend = base / JUNCTIONS[ns][2]
        for rel in rels:
            cached = (base / "cache" / ns.lstrip("/") / rel).read_bytes()
            stored = backend / rel
            if not stored.is_file() or stored.read_bytes() != cached:
                bad.append(ns + "/" + rel)
    return bad


def _flush(ns: str, rels: list[str], ports: object) -> int:
    cmd = ["hpccache", "flush"]
    for addr in ADDRESSES:
        cmd += ["--ip", addr]
    cmd += ["--export", ns, "--mount-port", str(ports.mount),  # type: ignore[attr-defined]
            "--nfs-port", str(ports.nfs)]  # type: ignore[attr-defined]
    typer.secho(f"\n$ printf '%s\\n' ... | {' '.join(cmd)}    # {len(rels)} paths on stdin",
                bold=True)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "hpccache_cli", *cmd[1:]],
                          input="".join(r + "\n" for r in rels).encode(), env=env, check=False)
    return proc.returncode


def register(app: typer.Typer) -> None:
    @app.command("demo", help=HELP)
    @reports_errors
    def demo(
        files: int = typer.Option(300, "--files", min=1, max=100_000,
                                  help="How many dirty files to write into the cache."),
        write_back_ms: float = typer.Option(
            20.0, "--write-back-ms", min=0,
            help="Time the emulated back end takes per file (64 at once)."),
        keep: bool = typer.Option(False, "--keep", help="Keep the temporary directory."),
    ) -> None:
        from hpccache_cli.emulator.server import EmulatorThread

        base = Path(tempfile.mkdtemp(prefix="hpccache-demo-"))
        code = EXIT_SOME_FAILED
        try:
            written = _write_files(base, files)
            with EmulatorThread(_config(base, write_back_ms)) as emu:
                typer.echo(f"emulated cache on {', '.join(ADDRESSES)} (MOUNT port "
                           f"{emu.ports.mount}, NFS port {emu.ports.nfs}); junctions: "
                           + ", ".join(f"{ns} -> {t[0]} ({t[1]})" for ns, t in JUNCTIONS.items()))
                typer.echo(f"wrote {files} files into the cache; dirty (not yet on the storage "
                           f"targets): {emu.namespace.dirty_count()}")
                codes = [_flush(ns, rels, emu.ports) for ns, rels in written.items() if rels]
                dirty = emu.namespace.dirty_count()
            if EXIT_INTERRUPTED in codes:
                code = EXIT_INTERRUPTED
                return
            bad = _verify(base, written)
            typer.echo(f"\ndirty files left in the cache: {dirty}")
            if bad or dirty or any(codes):
                typer.secho(f"verification failed: {len(bad)} of {files} files differ on the "
                            f"storage targets (first: {bad[:3]})", fg="red", err=True)
                return
            typer.secho(f"verified: all {files} files on the storage targets match the cache, "
                        "byte for byte", fg="green")
            code = EXIT_OK
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        finally:
            if keep:
                typer.echo(f"kept {base}")
            else:
                shutil.rmtree(base, ignore_errors=True)
            if code:
                raise typer.Exit(code)
