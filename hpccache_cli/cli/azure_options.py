"""The options every Azure command shares, declared once, and how such commands print.

:func:`azure_command` adds ``--subscription --auth --cloud --arm-endpoint --ca-bundle`` (and on
request ``-o/--output --query`` and ``--refresh``) to a Typer command and hands the function
one :class:`AzureArgs`, so no command re-declares them and they read the same everywhere (the
way hatch shares its environment options). Output follows the Azure CLI: a table on a terminal,
JSON when piped, ``--query`` is JMESPath over the JSON form.

Nothing here imports the Azure SDK; commands do that when they run.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from hpccache_cli.cli.options.grouping import grouped_options
from hpccache_cli.cli.output import Format as AzOutput
from hpccache_cli.cli.output import emit as emit  # the renderer's, re-exported
from hpccache_cli.errors import UsageError

if TYPE_CHECKING:
    from hpccache_cli.control.client import ArmSettings
    from hpccache_cli.control.resolve import CacheRef

PANEL = "Azure options"


class AuthChoice(str, Enum):
    auto = "auto"
    default = "default"
    cli = "cli"
    pipelines = "pipelines"
    token = "token"


@dataclass
class AzureArgs:
    """The shared options as one value; ``settings()`` resolves them against the environment."""

    subscription: str | None = None
    auth: AuthChoice | None = None
    cloud: str | None = None
    arm_endpoint: str | None = None
    ca_bundle: Path | None = None
    output: AzOutput | None = None
    query: str | None = None
    refresh: bool = False
    debug: bool = False
    verbose: bool = False
    only_show_errors: bool = False

    def __post_init__(self) -> None:
        """Set up the SDK's logging as asked; compile --query before any request (a bad
        expression is exit 2 with no ARM call)."""
        from hpccache_cli.cli import az_logging

        az_logging.configure(
            debug=self.debug, verbose=self.verbose, only_show_errors=self.only_show_errors
        )
        from hpccache_cli.cli.output import check_query

        check_query(self.query)

    def settings(self, subscription: str | None = None) -> ArmSettings:
        from hpccache_cli.control.client import ArmSettings

        settings = ArmSettings.resolve(
            subscription=subscription or self.subscription,
            auth=self.auth.value if self.auth else None,
            cloud=self.cloud,
            endpoint=self.arm_endpoint,
            ca_bundle=str(self.ca_bundle) if self.ca_bundle else None,
        )
        # --only-show-errors: not even the notice of a wait before a retry (#18)
        return dataclasses.replace(settings, quiet=self.only_show_errors)

    def progress(self, label: str) -> AbstractContextManager[Callable[[float, str], None] | None]:
        """The Azure commands' spinner (:func:`progress`), for a long operation that a command
        elsewhere (``flush --fallback target-flush``) runs with these options."""
        return progress(label)


_AZURE: list[tuple[str, Any, Any]] = [
    (
        "subscription",
        typing.Optional[str],  # noqa: UP045 - Typer needs a real type object here on 3.10
        typer.Option(
            None,
            "--subscription",
            help="Subscription id or name (default: AZURE_SUBSCRIPTION_ID, then the Azure CLI's "
            "default subscription).",
            rich_help_panel=PANEL,
            show_default=False,
        ),
    ),
    (
        "auth",
        typing.Optional[AuthChoice],  # noqa: UP045
        typer.Option(
            None,
            "--auth",
            help="How to sign in. auto: the emulator token if HPCCACHE_ARM_TOKEN is set, the "
            "Azure Pipelines service connection if its variables are present, else "
            "DefaultAzureCredential (honours AZURE_TOKEN_CREDENTIALS). cli: az login. token: "
            "HPCCACHE_ARM_TOKEN, for the emulator only. (env: HPCCACHE_AUTH)",
            case_sensitive=False,
            rich_help_panel=PANEL,
            show_default=False,
        ),
    ),
    (
        "cloud",
        typing.Optional[str],  # noqa: UP045
        typer.Option(
            None,
            "--cloud",
            metavar="CLOUD",
            help="AzureCloud (default), AzureUSGovernment or AzureChinaCloud "
            "(env: HPCCACHE_CLOUD).",
            rich_help_panel=PANEL,
            show_default=False,
        ),
    ),
    (
        "arm_endpoint",
        typing.Optional[str],  # noqa: UP045
        typer.Option(
            None,
            "--arm-endpoint",
            help="Resource Manager URL instead of the cloud's, e.g. the emulator's fake ARM "
            "(env: HPCCACHE_ARM_ENDPOINT).",
            rich_help_panel=PANEL,
            show_default=False,
        ),
    ),
    (
        "ca_bundle",
        typing.Optional[Path],  # noqa: UP045
        typer.Option(
            None,
            "--ca-bundle",
            help="CA file to trust for --arm-endpoint (the emulator prints it) "
            "(env: HPCCACHE_CA_BUNDLE).",
            rich_help_panel=PANEL,
            show_default=False,
        ),
    ),
    (
        "debug",
        bool,
        typer.Option(
            False,
            "--debug",
            help="Log every Azure Resource Manager request and response on stderr (tokens "
            "redacted), as az --debug.",
            rich_help_panel=PANEL,
        ),
    ),
    (
        "only_show_errors",
        bool,
        typer.Option(
            False,
            "--only-show-errors",
            help="Print errors only: no warnings, no progress (as in az).",
            rich_help_panel=PANEL,
        ),
    ),
]

_VERBOSE = (
    "verbose",
    bool,
    typer.Option(
        False,
        "--verbose",
        help="Print each Azure Resource Manager request and its status on stderr.",
        rich_help_panel=PANEL,
    ),
)

def _output_options(output_help: str, query_help: str) -> list[tuple[str, Any, Any]]:
    """``-o``/``--query``, declared once; the commands differ only in what the help says they
    print."""
    return [
        (
            "output",
            typing.Optional[AzOutput],  # noqa: UP045
            typer.Option(None, "--output", "-o", help=output_help, case_sensitive=False,
                         show_default=False),
        ),
        (
            "query",
            typing.Optional[str],  # noqa: UP045
            typer.Option(None, "--query", help=query_help, show_default=False),
        ),
    ]


_OUTPUT = _output_options(
    "json, jsonc, yaml, yamlc, table, tsv or none (default: AZURE_CORE_OUTPUT or core.output of "
    "the Azure CLI's config, else table on a terminal, json when piped).",
    "JMESPath query over the JSON output, as in the Azure CLI.",
)

#: -o/--query of a long-running operation (cache flush, target flush/suspend/...): its
#: outcome is one sentence unless asked for as data.
_OUTPUT_OPERATION = _output_options(
    "Print the outcome as data (action, cache, resourceGroup, storageTarget, status, "
    "elapsedSeconds) in this format: json, jsonc, yaml, yamlc, table, tsv, or none for nothing "
    "(default: one sentence).",
    "JMESPath query over the outcome's data, as in the Azure CLI (JSON unless -o).",
)

_REFRESH = (
    "refresh",
    bool,
    typer.Option(
        False,
        "--refresh",
        help="Ask Azure now instead of using the cached cache layout (kept 5 min).",
        rich_help_panel=PANEL,
    ),
)


def azure_command(
    *, output: bool | str = False, refresh: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command taking ``az: AzureArgs`` so Typer sees the shared options instead.

    ``output=True``: ``-o/--query`` over the command's data; ``output="operation"``: over a
    long-running operation's outcome (:func:`print_outcome`)."""
    outputs = _OUTPUT_OPERATION if output == "operation" else _OUTPUT if output else []
    extra = list(_AZURE) + list(outputs) + ([_REFRESH] if refresh else [])

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        import inspect

        # A command with its own --verbose (flush: every path's outcome) keeps it.
        own = "verbose" in inspect.signature(func).parameters
        return grouped_options(func, "az", extra + ([] if own else [_VERBOSE]), AzureArgs)

    return decorate


