"""``hpccache emulator``: a local stand-in for an HPC Cache, for demos, tests and benchmarks.

``run`` serves a config file's cache (see ``hpccache_cli.emulator.config``) in the foreground
and prints everything a client needs to reach it; ``init`` writes a ready-to-run sample.
The asyncio server is imported inside the commands so ``hpccache --help`` stays fast.

What ``run`` prints is a shell script: prose as ``#`` comments, the client environment as
``export KEY=VALUE`` lines (values quoted for the shell), so its output, saved or captured,
can be sourced as it is. ``--env-file FILE`` writes just the export block, once the emulator
is ready (atomically: a script that waits for the file never reads half of it), and removes
it when the emulator stops, since its ports die with the run. ``--mountinfo FILE`` writes a
mount table in ``/proc/self/mountinfo`` format that shows the cache's namespace root mounted
from its first mount address on ``/mnt/CACHE``, so client-path mode (``hpccache flush
--mountinfo FILE /mnt/CACHE/JUNCTION/...``) can be tried with no real NFS mount.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from hpccache_cli.cli.common import reports_errors
from hpccache_cli.errors import UsageError

if TYPE_CHECKING:
    from hpccache_cli.emulator.config import EmulatorConfig
    from hpccache_cli.emulator.server import Emulator

READY_LINE = "# hpccache emulator: ready (Ctrl-C to stop)"
STOPPED_LINE = "# hpccache emulator: stopped"
SAMPLE_CONFIG = """\
# HPC Cache emulator config, written by `hpccache emulator init`.
# Run it with:  hpccache emulator run --config {config}
# Format: docs/emulator-config.md (every section and field, type, range, default).

[cache]
name = "demo-cache"
resource_group = "demo-rg"
mount_addresses = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]   # loopback only
cache_dir = "cache"                  # the cache's copies; files differing from backend = dirty

[ports]
portmap = 11111                      # 0 = no portmapper
mount = 12048                        # 0 = a free port (printed at start)
nfs = 12049

[writeback]
per_file_seconds = 0.05              # time the back end takes per file
parallel = 64

[[storage_targets]]
name = "nas1"
type = "nfs3"
usage_model = "WRITE_WORKLOAD_15"
backend_dir = "backend/nas1"
write_back_delay_seconds = 3600      # automatic write-back an hour after the last change
target = "127.0.0.1"

[[storage_targets.junctions]]
namespace_path = "/NAS_12_exp5"
nfs_export = "/export5"
target_path = "/"

[[storage_targets]]
name = "blob1"
type = "clfs"
backend_dir = "backend/blob1"

[[storage_targets.junctions]]
namespace_path = "/blob/projects"
target_path = "/"

[[storage_targets]]
name = "archive"
type = "nfs3"
usage_model = "READ_HEAVY_INFREQ"    # does not cache writes: never anything to flush
backend_dir = "backend/archive"

[[storage_targets.junctions]]
namespace_path = "/archive"
nfs_export = "/archive"

