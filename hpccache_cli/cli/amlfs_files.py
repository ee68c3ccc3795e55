"""The per-file ``hpccache amlfs`` commands (issue #23): ``state`` and ``export``, registered
on the ``amlfs`` group by one call, so the group's own module stays as it was."""

from __future__ import annotations

import typer


def add_file_commands(app: typer.Typer) -> None:
    from hpccache_cli.cli.amlfs_export import register_export
    from hpccache_cli.cli.amlfs_state import register_state

    register_state(app)
    register_export(app)
