"""The emulator's config file: one description of a cache, served over NFS and over fake ARM.

The file is TOML. Every key below is optional unless marked *required*; relative directories
are taken relative to the config file. Example (``hpccache emulator run --config demo.toml``)::

    [cache]
    name = "demo-cache"                  # what `--cache` names
    resource_group = "demo-rg"
    subscription_id = "00000000-0000-0000-0000-000000000000"
    location = "eastus"
    sku = "Standard_2G"
    cache_size_gb = 3072
    mount_addresses = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]   # loopback only
    cache_dir = "cache"                  # the cache's copy of every file (dirty data lives here)

    [ports]
    portmap = 11111                      # our portmapper (111 is often rpcbind's); 0 = none
    mount = 20048                        # 0 = pick a free port at start
    nfs = 2049                           # 0 = pick a free port at start
    arm = 0                              # fake ARM over HTTPS on 127.0.0.1; 0 = free port, -1 = off

    [writeback]
    per_file_seconds = 0.05              # time the back end takes to accept one file
    parallel = 64                        # write-backs running at once

    [[storage_targets]]
    name = "nas1"                        # *required*
    type = "nfs3"                        # nfs3 | blobNfs | clfs
    usage_model = "WRITE_WORKLOAD_15"    # see hpccache_cli.usage_models
    backend_dir = "backend/nas1"         # *required*: the storage target's own copy
    write_back_delay_seconds = 3600      # automatic write-back after the last change; <0 = never
    target = "127.0.0.1"                 # nfs3 host / blob URL shown by ARM (display only)

    [[storage_targets.junctions]]
    namespace_path = "/NAS_12_exp5"      # *required*: path clients see under the cache
    nfs_export = "/export5"              # export on the NFS back end (none for clfs)
    target_path = "/"                    # subdirectory of the export (and of backend_dir)

    [faults]                             # knobs for tests; all off by default
    latency_ms = 0                       # added to every NFS reply
    jukebox_every = 0                    # every Nth flush COMMIT answers NFS3ERR_JUKEBOX
    drop_connection_every = 0            # every Nth NFS call closes the connection instead
    failing_paths = []                   # namespace paths whose write-back never succeeds
    denied_paths = []                    # namespace paths whose LOOKUP answers NFS3ERR_ACCES
    down_addresses = []                  # mount addresses that refuse connections
    bare_commit_replies = false          # COMMIT replies without post-op attributes

The namespace path of a file is ``junction.namespace_path + rest``; its cache copy lives at
``cache_dir/<namespace path>`` and its back-end copy at ``backend_dir/<target_path>/<rest>``.
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

TARGET_TYPES = ("nfs3", "blobNfs", "clfs")


class ConfigError(ValueError):
    """The config file is missing, unreadable or describes something impossible."""


@dataclass
class Junction:
    """One namespace path of the cache and where it lands on its storage target."""

    namespace_path: str
    nfs_export: str | None = None
    target_path: str = "/"


@dataclass
class StorageTarget:
    """A back end behind the cache, emulated by a local directory."""

    name: str
    backend_dir: Path
    type: str = "nfs3"
    usage_model: str | None = "WRITE_WORKLOAD_15"
    write_back_delay_seconds: float = 3600.0
    target: str = "127.0.0.1"
    junctions: list[Junction] = field(default_factory=list)


@dataclass
class Ports:
    portmap: int = 11111
    mount: int = 0
    nfs: int = 0
    arm: int = 0


@dataclass
class WriteBack:
    per_file_seconds: float = 0.0
    parallel: int = 64


@dataclass
class Faults:
    latency_ms: float = 0.0
    jukebox_every: int = 0
    drop_connection_every: int = 0
    failing_paths: list[str] = field(default_factory=list)
    denied_paths: list[str] = field(default_factory=list)
    down_addresses: list[str] = field(default_factory=list)
    # COMMIT replies carry no wcc_data "after" attributes: a server that sends none (the
    # protocol allows it), to test that the client does not depend on them.
    bare_commit_replies: bool = False


@dataclass
class CacheInfo:
    name: str = "emulated-cache"
    resource_group: str = "emulated-rg"
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    location: str = "eastus"
    sku: str = "Standard_2G"
    cache_size_gb: int = 3072
    mount_addresses: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    cache_dir: Path = Path("cache")


@dataclass
class EmulatorConfig:
    """Everything the emulator serves; see the module docstring for the file format."""

    cache: CacheInfo
    ports: Ports = field(default_factory=Ports)
    writeback: WriteBack = field(default_factory=WriteBack)
    storage_targets: list[StorageTarget] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    source: Path | None = None
    # The raw [aml] table: checked and built by hpccache_cli.emulator.aml.config (AMLFS).
    aml: dict[str, Any] | None = None

    def junctions(self) -> list[tuple[Junction, StorageTarget]]:
        """All junctions with their targets, longest namespace path first."""
        pairs = [(j, t) for t in self.storage_targets for j in t.junctions]
        return sorted(pairs, key=lambda p: len(p[0].namespace_path), reverse=True)

    def target(self, name: str) -> StorageTarget | None:
        return next((t for t in self.storage_targets if t.name == name), None)


def _norm_ns(path: str, what: str) -> str:
    if not path.startswith("/"):
        raise ConfigError(f"{what} {path!r} must be an absolute path starting with '/'")
    parts = [p for p in path.split("/") if p and p != "."]
    if ".." in parts:
        raise ConfigError(f"{what} {path!r} must not contain '..'")
    return "/" + "/".join(parts)


def _check_keys(section: str, data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown key(s) in [{section}]: {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )


def _build(cls: type[Any], section: str, data: Any, base: Path, paths: tuple[str, ...] = ()) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"[{section}] must be a table")
    allowed = set(cls.__dataclass_fields__)
    _check_keys(section, data, allowed)
    values = dict(data)
    for key in paths:
        if key in values:
            values[key] = (base / str(values[key])).resolve()
    try:
        return cls(**values)
    except TypeError as exc:  # pragma: no cover - guarded by _check_keys
        raise ConfigError(f"[{section}]: {exc}") from None


def config_from_dict(data: dict[str, Any], base: Path) -> EmulatorConfig:
    """Build and validate a config from parsed TOML; relative paths resolve against ``base``."""
    _check_keys(
        "top level", data, {"cache", "ports", "writeback", "storage_targets", "faults", "aml"}
    )
    cache = _build(CacheInfo, "cache", data.get("cache", {}), base, ("cache_dir",))
    if "cache_dir" not in data.get("cache", {}):
        cache.cache_dir = (base / "cache").resolve()
    for addr in cache.mount_addresses:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            raise ConfigError(f"mount address {addr!r} is not an IP address") from None
        if not ip.is_loopback:
            raise ConfigError(
                f"mount address {addr} is not a loopback address: the emulator serves only on "
                "127.0.0.0/8 or ::1"
            )
    if not cache.mount_addresses:
        raise ConfigError("[cache] mount_addresses must list at least one loopback address")
    ports = _build(Ports, "ports", data.get("ports", {}), base)
    writeback = _build(WriteBack, "writeback", data.get("writeback", {}), base)
    if writeback.parallel < 1:
        raise ConfigError("[writeback] parallel must be at least 1")
    faults = _build(Faults, "faults", data.get("faults", {}), base)
    faults.failing_paths = [_norm_ns(p, "failing path") for p in faults.failing_paths]
    faults.denied_paths = [_norm_ns(p, "denied path") for p in faults.denied_paths]
    targets: list[StorageTarget] = []
    seen_ns: dict[str, str] = {}
    for i, raw in enumerate(data.get("storage_targets", [])):
        section = f"storage_targets[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"[{section}] must be a table")
        raw = dict(raw)
        raw_junctions = raw.pop("junctions", [])
        for key in ("name", "backend_dir"):
            if key not in raw:
                raise ConfigError(f"[{section}] needs '{key}'")
        target = _build(StorageTarget, section, raw, base, ("backend_dir",))
        if target.type not in TARGET_TYPES:
            raise ConfigError(
                f"[{section}] type {target.type!r} is not one of {', '.join(TARGET_TYPES)}"
            )
        for k, rj in enumerate(raw_junctions):
            jsec = f"{section}.junctions[{k}]"
            if not isinstance(rj, dict) or "namespace_path" not in rj:
                raise ConfigError(f"[{jsec}] needs 'namespace_path'")
            junction = _build(Junction, jsec, rj, base)
            junction.namespace_path = _norm_ns(junction.namespace_path, "namespace_path")
            junction.target_path = _norm_ns(junction.target_path or "/", "target_path")
            if junction.namespace_path == "/":
                raise ConfigError(f"[{jsec}] namespace_path must not be '/'")
            if junction.namespace_path in seen_ns:
                raise ConfigError(
                    f"namespace path {junction.namespace_path} is used by both "
                    f"{seen_ns[junction.namespace_path]} and {target.name}"
                )
            seen_ns[junction.namespace_path] = target.name
            target.junctions.append(junction)
        targets.append(target)
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise ConfigError("storage target names must be unique")
    aml = data.get("aml")
    if aml is not None and not isinstance(aml, dict):
        raise ConfigError("[aml] must be a table")
    return EmulatorConfig(cache, ports, writeback, targets, faults, aml=aml)


def load_config(path: str | Path) -> EmulatorConfig:
    """Read a config file; every problem becomes one ConfigError line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read emulator config {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    config = config_from_dict(data, path.parent.resolve())
    config.source = path.resolve()
    return config
