"""The path commands' shared option groups (``flush``, ``refresh``, ``copy``), declared once.

Two groups, because a command's own options sit between them in ``--help``:

- :func:`where_command`: which paths and where they are (``--from-file -0 -r``, then ``--ip
  --export --cache -g --cache-id --path-kind --mountinfo``), right after the arguments;
- :func:`output_command`: where results go (``-o --report --failed-to -v -q``, then ``--junit
  --shard --allow-partial --no-pipeline-log``), after the command's own options.

Names, types, metavars, defaults and panels are declared here once; a help text that says
what *this* command does with the option (``--ip``: "spread work" or "spread the copy") is
the command's, passed in as a phrase, so ``--help`` reads as before (#18). Each command gets
one typed value per group, through :func:`hpccache_cli.cli.options.grouping.grouped_options`
(the mechanism ``connection_command`` and ``azure_command`` use).
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

import typer

from hpccache_cli.cli.options.grouping import OptionSpec, grouped_options
from hpccache_cli.flush.options import PathKind

if TYPE_CHECKING:
    from hpccache_cli.jobs.flush.pipeline_run import PipelineRun

INPUT, WHERE, HOW, OUT = "Input", "Where", "How", "Output"
PIPE = "Pipelines and scripts"

_OptionalStr = typing.Optional[str]  # noqa: UP045 - Typer needs a real type object on 3.10
_OptionalPathKind = typing.Optional[PathKind]  # noqa: UP045


class OutputChoice(str, Enum):
    """``-o/--output``: the summary on stdout: ``text`` (sentences), else the summary object
    in one of az's formats through the one renderer (:mod:`hpccache_cli.cli.output`)."""

    text = "text"
    json = "json"
    jsonc = "jsonc"
    yaml = "yaml"
    yamlc = "yamlc"
    tsv = "tsv"
    table = "table"
    none = "none"


def input_options(recursive: str) -> list[OptionSpec]:
    """``--from-file -0 -r`` (``recursive``: what -r does for this command)."""
    return [
        ("from_file", _OptionalStr, typer.Option(
            None, "--from-file", "-f", metavar="FILE", rich_help_panel=INPUT,
            help="Read paths from FILE ('-' = stdin).")),
        ("null", bool, typer.Option(
            False, "--null", "-0", rich_help_panel=INPUT,
            help="Input paths are NUL-separated (find -print0), not newline-separated.")),
        ("recursive", bool, typer.Option(
            False, "--recursive", "-r", rich_help_panel=INPUT, help=recursive)),
    ]


def where_options(*, ip: str, export: str, cache: str, cache_id: str, path_kind: str,
                  mountinfo: str) -> list[OptionSpec]:
    """``--ip --export --cache -g --cache-id --path-kind --mountinfo``; each argument is the
    command's help text of that option (``-g`` reads the same everywhere)."""
    return [
        ("ip", list[str], typer.Option(
            [], "--ip", metavar="IP", rich_help_panel=WHERE, help=ip)),
        ("export", _OptionalStr, typer.Option(
            None, "--export", metavar="NAMESPACE_PATH", rich_help_panel=WHERE, help=export)),
        ("cache", _OptionalStr, typer.Option(
            None, "--cache", "--cache-name", "--name", "-n", metavar="NAME",
            rich_help_panel=WHERE, help=cache)),
        ("resource_group", _OptionalStr, typer.Option(
            None, "--resource-group", "-g", rich_help_panel=WHERE,
            help="Resource group of --cache.")),
        ("cache_id", _OptionalStr, typer.Option(
            None, "--cache-id", "--ids", metavar="RESOURCE_ID", rich_help_panel=WHERE,
            help=cache_id)),
        ("path_kind", _OptionalPathKind, typer.Option(
            None, "--path-kind", rich_help_panel=WHERE, show_default=False, help=path_kind)),
        ("mountinfo", _OptionalStr, typer.Option(
            None, "--mountinfo", metavar="FILE", rich_help_panel=WHERE, help=mountinfo)),
    ]


def output_options(*, output: str, report: str, failed_to: str, verbose: str
                   ) -> list[OptionSpec]:
    """``-o --report --failed-to -v -q`` (each argument: the command's help text)."""
    return [
        ("output", OutputChoice, typer.Option(
            OutputChoice.text, "--output", "-o", rich_help_panel=OUT, help=output)),
        ("query", _OptionalStr, typer.Option(
            None, "--query", metavar="JMESPATH", rich_help_panel=OUT,
            help="JMESPath query over the summary object (its keys are listed in README); "
            "printed as JSON unless -o names another format, as in az.")),
        ("report", _OptionalStr, typer.Option(
            None, "--report", metavar="FILE", rich_help_panel=OUT, help=report)),
        ("failed_to", _OptionalStr, typer.Option(
            None, "--failed-to", metavar="FILE", rich_help_panel=OUT, help=failed_to)),
        ("verbose", bool, typer.Option(
            False, "--verbose", "-v", rich_help_panel=OUT, help=verbose)),
        ("quiet", bool, typer.Option(
            False, "--quiet", "-q", rich_help_panel=OUT, help="Show only failures.")),
    ]


