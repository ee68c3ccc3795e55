"""The ``hpccache`` console script: answers ``--version`` before importing anything.

``hpccache --version`` is what install checks, wrappers and Slurm prologues call, sometimes
once per job; building the Typer application (Typer, its bundled Click, every command
module) costs more than the answer. Every other command line goes to the application
unchanged (:func:`hpccache_cli.cli.app.main`), which prints the same line for ``--version``.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:] == ["--version"]:
        from hpccache_cli import __version__

        sys.stdout.write(f"hpccache {__version__}\n")
        return
    from hpccache_cli.cli.app import main as app_main

    app_main()
