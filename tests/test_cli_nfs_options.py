"""The NFS connection options are declared once (``hpccache_cli.cli.nfs_options``) and read
the same in ``hpccache flush`` and ``hpccache flush-file``: same flags, environment variables,
help and panel, and the same one-line error for a bad value, from either the flag or its
environment variable. Checked on the real Typer app; no network is involved (a bad value is
refused before any connection)."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from hpccache_cli.cli.app import app
from hpccache_cli.cli.nfs_options import OPTIONS, PANEL

SHARED = [name for name, _, _ in OPTIONS]


def _params(command: str) -> dict[str, tuple[object, ...]]:
    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    return {p.name: (tuple(p.opts), p.envvar, p.help, p.default,
                     getattr(p, "rich_help_panel", None))
            for p in cmd.params if p.name in SHARED}


def test_flush_and_flush_file_declare_the_same_connection_options() -> None:
    flush, flush_file = _params("flush"), _params("flush-file")
    assert sorted(flush) == sorted(SHARED)
    assert flush == flush_file
    assert {p[4] for p in flush.values()} == {PANEL}
    assert flush["nfs_port"][:2] == (("--nfs-port",), "HPCCACHE_NFS_PORT")


def test_a_bad_value_is_one_line_and_exit_2_in_both_commands() -> None:
    runner = CliRunner()
    runs = {
        "flush flag": (["flush", "--ip", "127.0.0.1", "--export", "/j", "--uid", "-1", "a"], {}),
        "flush-file flag": (["flush-file", "/j", "127.0.0.1", "--uid", "-1"], {}),
        "flush env": (["flush", "--ip", "127.0.0.1", "--export", "/j", "a"],
                      {"HPCCACHE_NFS_PORT": "70000"}),
        "flush-file env": (["flush-file", "/j", "127.0.0.1"], {"HPCCACHE_NFS_PORT": "70000"}),
    }
    for label, (args, env) in runs.items():
        result = runner.invoke(app, args, env={"HPCCACHE_NFS_PORT": None, **env}, input="")
        assert result.exit_code == 2, (label, result.output)
        lines = [x for x in result.output.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("hpccache: error: --"), (label, lines)
        want = "--uid must be between 0" if "flag" in label else "--nfs-port must be between 1"
        assert want in lines[0], (label, lines)