[faults]
latency_ms = 0
"""
SAMPLE_FILES = {
    "backend/nas1/hello.txt": "hello from the storage target\n",
    "backend/nas1/results/run1.csv": "step,value\n1,0.5\n",
    "cache/NAS_12_exp5/results/run1.csv": "step,value\n1,0.5\n2,0.75\n",  # dirty: newer
    "cache/NAS_12_exp5/new-file.txt": "written through the cache, not yet on the target\n",
    "backend/blob1/readme.txt": "blob storage target\n",
    "cache/blob/projects/model.bin": "dirty blob data\n",
    "backend/archive/old.txt": "archived\n",
}


emulator_app = typer.Typer(
    name="emulator",
    help="Run a local HPC Cache emulator (NFSv3 with the flush protocol) on loopback.\n\n"
    "Example: hpccache emulator init ./emu && hpccache emulator run --config "
    "./emu/emulator.toml",
    no_args_is_help=True,
)


@emulator_app.command("run")
@reports_errors
def run_emulator(
    config: Path = typer.Option(
        ..., "--config", "-c", help="Emulator config (TOML; every field, type and range in "
        "docs/emulator-config.md); `hpccache emulator init DIR` writes a sample."
    ),
    env_file: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--env-file", metavar="FILE",
        help="Also write the client environment (export lines) to FILE once the emulator "
        "is ready; removed when it stops. Source it: . FILE"),
    mountinfo: Optional[Path] = typer.Option(  # noqa: UP045
        None, "--mountinfo", metavar="FILE",
        help="Write a mount table (mountinfo format) showing the cache's namespace on "
        "/mnt/CACHE, for client paths: hpccache flush --mountinfo FILE /mnt/CACHE/..."),
) -> None:
    """Serve the emulated cache in the foreground until Ctrl-C or SIGTERM.

    The output is a shell script: prose lines are # comments and the client environment is
    export lines, so a saved copy can be sourced (. FILE); --env-file FILE writes the
    export lines alone once the emulator is ready.

    Example: hpccache emulator run --config ./emu/emulator.toml --env-file ./emu/env.sh
    --mountinfo ./emu/mountinfo
    """
    import asyncio

    from hpccache_cli.emulator.config import ConfigError, load_config

    try:
        cfg = load_config(config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    asyncio.run(_serve(cfg, env_file, mountinfo))


@emulator_app.command("init")
@reports_errors
def init_emulator(
    directory: Path = typer.Argument(..., help="Directory for the config and sample data."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing config."),
) -> None:
    """Write a ready-to-run sample config with a few junctions and some dirty files.

    Example: hpccache emulator init ./emu
    """
    config = write_sample(directory, force)
    typer.echo(f"wrote {config}")
    typer.echo(f"run it with: hpccache emulator run --config {config}")



def register(app: typer.Typer) -> None:
    """Add ``hpccache emulator`` (its commands are the module-level functions above)."""
    app.add_typer(emulator_app, name="emulator")


def write_sample(directory: Path, force: bool = False) -> Path:
    """Create ``directory/emulator.toml`` and its sample back-end and cache files."""
    config = directory / "emulator.toml"
    if config.exists() and not force:
        raise UsageError(f"{config} already exists (use --force to overwrite it)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for rel, text in SAMPLE_FILES.items():
            path = directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (directory / "backend/archive").mkdir(parents=True, exist_ok=True)
        config.write_text(SAMPLE_CONFIG.format(config=config), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the sample into {directory}: {exc.strerror}") from None
    return config


async def _start_fake_arm(cfg: EmulatorConfig, emulator: Emulator) -> Any:
    """Start the fake ARM over HTTPS, acting on this emulator's namespace.

    Serves ``cfg`` on 127.0.0.1:``cfg.ports.arm`` (0 = free port, -1 = off, returning None);
    the returned object has ``lines()`` (URL, CA file, client environment) and ``async stop()``.
    """
    from hpccache_cli.emulator.arm import start_fake_arm

    return await start_fake_arm(cfg, emulator.namespace)


def client_env(emulator: Emulator, arm: Any = None) -> dict[str, str]:
    """The environment a client needs: the emulator's ports and, with the fake ARM, its
    endpoint, CA file and token."""
    p = emulator.ports
    env = {"HPCCACHE_PORTMAP_PORT": str(p.portmap)} if p.portmap else {}
    env.update(HPCCACHE_MOUNT_PORT=str(p.mount), HPCCACHE_NFS_PORT=str(p.nfs))
    if arm is not None:
        env.update(arm.arm.client_env())
    return env


def export_lines(env: dict[str, str]) -> list[str]:
    """``export KEY=VALUE`` lines, each value quoted for POSIX shells."""
    import shlex

    return [f"export {key}={shlex.quote(value)}" for key, value in env.items()]


def mount_point(cfg: EmulatorConfig) -> str:
    """Where the ``--mountinfo`` table shows the cache's namespace root."""
    return f"/mnt/{cfg.cache.name}"


def mountinfo_text(cfg: EmulatorConfig) -> str:
    """A client's mount table: an ext4 root and the cache's namespace root (NFSv3) mounted
    from its first mount address; names escaped as the kernel writes them."""
    def esc(text: str) -> str:
        for ch in "\\ \t\n":
            text = text.replace(ch, f"\\{ord(ch):03o}")
        return text

    ip = cfg.cache.mount_addresses[0]
    host = f"[{ip}]" if ":" in ip else ip
    return ("1 0 8:1 / / rw,relatime - ext4 /dev/root rw\n"
            f"40 1 0:40 / {esc(mount_point(cfg))} rw,relatime - nfs {host}:/ "
            f"rw,vers=3,proto=tcp,sec=sys,addr={ip}\n")


