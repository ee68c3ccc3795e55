"""Options and values the ``hpccache amlfs`` command modules share, declared once.

A leaf of the command: the modules import these at module level (Typer reads the types of
the command functions' parameters, so the enums must be module globals where they are used).
The selectors (which file system or job) are ``cli/options/resources.py``'s, with every other
command's; what is here is AMLFS's own: the job waits, the exit codes, the job settings.
"""

from __future__ import annotations

from enum import Enum

import typer

from hpccache_cli.control.defaults import DEFAULT_OPERATION_TIMEOUT

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


QUEUE_OPTION = typer.Option(
    False, "--queue", help="If another blob-integration job is running, wait for it to end "
    "(bounded by --timeout), then start. An enabled auto-import or auto-export never ends: "
    "disable it first.")
LOCATION_OPTION = typer.Option(None, "--location", "-l", show_default=False,
                               help="Azure region of the job (default: the file system's).")

