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


def test_emulator_run_serves_the_aml_table_with_azurite(tmp_path: Path) -> None:
    """``hpccache emulator run`` with ``[aml]``: the banner names the file system and Azurite,
    and ``hpccache amlfs archive`` against it puts the file into Azurite."""
    import os
    import signal
    import subprocess
    import sys

    from azure.storage.blob import ContainerClient
    from test_emulator_cli import read_until_ready

    from hpccache_cli.emulator.aml.azurite import connection_string

    start_service(tmp_path / "probe").stop()  # Azurite installed (else skip / fail)
    config = tmp_path / "emu.toml"
    config.write_text('[cache]\nname = "c1"\nresource_group = "rg1"\n'
                      'mount_addresses = ["127.0.0.1"]\n[ports]\nportmap = 0\n'
                      '[aml]\nname = "fsx"\nresource_group = "rg1"\ncontainer = "data"\n')
    (tmp_path / "lustre" / "d").mkdir(parents=True)
    (tmp_path / "lustre" / "d" / "f.txt").write_bytes(b"from the emulated lustre\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "hpccache_cli", "emulator", "run",
                             "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = read_until_ready(proc, timeout=60)
        text = "\n".join(lines)
        assert "Azure Managed Lustre: fsx (resource group rg1)" in text
        url = next(w for line in lines if "Azurite (blob back end)" in line
                   for w in line.split() if w.startswith("http://127.0.0.1:")).rstrip(",")
        import shlex

        values = dict(shlex.split(line)[1].split("=", 1) for line in lines
                      if line.startswith("export "))  # the banner is a shell script
        client_env = {**env, **values, "XDG_CACHE_HOME": str(tmp_path / "xdg"),
                      "HPCCACHE_POLL_INTERVAL": "0.2"}
        done = subprocess.run([sys.executable, "-m", "hpccache_cli", "amlfs", "archive", "fsx",
                               "-g", "rg1"], capture_output=True, text=True, env=client_env,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        container = ContainerClient.from_connection_string(connection_string(url), "data")
        assert container.download_blob("d/f.txt").readall() == b"from the emulated lustre\n"
        container.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_missing_azurite_fails_when_peers_are_required(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Under HPCCACHE_REQUIRE_PEERS=1 (CI) a missing Azurite is a failure, not a skip."""
    from hpccache_cli.emulator.aml.azurite import AzuriteMissing, find_azurite

    empty = tmp_path / "no-azurite"
    with pytest.raises(AzuriteMissing, match=f"not installed in {empty}.*npm install"):
        find_azurite(empty)
    monkeypatch.setenv("HPCCACHE_REQUIRE_PEERS", "1")
    with pytest.raises(pytest.fail.Exception, match="peer required"):
        start_service(tmp_path, prefix=empty)
