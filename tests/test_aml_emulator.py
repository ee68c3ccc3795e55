"""The emulator's AMLFS side on its own: the ``[aml]`` config (typed, range-checked, one line
per mistake), and Azurite's life (a free port, stopped with the service)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aml_support import start_service

from hpccache_cli.emulator.aml.config import aml_from_dict
from hpccache_cli.emulator.config import ConfigError, config_from_dict


def test_an_aml_table_builds_typed_settings(tmp_path: Path) -> None:
    s = aml_from_dict({"name": "fs-1", "root_dir": "lus", "hsm": False,
                       "faults": {"per_file_seconds": 1, "error_paths": ["/a/b/"],
                                  "missing_status_gets": 2}}, tmp_path)
    assert s.root_dir == (tmp_path / "lus").resolve() and s.hsm is False
    assert s.faults.per_file_seconds == 1.0 and s.faults.error_paths == ["a/b"]
    cfg = config_from_dict({"aml": {"name": "x1"}}, tmp_path)
    assert cfg.aml == {"name": "x1"}


@pytest.mark.parametrize(("table", "message"), [
    ({"hsm": "yes"}, "[aml] hsm must be a bool"),
    ({"name": "-bad"}, "not a valid AMLFS name"),
    ({"container": "Upper_Case"}, "not a valid blob container name"),
    ({"colour": "red"}, "unknown key(s) in [aml]: colour"),
    ({"faults": {"per_file_seconds": -1}}, "between 0 and 3600 seconds"),
    ({"faults": {"per_file_seconds": True}}, "must be a float"),
    ({"faults": {"missing_status_gets": 10**9}}, "between 0 and 1000000"),
    ({"faults": {"error_paths": ["../x"]}}, "must not contain '..'"),
    ({"import_prefixes_initial": "/"}, "must be a list of strings"),
])
def test_a_wrong_aml_value_is_one_clear_line(tmp_path: Path, table: dict[str, Any],
                                             message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        aml_from_dict(table, tmp_path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_aml_must_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[aml\] must be a table"):
        config_from_dict({"aml": 3}, tmp_path)


def test_azurite_listens_on_a_free_loopback_port_and_stops_with_the_service(
        tmp_path: Path) -> None:
    service = start_service(tmp_path)
    azurite = service.azurite
    assert azurite is not None and azurite.url.startswith("http://127.0.0.1:")
    assert not azurite.url.endswith(":10000")  # never the fixed default every Azurite uses
    proc = azurite._proc
    assert proc is not None and proc.poll() is None
    service.stop()
    assert proc.wait(timeout=10) is not None  # stopped, not orphaned
