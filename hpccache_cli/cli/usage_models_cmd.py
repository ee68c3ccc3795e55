"""``hpccache usage-models list``: the usage models a subscription offers for storage targets.

What ``az hpc-cache usage-model list`` prints, from the same SDK call, so that the name to give
a storage target (and the ``nfs3.usageModel`` that ``hpccache namespace`` and ``flush`` read) can
be looked up without the Azure CLI. A subscription-level list: no resource selector, only the
Azure options, ``-o`` and ``--query`` of every Azure command. Built by docs/DEVELOPING.md's
recipe "Add a command for a new Azure resource type" (its proof: this module and one route
table in the fake ARM).
"""

from __future__ import annotations

import typer

from hpccache_cli.cli.azure_options import AzureArgs, azure_command, emit
from hpccache_cli.cli.common import reports_errors

usage_models_app = typer.Typer(
    help="List the usage models of a subscription. Each is a name a storage target's usage "
    "model can take, with what it means (caching of writes, verification timers).\n\n"
    "Example: hpccache usage-models list -o table",
    no_args_is_help=True,
)


@usage_models_app.command("list")
@reports_errors
@azure_command(output=True)
def list_usage_models(*, az: AzureArgs) -> None:
    """List the usage models (modelName, targetType, description), as az hpc-cache usage-model
    list prints them.

    Example: hpccache usage-models list --query "[].modelName" -o tsv
    """
    from hpccache_cli.control.arm_errors import arm_errors
    from hpccache_cli.control.client import make_client

    settings = az.settings()
    with make_client(settings) as client, arm_errors(settings, "the usage models"):
        models = list(client.usage_models.list())
    emit(az, models)


def register(app: typer.Typer) -> None:
    app.add_typer(usage_models_app, name="usage-models")