def cache_ref(name: str, resource_group: str | None) -> CacheRef:
    """NAME with -g (or the Azure CLI's default group), or a full resource id in place of NAME."""
    from hpccache_cli.control.resolve import cache_ref as ref_of

    return ref_of(name, resource_group)


@contextmanager
def cache_client(
    az: AzureArgs, name: str | CacheRef, resource_group: str | None = None
) -> Iterator[tuple[Any, Any]]:
    """``(client, ref)`` for commands about one cache; ARM failures become one line naming it.

    A 404 adds which caches the resource group does have, so a typo is one glance to fix.
    """
    from hpccache_cli.control.client import make_client
    from hpccache_cli.control.resolve import cache_errors

    ref = cache_ref(name, resource_group) if isinstance(name, str) else name
    settings = az.settings(ref.subscription_id)
    with (
        make_client(settings) as client,
        cache_errors(client, settings, ref.resource_group, ref.name),
    ):
        yield client, ref


# ---- output (the renderer is cli/output; these names stay for code written against them) -


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """``rows`` under ``headers`` in az's table layout (:mod:`hpccache_cli.cli.output`)."""
    from collections import OrderedDict

    from hpccache_cli.cli.output.formats import as_table

    table = [OrderedDict(zip(headers, row, strict=False)) for row in rows]
    return as_table(table, query_active=False, transformed=True).rstrip("\n")


def print_outcome(az: AzureArgs, result: Any) -> None:
    """How a long-running operation ended (``control.operations.OperationResult``): the
    sentence, or with ``-o``/``--query`` the same facts as data (``-o none``: nothing, as in
    az)."""
    if az.output is None and az.query is None:
        typer.echo(result.describe())
        return
    if az.output is None:  # --query alone: JSON, whatever the Azure CLI's default
        az = dataclasses.replace(az, output=AzOutput.json)
    emit(
        az,
        {
            "action": result.action,
            "cache": result.cache,
            "resourceGroup": result.resource_group,
            "storageTarget": result.target,
            "status": result.status,
            "elapsedSeconds": round(result.elapsed_s, 1),
        },
    )


# ---- disruptive operations --------------------------------------------------------------------


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm(question: str, consequence: str, yes: bool) -> None:
    """Ask on a terminal; refuse without --yes when nobody can answer."""
    if yes:
        return
    if not interactive():
        raise UsageError(f"{consequence}; pass --yes to confirm in a non-interactive run")
    typer.echo(consequence, err=True)
    if not typer.confirm(question, default=False, err=True):
        typer.echo("hpccache: cancelled; nothing was done", err=True)
        raise typer.Exit(1)


@contextmanager
def progress(label: str) -> Iterator[Callable[[float, str], None] | None]:
    """A spinner with elapsed time on a terminal; nothing when stderr is not one, nor in
    Azure Pipelines (TF_BUILD=True), whose log keeps every redraw even on a terminal."""
    import os

    from hpccache_cli.cli.az_logging import only_errors
    from hpccache_cli.pipelines.vso import detect

    if not sys.stderr.isatty() or detect(os.environ) or only_errors():
        yield None
        return
    from rich.console import Console

    with Console(stderr=True).status(label) as status:

        def update(elapsed: float, state: str) -> None:
            status.update(f"{label} ({state}, {elapsed:.0f} s)")

        yield update
