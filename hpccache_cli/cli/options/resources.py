"""The resource selectors, declared once: one spelling rule for every command (#18).

- the cache, where a command needs one: ``--cache``, ``--cache-name``;
- the command's own subject: ``-n/--name`` (the cache for ``cache``, ``namespace``, ``flush``,
  ``path``; the storage target for ``target``, also ``-t/--target``);
- ``-g/--resource-group``, ``--ids``, ``--subscription`` everywhere.

So a cache command's ``-n`` and its ``--cache`` are one option, and a target command's
``--cache`` is the cache and its ``-n`` the target. Azure Managed Lustre (``hpccache amlfs``)
follows ``az amlfs``: ``-n/--name/--amlfs-name`` is the file system where it is the subject,
``--amlfs-name/--aml-filesystem-name`` where a job in it is, ``-n/--name`` the job.
``tests/test_cli_spelling.py`` walks every command's parameters against this rule; README has
the same table.
"""

from __future__ import annotations

from typing import Any

import typer

#: Option names of the cache where it is the command's own subject.
CACHE_SUBJECT_NAMES = ("--name", "-n", "--cache", "--cache-name")
#: Option names of the cache where the command's subject is something in it.
CACHE_NAMES = ("--cache", "--cache-name")
#: Option names of a storage target, the subject of ``target`` commands.
TARGET_NAMES = ("--name", "-n", "--target", "-t")

RESOURCE_GROUP = typer.Option(
    None,
    "--resource-group",
    "-g",
    help="Resource group of the cache (default: AZURE_DEFAULTS_GROUP or the Azure CLI's "
    "defaults.group setting).",
)
CACHE_POSITIONAL = typer.Argument(
    None, metavar="CACHE", help="Cache name, or its full resource id.", show_default=False
)
CACHE_SUBJECT = typer.Option(
    None, *CACHE_SUBJECT_NAMES, help="Cache name (as in az hpc-cache; also --cache).",
    show_default=False,
)
CACHE = typer.Option(
    None, *CACHE_NAMES, help="Cache name (--cache-name as in az hpc-cache storage-target).",
    show_default=False,
)
TARGET = typer.Option(
    None, *TARGET_NAMES, help="Storage target name (-n/--name as in az).", show_default=False
)
CACHE_IDS = typer.Option(
    None,
    "--ids",
    metavar="ID",
    help="One or more cache resource ids (space-separated, as in az), instead of a name and -g.",
    show_default=False,
)
ONE_CACHE_IDS = typer.Option(
    None, "--ids", metavar="ID", show_default=False,
    help="The cache's resource id, instead of its name and -g.",
)
TARGET_IDS = typer.Option(
    None, "--ids", metavar="ID", show_default=False,
    help="One or more storage target resource ids (space-separated, as in az), instead of "
    "the cache, -g and -n.",
)

#: Option names of an Azure Managed Lustre file system where it is the command's subject.
AMLFS_SUBJECT_NAMES = ("--name", "-n", "--amlfs-name")
#: Option names of the file system where the command's subject is a job in it (az's both).
AMLFS_NAMES = ("--amlfs-name", "--aml-filesystem-name")

AMLFS_RESOURCE_GROUP = typer.Option(
    None, "--resource-group", "-g",
    help="Resource group of the file system (default: AZURE_DEFAULTS_GROUP or the Azure CLI's "
    "defaults.group setting).", show_default=False)
AMLFS_POSITIONAL = typer.Argument(
    None, metavar="FILESYSTEM", help="File system name, or its full resource id.",
    show_default=False)
AMLFS_SUBJECT = typer.Option(
    None, *AMLFS_SUBJECT_NAMES, help="File system name (as in az amlfs).", show_default=False)
AMLFS = typer.Option(
    None, *AMLFS_NAMES, help="The file system the job belongs to.", show_default=False)
AMLFS_IDS = typer.Option(
    None, "--ids", metavar="ID", show_default=False,
    help="One or more file system resource ids (space-separated, as in az), instead of a name "
    "and -g.")
AMLFS_JOB_IDS = typer.Option(
    None, "--ids", metavar="ID", show_default=False,
    help="One or more job resource ids, instead of -n, --amlfs-name and -g.")


def amlfs_job(word: str) -> Any:
    """``-n/--name`` of an AMLFS job command, with az's long name for it (``--import-job-name``):
    one per job type, so a function, not a constant."""
    return typer.Option(None, "--name", "-n", f"--{word}-job-name",
                        help=f"Name of the {word} job.", show_default=False)
