"""``hpccache demo``: the main job, end to end, on this machine, in a few seconds.

Starts the built-in HPC Cache emulator on loopback with a temporary namespace (two junctions
on two storage targets) and its fake Azure Resource Manager over HTTPS, writes a few hundred
files into the cache side (dirty: the storage targets do not have them yet), and then runs,
in child processes, exactly the commands a user would type (each shown before it runs):

1. ``hpccache namespace demo-cache -g demo-rg``: the junctions, as Azure describes them;
2. ``hpccache flush --cache demo-cache -g demo-rg``: every file by its namespace path, mount
   addresses and junctions resolved through (fake) ARM, flushed per file over NFS;
3. ``hpccache target flush --cache demo-cache -g demo-rg -n blob1 --yes``: the whole-target
   fallback, for files written after step 2;
4. ``hpccache amlfs archive demo-amlfs -g demo-rg``: Azure Managed Lustre, an emulated file
   system archived to a blob container in Azurite (:mod:`hpccache_cli.cli.demo_amlfs`), then
   the container listed and compared with the files.

It then checks that every storage target holds the same bytes as the cache. Everything lives
in a temporary directory that is removed at the end (``--keep`` keeps it). The fake ARM's
token is the emulator's own: no Azure credential is used and nothing leaves 127.0.0.0/8.
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
from hpccache_cli.cli.help.demo import HELP
from hpccache_cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED

CACHE, GROUP = "demo-cache", "demo-rg"
ADDRESSES = ["127.0.0.201", "127.0.0.202"]
JUNCTIONS = {  # namespace path -> (storage target, type, back-end directory)
    "/demo/nas": ("nas1", "nfs3", "backend/nas1"),
    "/demo/blob": ("blob1", "clfs", "backend/blob1"),
}
LATE_FILES = 20  # written after the per-file flush, for the target flush to write back


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
        "cache": {"name": CACHE, "resource_group": GROUP, "mount_addresses": ADDRESSES},
        "ports": {"portmap": 0, "mount": 0, "nfs": 0, "arm": 0},
        "writeback": {"per_file_seconds": write_back_ms / 1000.0, "parallel": 64},
        "storage_targets": targets,
    }, base)


def _write_files(base: Path, count: int, first: int = 0,
                 only: str | None = None) -> dict[str, list[str]]:
    """``count`` dirty files spread over the junctions (or ``only`` one) and a few dirs each."""
    files: dict[str, list[str]] = {ns: [] for ns in JUNCTIONS}
    names = list(JUNCTIONS)
    for i in range(first, first + count):
        ns = only or (names[0] if i % 4 else names[1])  # three quarters on the NAS
        rel = f"run{i % 7}/step{i % 13:02d}/out-{i:05d}.dat"
        path = base / "cache" / ns.lstrip("/") / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"result {i}\n".encode() * (1 + i % 50))
        files[ns].append(rel)
    return files


def _verify(base: Path, files: dict[str, list[str]]) -> list[str]:
    """Namespace paths whose back-end copy is missing or differs from the cache copy."""
    bad = []
    for ns, rels in files.items():
        backend = base / JUNCTIONS[ns][2]
        for rel in rels:
            cached = (base / "cache" / ns.lstrip("/") / rel).read_bytes()
            stored = backend / rel
            if not stored.is_file() or stored.read_bytes() != cached:
                bad.append(ns + "/" + rel)
    return bad


def _run(args: list[str], env: dict[str, str], stdin: bytes | None = None,
         note: str = "") -> int:
    """Show ``hpccache ARGS`` as a user would type it, then run it in a child process."""
    typer.secho(f"\n$ {'... | ' if stdin else ''}hpccache {' '.join(args)}"
                + (f"    # {note}" if note else ""), bold=True)
    proc = subprocess.run([sys.executable, "-m", "hpccache_cli", *args], input=stdin,
                          env=env, check=False)
    return proc.returncode


def _child_env(base: Path, emu: object, arm_env: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    import hpccache_cli

    root = str(Path(hpccache_cli.__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env.update(arm_env)
    env.update({
        "HPCCACHE_MOUNT_PORT": str(emu.ports.mount),  # type: ignore[attr-defined]
        "HPCCACHE_NFS_PORT": str(emu.ports.nfs),  # type: ignore[attr-defined]
        "XDG_CACHE_HOME": str(base / "xdg"),  # the resolution cache stays in the demo dir
    })
    return env


def _demo(base: Path, files: int, write_back_ms: float, amlfs_files: int = 0) -> int:
    from hpccache_cli.emulator.arm import start_fake_arm
    from hpccache_cli.emulator.server import EmulatorThread

    written = _write_files(base, files)
    config = _config(base, write_back_ms)
    with EmulatorThread(config) as emu:
        arm = emu.call(start_fake_arm, config, emu.namespace)
        assert arm is not None  # _config asks for an ARM port (0: any free one)
        try:
            env = _child_env(base, emu, arm.arm.client_env())
            typer.echo(f"emulated cache {CACHE} on {', '.join(ADDRESSES)}, fake Azure Resource "
                       f"Manager at {arm.arm.url}")
            typer.echo(f"wrote {files} files into the cache; dirty (not yet on the storage "
                       f"targets): {emu.namespace.dirty_count()}")
            codes = [_run(["namespace", CACHE, "-g", GROUP, "-o", "table"], env)]
            paths = "".join(f"{ns}/{rel}\n" for ns, rels in written.items() for rel in rels)
            codes.append(_run(["flush", "--cache", CACHE, "-g", GROUP], env, paths.encode(),
                              f"{files} namespace paths on stdin"))
            late = _write_files(base, LATE_FILES, first=files, only="/demo/blob")
            typer.echo(f"\nwrote {LATE_FILES} more files under /demo/blob; dirty: "
                       f"{emu.namespace.dirty_count()}")
            codes.append(_run(["target", "flush", "--cache", CACHE, "-g", GROUP, "-n", "blob1",
                               "--yes"], env, note="the whole storage target, through ARM"))
            dirty = emu.namespace.dirty_count()
            if amlfs_files:
                from hpccache_cli.cli.demo_amlfs import run_amlfs_demo

                codes.append(run_amlfs_demo(base, arm.arm, GROUP, arm.arm.subscription_id,
                                            amlfs_files, lambda args: _run(args, env)))
        finally:
            emu.call(arm.stop)
    if EXIT_INTERRUPTED in codes:
        return EXIT_INTERRUPTED
    for ns, rels in late.items():
        written[ns].extend(rels)
    bad = _verify(base, written)
    total = files + LATE_FILES
    typer.echo(f"\ndirty files left in the cache: {dirty}")
    if bad or dirty or any(codes):
        typer.secho(f"verification failed: {len(bad)} of {total} files differ on the storage "
                    f"targets (first: {bad[:3]}); exit codes {codes}", fg="red", err=True)
        return EXIT_SOME_FAILED
    typer.secho(f"verified: all {total} files on the storage targets match the cache, "
                "byte for byte", fg="green")
    return EXIT_OK


@reports_errors
def demo(
    files: int = typer.Option(300, "--files", min=1, max=100_000,
                              help="How many dirty files to write into the cache."),
    write_back_ms: float = typer.Option(
        20.0, "--write-back-ms", min=0, max=3_600_000,
        help="Time the emulated back end takes per file (64 at once)."),
    keep: bool = typer.Option(False, "--keep", help="Keep the temporary directory."),
    amlfs_files: int = typer.Option(
        50, "--amlfs-files", min=0, max=100_000,
        help="Files to write into the emulated Azure Managed Lustre file system and "
        "archive to Blob (Azurite); 0 skips that part."),
) -> None:
    base = Path(tempfile.mkdtemp(prefix="hpccache-demo-"))
    code = EXIT_SOME_FAILED
    try:
        code = _demo(base, files, write_back_ms, amlfs_files)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    finally:
        if keep:
            typer.echo(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``hpccache demo`` to the root app (the command is the module-level function)."""
    app.command("demo", help=HELP)(demo)
