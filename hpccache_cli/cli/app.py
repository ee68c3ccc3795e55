"""The ``hpccache`` Typer application.

Each command group lives in its own module under ``hpccache_cli.cli`` and exposes
``register(app)``. Modules are imported here, but every heavy import (the Azure SDK, rich,
asyncio servers) happens inside the command functions, so ``hpccache --help`` and
``hpccache --version`` stay fast.
"""

from __future__ import annotations

import importlib

import typer

from hpccache_cli import __version__
from hpccache_cli.cli.fast_params import PlainValuesGroup

# Command modules, in the order their groups appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "flush_cmd",
    "flush_file_cmd",
    "demo_cmd",
    "emulator_cmd",
    "path_cmd",
    "cache_cmd",
    "namespace_cmd",
    "target_cmd",
)

app = typer.Typer(
    name="hpccache",
    cls=PlainValuesGroup,  # no pydantic for plain values: start-up (see fast_params)
    help=(
        "Flush files from Azure HPC Cache to their storage targets, per file, by cache name "
        "and by the paths you see on your client.\n\n"
        "Example: hpccache flush --cache mycache -g myrg /NAS_12_exp5/result/output3.txt"
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hpccache {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Also show the log messages of the libraries used (Azure SDK, "
        "...), e.g. why a sign-in failed. Give it before the command: hpccache --debug ..."),
) -> None:
    """Flush files from Azure HPC Cache to their storage targets."""
    if debug:
        import logging

        from hpccache_cli.cli.runtime import show_library_logs

        show_library_logs(logging.DEBUG)


for _name in COMMAND_MODULES:
    importlib.import_module(f"hpccache_cli.cli.{_name}").register(app)


def main() -> None:
    """Console-script entry point: one-line usage errors, quiet library logs, and under
    TF_BUILD the logging-command guard (``hpccache_cli.cli.runtime``)."""
    from hpccache_cli.cli.runtime import run

    run(app)