def shard_option(help: str, panel: str = PIPE) -> OptionSpec:
    """``--shard K/N|auto`` (``refresh`` lists it under Output: it has no other pipeline
    options)."""
    return ("shard", _OptionalStr, typer.Option(
        None, "--shard", metavar="K/N|auto", rich_help_panel=panel, show_default=False,
        help=help))


def pipeline_options(shard: str) -> list[OptionSpec]:
    """``--junit --shard --allow-partial --no-pipeline-log`` (``shard``: its help text)."""
    return [
        ("junit", _OptionalStr, typer.Option(
            None, "--junit", metavar="FILE", rich_help_panel=PIPE,
            help="Write a JUnit XML report, one test case per path (PublishTestResults@2).")),
        shard_option(shard),
        ("allow_partial", bool, typer.Option(
            False, "--allow-partial", rich_help_panel=PIPE,
            help="Exit 0 when some files failed (in Azure Pipelines: succeeded with issues).")),
        ("no_pipeline_log", bool, typer.Option(
            False, "--no-pipeline-log", rich_help_panel=PIPE,
            help="No ##vso[...] logging commands, even with TF_BUILD=True.")),
    ]


@dataclass
class WhereArgs:
    """Which paths, and where they are (a command without the input group: no input)."""

    ip: list[str] = field(default_factory=list)
    export: str | None = None
    cache: str | None = None
    resource_group: str | None = None
    cache_id: str | None = None
    path_kind: PathKind | None = None
    mountinfo: str | None = None
    from_file: str | None = None
    null: bool = False
    recursive: bool = False

    def naming(self) -> dict[str, Any]:
        """The ``FlushRequest`` fields that name the cache and read the paths (``path_kind``
        the parsed member: a ``Choice`` is its string, so it reads as the value does)."""
        return {"ips": self.ip, "export": self.export, "cache": self.cache,
                "resource_group": self.resource_group, "cache_id": self.cache_id,
                "path_kind": self.path_kind, "mountinfo": self.mountinfo}


@dataclass
class OutputArgs:
    """Where the results go (a command without the pipeline options: their defaults)."""

    output: OutputChoice = OutputChoice.text
    query: str | None = None
    report: str | None = None
    failed_to: str | None = None
    verbose: bool = False
    quiet: bool = False
    junit: str | None = None
    shard: str | None = None
    allow_partial: bool = False
    no_pipeline_log: bool = False

    def verbosity(self) -> int:
        """``-v``/``-q`` as the job's verbosity; both at once is a usage error."""
        return verbosity(self.verbose, self.quiet)

    def pipeline_run(self) -> PipelineRun:
        """The pipeline hooks of ``--junit --shard --allow-partial --no-pipeline-log`` and
        the environment; a bad ``--shard`` or ``--query`` is a UsageError (exit 2) before
        input is read. Under TF_BUILD the logging commands go to stderr whenever stdout
        carries a machine format (any ``-o`` but text, or ``--query``)."""
        import os

        from hpccache_cli.jobs.flush.pipeline_run import PipelineRun

        self.check_query()
        return PipelineRun.from_options(
            junit=self.junit, shard=self.shard, pipeline_log=not self.no_pipeline_log,
            allow_partial=self.allow_partial,
            json_output=self.output.value != "text" or bool(self.query),
            environ=os.environ,
        )

    def check_query(self) -> None:
        """Compile ``--query`` before any path is read or any request is made: a bad one is
        a UsageError (exit 2, one line); nothing is imported without one (start-up)."""
        if self.query:
            from hpccache_cli.cli.output.render import check_query

            check_query(self.query)

    def show_logs(self, shard_note: str | None = None) -> None:
        """With ``-v``: what ``--shard auto`` found (stderr: ``-o json`` keeps stdout) and
        the libraries' warnings too (an Azure sign-in problem, ...)."""
        if not self.verbose:
            return
        import logging
        import sys

        from hpccache_cli.cli.runtime import show_library_logs

        if shard_note:
            print(f"hpccache: {shard_note}", file=sys.stderr)
        show_library_logs(logging.WARNING)


def verbosity(verbose: bool, quiet: bool) -> int:
    """``-v``/``-q`` as the job's verbosity; both at once is a usage error."""
    from hpccache_cli.errors import UsageError
    from hpccache_cli.jobs.flush.values import NORMAL, QUIET, VERBOSE

    if verbose and quiet:
        raise UsageError("-v and -q contradict each other; pick one")
    return VERBOSE if verbose else QUIET if quiet else NORMAL


def where_command(options: list[OptionSpec]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command taking ``where: WhereArgs``: Typer sees ``options`` right after
    the command's arguments, before its own options (the order ``--help`` has)."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return grouped_options(func, "where", options, WhereArgs, after_arguments=True)
    return decorate


def output_command(options: list[OptionSpec]
                   ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command taking ``out: OutputArgs``: Typer sees ``options`` after the
    command's own."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return grouped_options(func, "out", options, OutputArgs)
    return decorate
