"""Loading the emulator config: every mistake is one clear line naming what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from emulator_support import put

from hpccache_cli.emulator.config import ConfigError, load_config

GOOD = """
[cache]
name = "c"
mount_addresses = ["127.0.0.11", "::1"]
[ports]
mount = 0
nfs = 0
[[storage_targets]]
name = "nas1"
backend_dir = "backend/nas1"
[[storage_targets.junctions]]
namespace_path = "/NAS_12_exp5/"
target_path = "sub/"
"""


def test_good_config_resolves_paths_and_normalizes(tmp_path: Path) -> None:
    cfg = load_config(put(tmp_path / "emu.toml", GOOD.replace('"sub/"', '"/sub/"')))
    (junction, target), = cfg.junctions()
    assert junction.namespace_path == "/NAS_12_exp5" and junction.target_path == "/sub"
    assert target.backend_dir == tmp_path / "backend/nas1"
    assert cfg.cache.cache_dir == tmp_path / "cache"
    assert cfg.source == tmp_path / "emu.toml"


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda t: t.replace('"sub/"', '"/sub/"') + "[nope]\n", "unknown key(s) in [top level]: nope"),
    (lambda t: t.replace('"sub/"', '"/sub/"').replace('name = "c"', 'nam = "c"'),
     "unknown key(s) in [cache]: nam"),
    (lambda t: t.replace('"sub/"', '"/sub/"').replace('"::1"', '"192.168.1.5"'),
     "not a loopback address"),
    (lambda t: t.replace('"sub/"', '"/sub/"').replace('"::1"', '"cache.example"'),
     "is not an IP address"),
    (lambda t: t.replace('"sub/"', '"/sub/"').replace('name = "nas1"\n', ""), "needs 'name'"),
    (lambda t: t.replace('"sub/"', '"/sub/"').replace('backend_dir = "backend/nas1"\n', ""),
     "needs 'backend_dir'"),
    (lambda t: t, "target_path must be an absolute path (starts with '/', no '..'), not 'sub/'"),
    (lambda t: t.replace('"/NAS_12_exp5/"', '"/a/../b"').replace('"sub/"', '"/"'),
     "must not contain '..'"),
    (lambda t: t.replace('"/NAS_12_exp5/"', '"/"').replace('"sub/"', '"/"'),
     "namespace_path must not be '/'"),
    (lambda t: t.replace('"sub/"', '"/"').replace('name = "nas1"', 'name = "nas1"\ntype = "s3"'),
     "type must be one of nfs3, blobNfs, clfs, not 's3'"),
    (lambda t: t.replace('"sub/"', '"/"') + "[writeback]\nparallel = 0\n",
     "parallel must be an integer from 1 to 65536, not 0"),
    (lambda t: t.replace('"sub/"', '"/"') + t[t.index("[[storage_targets]]"):].replace(
        '"nas1"', '"nas2"').replace('"sub/"', '"/"'), "is used by both nas1 and nas2"),
    (lambda t: t.replace("[cache]", "[cache"), "is not valid TOML"),
])
def test_config_errors_are_one_clear_line(tmp_path: Path, edit: object, expected: str) -> None:
    path = put(tmp_path / "emu.toml", edit(GOOD))  # type: ignore[operator]
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read emulator config .*missing.toml"):
        load_config(tmp_path / "missing.toml")
