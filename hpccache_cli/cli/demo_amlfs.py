"""The Azure Managed Lustre part of ``hpccache demo``: archive to Blob, then check the blobs.

Starts Azurite (the Blob emulator, installed by scripts/test.sh and scripts/demo.sh) behind the
demo's fake ARM, serves an emulated file system whose namespace is a directory of the demo,
writes files into it, runs ``hpccache amlfs archive`` as a user would (it waits on the
archive's own status), then lists the container with ``azure-storage-blob`` and compares every
blob with its file, byte for byte, and checks the copytool's metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from hpccache_cli.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED

FS_NAME = "demo-amlfs"


def _write(root: Path, count: int) -> dict[str, bytes]:
    files = {}
    for i in range(count):
        rel = f"results/run{i % 3}/part-{i:04d}.dat"
        data = f"lustre result {i}\n".encode() * (1 + i % 40)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[rel] = data
    return files


def run_amlfs_demo(base: Path, arm: Any, group: str, subscription: str, files: int,
                   run: Callable[[list[str]], int]) -> int:
    """The archive demo on ``arm`` (a started FakeArm); ``run`` runs one hpccache command."""
    from hpccache_cli.emulator.aml.azurite import AzuriteMissing
    from hpccache_cli.emulator.aml.config import AmlSettings
    from hpccache_cli.emulator.aml.service import AmlService

    try:
        service = AmlService.start(base / "aml-state")
    except AzuriteMissing as exc:
        typer.secho(f"\nAMLFS part skipped: {exc}", fg="yellow", err=True)
        return EXIT_OK
    try:
        fs = service.add(AmlSettings(name=FS_NAME, resource_group=group,
                                     subscription_id=subscription, root_dir=base / "lustre"))
        container = fs.container
        assert container is not None  # an HSM file system on a started service has one
        arm.aml = service
        written = _write(fs.root, files)
        typer.echo(f"\nAzure Managed Lustre: emulated file system {FS_NAME} (namespace "
                   f"{fs.root}), blob container {fs.settings.container} in Azurite at "
                   f"{service.azurite.url if service.azurite else '?'}; wrote {files} files")
        code = run(["amlfs", "archive", FS_NAME, "-g", group])
        if code == EXIT_INTERRUPTED:
            return code
        blobs = {b.name: b for b in container.list_blobs(include=["metadata"])}
        typer.echo(f"\ncontainer {fs.settings.container}: {len(blobs)} blobs, e.g.")
        for name in sorted(blobs)[:4]:
            b = blobs[name]
            typer.echo(f"  {name}  {b.size} bytes  {dict(sorted((b.metadata or {}).items()))}")
        bad = [rel for rel, data in written.items() if rel not in blobs
               or container.download_blob(rel).readall() != data
               or set(blobs[rel].metadata or {}) < {"owner", "group", "permissions", "modtime"}]
        if code or bad:
            typer.secho(f"AMLFS verification failed: {len(bad)} of {files} files differ in "
                        f"Blob (first: {bad[:3]}); archive exit code {code}", fg="red", err=True)
            return EXIT_SOME_FAILED
        typer.secho(f"verified: all {files} files are in the blob container, byte for byte, "
                    "with the copytool's metadata", fg="green")
        return EXIT_OK
    finally:
        arm.aml = None
        service.stop()
