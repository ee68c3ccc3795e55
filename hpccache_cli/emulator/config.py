"""The emulator's config file: one description of a cache, served over NFS and over fake ARM.

The file is TOML; every section, field, type, range and default is in docs/emulator-config.md
(``hpccache emulator init DIR`` writes a working sample). Each field below is declared with
its check (:mod:`hpccache_cli.emulator.config_fields`), so a wrong type or a value out of range
is one line naming the field and what is allowed, before anything starts.

The namespace path of a file is ``junction.namespace_path + rest``; its cache copy lives at
``cache_dir/<namespace path>`` and its back-end copy at ``backend_dir/<target_path>/<rest>``.
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpccache_cli.emulator.config_fields import (
    Check,
    ConfigError,
    build,
    check_keys,
    flag,
    integer,
    number,
    path,
    setting,
    strings,
    text,
)
from hpccache_cli.usage_models import USAGE_MODELS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["ConfigError", "EmulatorConfig", "config_from_dict", "load_config"]

TARGET_TYPES = ("nfs3", "blobNfs", "clfs")
PORT = integer(0, 65535, "0 = pick a free port")
#: Longest delay a fault may add or a write-back may take: an hour (tests want seconds).
HOUR_S = 3600


def _namespace_path(value: str) -> str:
    """An absolute namespace path, normalised (no '..', no empty or '.' parts)."""
    if not value.startswith("/"):
        raise ValueError(f"{value!r} must start with '/'")
    parts = [p for p in value.split("/") if p and p != "."]
    if ".." in parts:
        raise ValueError(f"{value!r} must not contain '..'")
    return "/" + "/".join(parts)


def _ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None
    return value


def _loopback(value: str) -> str:
    if not ipaddress.ip_address(_ip(value)).is_loopback:
        raise ValueError(
            f"{value} is not a loopback address: the emulator serves only on 127.0.0.0/8 or ::1"
        )
    return value


NAMESPACE_PATH = text(item=_namespace_path, doc="an absolute path (starts with '/', no '..')")
NAMESPACE_PATHS = strings(_namespace_path, "an absolute path")


@dataclass
class Junction:
    """One namespace path of the cache and where it lands on its storage target."""

    namespace_path: str = setting(NAMESPACE_PATH)
    nfs_export: str | None = setting(text(optional=True), None)
    target_path: str = setting(NAMESPACE_PATH, "/")


@dataclass
class StorageTarget:
    """A back end behind the cache, emulated by a local directory."""

    name: str = setting(text())
    backend_dir: Path = setting(path())
    type: str = setting(text(*TARGET_TYPES), "nfs3")
    usage_model: str | None = setting(text(*USAGE_MODELS, optional=True), "WRITE_WORKLOAD_15")
    write_back_delay_seconds: float = setting(number(-1, 10 * 365 * 86400, "-1 = never"), 3600.0)
    # How often a clean cache copy is compared with the back end (None: the usage model's
    # timer). A back-end change stays invisible until then, or until a READDIRPLUS of its
    # directory (emulator/verify.py). The API's limit for a verification timer is a year.
    verification_seconds: float | None = setting(
        Check("number", 0.001, 31_536_000, "seconds; default: the usage model's timer",
              optional=True), None)
    target: str = setting(text(), "127.0.0.1")
    junctions: list[Junction] = field(default_factory=list)


@dataclass
class Ports:
    """Where the emulator listens (on every mount address)."""

    portmap: int = setting(integer(0, 65535, "0 = no portmapper"), 11111)
    mount: int = setting(PORT, 0)
    nfs: int = setting(PORT, 0)
    arm: int = setting(integer(-1, 65535, "0 = pick a free port, -1 = no fake ARM"), 0)


@dataclass
class WriteBack:
    """How the emulated back end accepts write-backs."""

    per_file_seconds: float = setting(number(0, HOUR_S, "seconds"), 0.0)
    parallel: int = setting(integer(1, 65536), 64)


@dataclass
class Faults:
    """Knobs for tests, all off by default."""

    latency_ms: float = setting(number(0, HOUR_S * 1000, "milliseconds"), 0.0)
    jukebox_every: int = setting(integer(0, 2**31 - 1, "0 = never"), 0)
    drop_connection_every: int = setting(integer(0, 2**31 - 1, "0 = never"), 0)
    failing_paths: list[str] = setting(NAMESPACE_PATHS, [])
    denied_paths: list[str] = setting(NAMESPACE_PATHS, [])
    down_addresses: list[str] = setting(strings(_ip, "an IP address"), [])
    # COMMIT replies carry no wcc_data "after" attributes: a server that sends none (the
    # protocol allows it), to test that the client does not depend on them.
    bare_commit_replies: bool = setting(flag(), False)


@dataclass
class CacheInfo:
    """The cache as ARM describes it."""

    name: str = setting(text(), "emulated-cache")
    resource_group: str = setting(text(), "emulated-rg")
    subscription_id: str = setting(text(), "00000000-0000-0000-0000-000000000000")
    location: str = setting(text(), "eastus")
    sku: str = setting(text(), "Standard_2G")
    cache_size_gb: int = setting(integer(1, 1_000_000, "GB"), 3072)
    mount_addresses: list[str] = setting(
        strings(_loopback, "a loopback IP address"), ["127.0.0.1"]
    )
    cache_dir: Path = setting(path(), Path("cache"))


@dataclass
class EmulatorConfig:
    """Everything the emulator serves; see docs/emulator-config.md for the file format."""

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


#: Each section of the file and the dataclass that declares its fields (docs/emulator-config.md
#: has one table per entry).
SECTIONS: dict[str, type[Any]] = {
    "cache": CacheInfo,
    "ports": Ports,
    "writeback": WriteBack,
    "storage_targets": StorageTarget,
    "storage_targets.junctions": Junction,
    "faults": Faults,
}


def config_from_dict(data: dict[str, Any], base: Path) -> EmulatorConfig:
    """Build and validate a config from parsed TOML; relative paths resolve against ``base``."""
    check_keys("top level", data, {name for name in SECTIONS if "." not in name} | {"aml"})
    cache = build(CacheInfo, "cache", data.get("cache", {}), base)
    if "cache_dir" not in data.get("cache", {}):
        cache.cache_dir = (base / "cache").resolve()
    if not cache.mount_addresses:
        raise ConfigError("[cache] mount_addresses must list at least one loopback address")
    ports = build(Ports, "ports", data.get("ports", {}), base)
    writeback = build(WriteBack, "writeback", data.get("writeback", {}), base)
    faults = build(Faults, "faults", data.get("faults", {}), base)
    raw_targets = data.get("storage_targets", [])
    if not isinstance(raw_targets, list):
        raise ConfigError("storage_targets must be a list of tables: [[storage_targets]]")
    targets = [_target(i, raw, base) for i, raw in enumerate(raw_targets)]
    seen_ns: dict[str, str] = {}
    for target in targets:
        for junction in target.junctions:
            if junction.namespace_path in seen_ns:
                raise ConfigError(
                    f"namespace path {junction.namespace_path} is used by both "
                    f"{seen_ns[junction.namespace_path]} and {target.name}"
                )
            seen_ns[junction.namespace_path] = target.name
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise ConfigError("storage target names must be unique")
    aml = data.get("aml")
    if aml is not None and not isinstance(aml, dict):
        raise ConfigError("[aml] must be a table")
    return EmulatorConfig(cache, ports, writeback, targets, faults, aml=aml)


def _target(i: int, raw: Any, base: Path) -> StorageTarget:
    """Storage target number ``i`` with its junctions."""
    section = f"storage_targets[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"[{section}] must be a table")
    raw = dict(raw)
    raw_junctions = raw.pop("junctions", [])
    target: StorageTarget = build(StorageTarget, section, raw, base)
    if not isinstance(raw_junctions, list):
        raise ConfigError(f"{section}.junctions must be a list of tables: "
                          "[[storage_targets.junctions]]")
    for k, rj in enumerate(raw_junctions):
        jsec = f"{section}.junctions[{k}]"
        junction: Junction = build(Junction, jsec, rj, base)
        if junction.namespace_path == "/":
            raise ConfigError(f"[{jsec}] namespace_path must not be '/'")
        target.junctions.append(junction)
    return target


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
