"""Options and values the ``hpccache amlfs`` command modules share, declared once.

A leaf of the command: the modules import these at module level (Typer reads the types of
the command functions' parameters, so the enums must be module globals where they are used).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import typer

from hpccache_cli.control.defaults import DEFAULT_OPERATION_TIMEOUT

RG_OPTION = typer.Option(
    None, "--resource-group", "-g",
    help="Resource group of the file system (default: AZURE_DEFAULTS_GROUP or the Azure CLI's "
    "defaults.group setting).", show_default=False)
FS_ARG = typer.Argument(None, metavar="FILESYSTEM",
                        help="File system name, or its full resource id.", show_default=False)
NAME_OPTION = typer.Option(None, "--name", "-n", "--amlfs-name",
                           help="File system name (as in az amlfs).", show_default=False)
IDS_OPTION = typer.Option(
    None, "--ids", metavar="ID", show_default=False,
    help="One or more file system resource ids (space-separated, as in az), instead of a name "
    "and -g.")
TIMEOUT_OPTION = typer.Option(
    DEFAULT_OPERATION_TIMEOUT, "--timeout", metavar="SECONDS",
    help="Give up waiting after this long: the job goes on in Azure, the command exits 3 "
    "saying how to show or cancel it.")
EXIT_CODES = ("Exit codes: 0 Completed; 1 CompletedPartial (some files failed: the counts and "
              "Azure's reason are printed); 2 bad usage; 3 Failed, Canceled, refused (no HSM "
              "settings, another job running), an Azure error, or --timeout passed (the job "
              "goes on); 130 interrupted (the job goes on).")



class ConflictMode(str, Enum):
    Fail = "Fail"
    Skip = "Skip"
    OverwriteIfDirty = "OverwriteIfDirty"
    OverwriteAlways = "OverwriteAlways"


class AdminStatus(str, Enum):
    Enable = "Enable"
    Disable = "Disable"


FS_OPTION = typer.Option(None, "--amlfs-name", "--aml-filesystem-name",
                         help="The file system the job belongs to.", show_default=False)
JOB_IDS_OPTION = typer.Option(None, "--ids", metavar="ID", show_default=False,
                              help="One or more job resource ids, instead of -n, --amlfs-name "
                          "and -g.")
QUEUE_OPTION = typer.Option(
    False, "--queue", help="If another blob-integration job is running, wait for it to end "
    "(bounded by --timeout), then start. An enabled auto-import or auto-export never ends: "
    "disable it first.")
LOCATION_OPTION = typer.Option(None, "--location", "-l", show_default=False,
                               help="Azure region of the job (default: the file system's).")


def name_option(word: str) -> Any:
    return typer.Option(None, "--name", "-n", f"--{word}-job-name",
                        help=f"Name of the {word} job.", show_default=False)
