"""The ``hpccache`` Typer application.

Each command lives in its own module under ``hpccache_cli.cli`` exposing ``register(app)``,
and is listed in :data:`COMMANDS` (name, module, short help). The root group imports and
builds only the command that runs (:mod:`hpccache_cli.cli.lazy_group`): ``hpccache --help``
imports no command module, ``hpccache flush-file`` only ``flush_file_cmd``. Heavy imports (the
Azure SDK, rich, asyncio servers) still go inside the command functions.
"""

from __future__ import annotations

import typer

from hpccache_cli import __version__
from hpccache_cli.cli.lazy_group import CommandEntry, LazyGroup

#: The commands, in the order ``hpccache --help`` lists them. tests/test_cli_startup.py checks
#: each row against what its module registers (name, and the first sentence of its help).
COMMANDS: tuple[CommandEntry, ...] = (
    CommandEntry("flush", "flush_cmd",
                 "Flush files from the cache to their storage target now, and account for "
                 "each one."),
    CommandEntry("refresh", "refresh_cmd",
                 "Make the cache compare its copies with the storage target now (back-end "
                 "verification on demand)."),
    CommandEntry("copy", "copy_cmd",
                 "Copy files into the cache in parallel, through every mount address, and "
                 "write them back to the storage target."),
    CommandEntry("flush-file", "flush_file_cmd",
                 "Drop-in replacement for flush_file.py: flush the files named on stdin."),
    CommandEntry("demo", "demo_cmd",
                 "Run the main job against the built-in emulator, then verify the storage "
                 "targets."),
    CommandEntry("path", "path_cmd",
                 "Show where client paths are in the cache namespace and on the back-end "
                 "storage."),
    CommandEntry("namespace", "namespace_cmd",
                 "Show the cache's namespace: one row per junction with its target and usage "
                 "model."),
    CommandEntry("emulator", "emulator_cmd",
                 "Run a local HPC Cache emulator (NFSv3 with the flush protocol) on loopback."),
    CommandEntry("cache", "cache_cmd",
                 "List, show and flush HPC caches (Azure Resource Manager)."),
    CommandEntry("target", "target_cmd",
                 "List, show, flush, suspend, resume and invalidate storage targets."),
    CommandEntry("amlfs", "amlfs_cmd",
                 "List and show Azure Managed Lustre file systems; archive to Blob and run "
                 "import and auto-export/auto-import jobs, with waits that follow the job's own "
                 "state."),
    CommandEntry("usage-models", "usage_models_cmd", "List the usage models of a subscription."),
)


class RootGroup(LazyGroup):
    """``hpccache``: the commands of :data:`COMMANDS`, each built when it is used."""

    table = COMMANDS


app = typer.Typer(
    name="hpccache",
    cls=RootGroup,
    help=(
        "Flush files from Azure HPC Cache to their storage targets, per file, by cache name "
        "and by the paths you see on your client.\n\n"
        "Example: hpccache flush --cache mycache -g myrg /NAS_12_exp5/result/output3.txt"
    ),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # Click's plain help: no Rich import (see lazy_group)
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
        False, "--debug", help="Show the log of the libraries used on stderr (each Azure "
        "Resource Manager request and response, tokens redacted; why a sign-in failed). The "
        "same as a command's own --debug; before the command it works for every command."),
) -> None:
    """Flush files from Azure HPC Cache to their storage targets."""
    if debug:
        from hpccache_cli.cli import az_logging

        az_logging.request_debug()


def main() -> None:
    """Console-script entry point: one-line usage errors, quiet library logs, and under
    TF_BUILD the logging-command guard (``hpccache_cli.cli.runtime``)."""
    from hpccache_cli.cli.runtime import run

    run(app)
