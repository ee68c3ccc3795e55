"""The ``[aml]`` section of the emulator's config: one Azure Managed Lustre file system.

Kept apart from :mod:`hpccache_cli.emulator.config` (which only carries the raw table) so the
HPC Cache parts do not change when AMLFS grows. Every value is typed and range-checked here;
a wrong one is one :class:`~hpccache_cli.emulator.config.ConfigError` line. Example::

    [aml]
    name = "demo-amlfs"                  # what `hpccache amlfs ... -n` names
    resource_group = "demo-rg"
    location = "eastus"
    root_dir = "lustre"                  # the "Lustre namespace": a local directory tree
    container = "amlfs-data"             # the Azurite container HSM archives into
    hsm = true                           # false: a file system without HSM settings
    import_prefixes_initial = ["/"]

    [aml.faults]                         # all off by default
    scan_seconds = 0.0                   # time a job spends scanning before it copies
    per_file_seconds = 0.0               # time one file (or blob) takes: slowness
    fail_jobs = false                    # jobs start, then end Failed (the LRO succeeded)
    error_paths = []                     # paths (relative to the root) whose copy fails
    percent_as_float = false             # percentComplete sent as 100.0, as the live service
    missing_status_gets = 0              # the first N job GETs carry no `status`
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hpccache_cli.emulator.config import ConfigError

#: ARM's rule for file system and job names (the spec's pattern).
NAME_RE = re.compile(r"^[0-9a-zA-Z][-0-9a-zA-Z_]{0,78}[0-9a-zA-Z]$")
#: Azure's container naming rule (lower case, digits, single hyphens, 3-63 characters).
CONTAINER_RE = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
MAX_SECONDS = 3600.0


@dataclass
class AmlFaults:
    """Knobs for tests and the demo; tests may change the live copy (``AmlFilesystem.faults``)."""

    scan_seconds: float = 0.0
    per_file_seconds: float = 0.0
    fail_jobs: bool = False
    error_paths: list[str] = field(default_factory=list)
    percent_as_float: bool = False
    missing_status_gets: int = 0


@dataclass
class AmlSettings:
    """One emulated AMLFS: its ARM identity, its namespace directory and its blob container."""

    name: str = "emulated-amlfs"
    resource_group: str = "emulated-rg"
    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    location: str = "eastus"
    root_dir: Path = Path("lustre")
    container: str = "amlfs-data"
    logging_container: str = "amlfs-logs"
    storage_account: str = "devstoreaccount1"
    hsm: bool = True
    import_prefixes_initial: list[str] = field(default_factory=lambda: ["/"])
    faults: AmlFaults = field(default_factory=AmlFaults)


def _typed(section: str, key: str, value: Any, want: type) -> Any:
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if want is Path and isinstance(value, str):
        return value
    ok = isinstance(value, want) and not (want is not bool and isinstance(value, bool))
    if not ok:
        raise ConfigError(f"[{section}] {key} must be a {want.__name__}, not {value!r}")
    return value


def _strings(section: str, key: str, value: Any, limit: int = 100) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"[{section}] {key} must be a list of strings")
    if len(value) > limit:
        raise ConfigError(f"[{section}] {key} has {len(value)} entries; at most {limit}")
    return list(value)


def _norm_rel(path: str, what: str) -> str:
    parts = [p for p in path.split("/") if p and p != "."]
    if ".." in parts:
        raise ConfigError(f"{what} {path!r} must not contain '..'")
    return "/".join(parts)


def faults_from_dict(data: Any) -> AmlFaults:
    section = "aml.faults"
    if not isinstance(data, dict):
        raise ConfigError(f"[{section}] must be a table")
    kinds = {f.name: f for f in fields(AmlFaults)}
    unknown = sorted(set(data) - set(kinds))
    if unknown:
        raise ConfigError(f"unknown key(s) in [{section}]: {', '.join(unknown)} "
                          f"(allowed: {', '.join(sorted(kinds))})")
    out = AmlFaults()
    for key, value in data.items():
        if key == "error_paths":
            out.error_paths = [_norm_rel(p, "error path") for p in _strings(section, key, value)]
            continue
        want = {"bool": bool, "float": float, "int": int}[str(kinds[key].type)]
        value = _typed(section, key, value, want)
        if want is float and not 0.0 <= value <= MAX_SECONDS:
            raise ConfigError(f"[{section}] {key} must be between 0 and {MAX_SECONDS:g} seconds")
        if want is int and not 0 <= value <= 1_000_000:
            raise ConfigError(f"[{section}] {key} must be between 0 and 1000000")
        setattr(out, key, value)
    return out


def aml_from_dict(data: Any, base: Path) -> AmlSettings:
    """Build and check the ``[aml]`` table; relative ``root_dir`` resolves against ``base``."""
    if not isinstance(data, dict):
        raise ConfigError("[aml] must be a table")
    kinds = {f.name: f for f in fields(AmlSettings)}
    unknown = sorted(set(data) - set(kinds))
    if unknown:
        raise ConfigError(f"unknown key(s) in [aml]: {', '.join(unknown)} "
                          f"(allowed: {', '.join(sorted(kinds))})")
    out = AmlSettings()
    for key, value in data.items():
        if key == "faults":
            out.faults = faults_from_dict(value)
        elif key == "import_prefixes_initial":
            out.import_prefixes_initial = _strings("aml", key, value)
        elif key == "hsm":
            out.hsm = _typed("aml", key, value, bool)
        elif key == "root_dir":
            out.root_dir = (base / str(_typed("aml", key, value, Path))).resolve()
        else:
            setattr(out, key, _typed("aml", key, value, str))
    if "root_dir" not in data:
        out.root_dir = (base / "lustre").resolve()
    if not NAME_RE.match(out.name):
        raise ConfigError(f"[aml] name {out.name!r} is not a valid AMLFS name (2-80 letters, "
                          "digits, '-' or '_', starting and ending with a letter or digit)")
    for key in ("container", "logging_container"):
        if not CONTAINER_RE.match(getattr(out, key)):
            raise ConfigError(f"[aml] {key} {getattr(out, key)!r} is not a valid blob container "
                              "name (3-63 lower-case letters, digits and single hyphens)")
    return out