def banner(cfg: EmulatorConfig, emulator: Emulator, arm: Any = None,
           mountinfo: Path | None = None, aml: list[str] | None = None) -> list[str]:
    """What ``run`` prints: a shell script (prose as comments, the environment as exports)
    saying what is served and how a client reaches it."""
    from hpccache_cli import usage_models

    p = emulator.ports
    c = cfg.cache
    down = emulator.faults.down_addresses
    lines = [
        f"hpccache emulator: cache {c.name} (resource group {c.resource_group})",
        "  mount addresses: " + ", ".join(c.mount_addresses)
        + (f" (down: {', '.join(down)})" if down else ""),
        f"  ports: portmap {p.portmap or 'off'}, mount {p.mount}, nfs {p.nfs}",
        f"  cache copies: {c.cache_dir}",
    ]
    for junction, target in sorted(cfg.junctions(), key=lambda jt: jt[0].namespace_path):
        model = usage_models.lookup(target.usage_model, target.type)
        lines.append(
            f"  junction {junction.namespace_path} -> storage target {target.name} "
            f"({target.type}, {model.name}{'' if model.caches_writes else ', no write caching'})"
            f": {target.backend_dir}{'' if junction.target_path == '/' else junction.target_path}"
        )
    lines += aml or []  # the Azure Managed Lustre file system, when [aml] serves one
    if arm is not None:
        lines.append(f"  fake ARM: {arm.arm.url} (Microsoft.StorageCache API, CA file "
                     f"{arm.arm.ca_file}; the token is the emulator's own, not an Azure "
                     "credential)")
    lines.append("environment for clients (this output is a shell script: source a saved "
                 "copy, or use --env-file FILE):")
    out = [f"# {line}" for line in lines] + export_lines(client_env(emulator, arm))
    junctions = sorted(j.namespace_path for j, _ in cfg.junctions())
    if junctions:
        ip = c.mount_addresses[0]
        table = str(mountinfo) if mountinfo else "FILE"
        out += [
            "# try:",
            f"#   hpccache flush --ip {ip} --export {junctions[0]} <path inside the junction>",
            f"#   hpccache flush --mountinfo {table} {mount_point(cfg)}{junctions[0]}/<path>"
            + ("" if mountinfo else "   (run with --mountinfo FILE to write that table)"),
            f"#   nfs-ls 'nfs://{ip}{junctions[0]}?version=3&nfsport={p.nfs}&mountport={p.mount}'",
        ]
    return out


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it: a reader waiting
    for the file sees all of it or none. An unwritable path is a UsageError (exit 2)."""
    import os

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _start_aml(cfg: EmulatorConfig, arm: Any) -> Any:
    """The ``[aml]`` file system behind the fake ARM (Azurite started): (service, fs)."""
    from pathlib import Path

    from hpccache_cli.emulator.aml.azurite import AzuriteMissing
    from hpccache_cli.emulator.aml.service import serve_from_config
    from hpccache_cli.emulator.config import ConfigError

    assert cfg.aml is not None
    base = cfg.source.parent if cfg.source is not None else Path.cwd()
    table = {"subscription_id": cfg.cache.subscription_id, **cfg.aml}
    try:
        service, fs = serve_from_config(table, base)
    except (ConfigError, AzuriteMissing) as exc:
        raise UsageError(str(exc)) from None
    arm.aml = service
    return service, fs


async def _serve(cfg: EmulatorConfig, env_file: Path | None = None,
                 mountinfo: Path | None = None) -> None:
    import asyncio
    import signal

    from hpccache_cli.emulator.server import Emulator, EmulatorError

    if env_file is not None:
        env_file.unlink(missing_ok=True)  # a killed run's file: its ports are gone
    emulator = Emulator(cfg)
    try:
        await emulator.start()
    except EmulatorError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(
            f"cannot listen on the mount addresses {', '.join(cfg.cache.mount_addresses)}: "
            f"{exc.strerror or exc} (on macOS, add loopback aliases first: "
            "sudo ifconfig lo0 alias 127.0.0.11)"
        ) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    arm = None
    aml = None
    try:
        arm = await _start_fake_arm(cfg, emulator)
        if cfg.aml is not None and arm is not None:
            aml = await asyncio.to_thread(_start_aml, cfg, arm.arm)
        aml_lines = None
        if aml is not None:
            from hpccache_cli.emulator.aml.service import banner_lines

            aml_lines = banner_lines(*aml)
        if mountinfo is not None:
            write_atomically(mountinfo, mountinfo_text(cfg))
        if env_file is not None:
            write_atomically(env_file, "\n".join([
                f"# hpccache emulator: cache {cfg.cache.name}; source this file: . {env_file}",
                *export_lines(client_env(emulator, arm))]) + "\n")
        for line in banner(cfg, emulator, arm, mountinfo, aml_lines):
            print(line, flush=True)
        print(READY_LINE, flush=True)
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        if aml is not None:
            await asyncio.to_thread(aml[0].stop)
        if env_file is not None:
            env_file.unlink(missing_ok=True)
        if arm is not None:
            await arm.stop()
        await emulator.stop()
    print(STOPPED_LINE, flush=True)
