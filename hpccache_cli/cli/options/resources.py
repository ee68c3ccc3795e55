"""The resource selectors, declared once: one spelling rule for every command (#18).

- the cache, where a command needs one: ``--cache``, ``--cache-name``;
- the command's own subject: ``-n/--name`` (the cache for ``cache``, ``namespace``, ``flush``,
  ``path``; the storage target for ``target``, also ``-t/--target``);
- ``-g/--resource-group``, ``--ids``, ``--subscription`` everywhere.

So a cache command's ``-n`` and its ``--cache`` are one option, and a target command's
``--cache`` is the cache and its ``-n`` the target. ``tests/test_cli_spelling.py`` walks every
command's parameters against this rule; README has the same table.
"""

from __future__ import annotations

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
