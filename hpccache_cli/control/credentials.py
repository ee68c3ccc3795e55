"""Which Azure identity hpccache signs in with, and how to say what went wrong.

The default is ``DefaultAzureCredential`` (it honours ``AZURE_TOKEN_CREDENTIALS`` by itself), so
anything that works for the Azure CLI or SDK samples works here. In Azure Pipelines the
federated service connection is picked automatically when the task has exported its variables,
because ``DefaultAzureCredential`` does not know that identity. A static bearer token exists
for the emulator's fake ARM only, so demos and tests need no real credential.

The Azure SDK is imported inside :func:`build_credential` only: building the Typer app must not
pay for azure.identity.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpccache_cli.errors import AzureError, UsageError

AUTH_MODES = ("auto", "default", "cli", "pipelines", "token")

# Set by the AzureCLI@2 / AzurePowerShell@5 tasks for a workload-identity service connection.
PIPELINE_VARS = (
    "AZURESUBSCRIPTION_TENANT_ID",
    "AZURESUBSCRIPTION_CLIENT_ID",
    "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
)
# Set by the agent for every job; SYSTEM_ACCESSTOKEN only when the pipeline maps it.
PIPELINE_AGENT_VARS = ("SYSTEM_OIDCREQUESTURI", "SYSTEM_ACCESSTOKEN")

TOKEN_VAR = "HPCCACHE_ARM_TOKEN"
AUTH_VAR = "HPCCACHE_AUTH"


class StaticTokenCredential:
    """A credential that always returns one bearer token: for the emulator and tests only.

    Real Azure would reject such a token; it exists so the real SDK client can talk to the fake
    ARM without any identity, and so tests never construct ``DefaultAzureCredential`` (whose
    managed-identity probe leaves the machine).
    """

    def __init__(self, token: str, lifetime_s: int = 3600) -> None:
        if not token:
            raise ValueError("empty token")
        self._token = token
        self._lifetime = lifetime_s

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + self._lifetime)

    def close(self) -> None:
        """Nothing to release; present because SDK clients call it."""

    def __enter__(self) -> StaticTokenCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def pipeline_vars_present(env: Mapping[str, str]) -> bool:
    """True when the Azure DevOps federation variables are all there, the job token included.

    Without SYSTEM_ACCESSTOKEN (not mapped into the step's env) the pipeline credential cannot
    work; inside an AzureCLI@2 task the Azure CLI's login can, so ``auto`` falls back to the
    default chain rather than picking a credential that is certain to fail.
    """
    return all(env.get(v) for v in (*PIPELINE_VARS, *PIPELINE_AGENT_VARS))


def resolve_auth_mode(requested: str | None, env: Mapping[str, str] | None = None) -> str:
    """Turn ``--auth`` / ``HPCCACHE_AUTH`` / ``auto`` into the mode that will really be used.

    ``auto`` chooses the emulator token when ``HPCCACHE_ARM_TOKEN`` is set, the pipeline
    credential when the Azure DevOps federation variables are present, else
    ``DefaultAzureCredential``.
    """
    env = os.environ if env is None else env
    mode = (requested or env.get(AUTH_VAR) or "auto").strip().lower()
    if mode not in AUTH_MODES:
        raise UsageError(f"--auth {mode!r} is not one of {', '.join(AUTH_MODES)}")
    if mode != "auto":
        return mode
    if env.get(TOKEN_VAR):
        return "token"
    if pipeline_vars_present(env):
        return "pipelines"
    return "default"


def describe_attempt(mode: str, env: Mapping[str, str] | None = None) -> str:
    """What a mode tries, in words for an error message."""
    env = os.environ if env is None else env
    if mode == "token":
        return (
            f"the static emulator token from {TOKEN_VAR} (valid only against hpccache's fake ARM)"
        )
    if mode == "pipelines":
        return "AzurePipelinesCredential (Azure DevOps service connection, workload identity)"
    if mode == "cli":
        return "AzureCliCredential (the account of `az login`)"
    limit = env.get("AZURE_TOKEN_CREDENTIALS", "").strip()
    if limit:
        return f"DefaultAzureCredential limited by AZURE_TOKEN_CREDENTIALS={limit}"
    return (
        "DefaultAzureCredential (environment variables, workload identity, managed identity, "
        "Azure CLI, Azure PowerShell, Azure Developer CLI)"
    )


def next_step(mode: str) -> str:
    """The one thing the user most likely has to do when ``mode`` failed."""
    if mode == "token":
        return (
            f"start `hpccache emulator run` and export the {TOKEN_VAR}, HPCCACHE_ARM_ENDPOINT and "
            "HPCCACHE_CA_BUNDLE it prints, or unset HPCCACHE_ARM_TOKEN to use your Azure identity"
        )
    if mode == "pipelines":
        return (
            "run hpccache inside an AzureCLI@2 task with a workload-identity service connection "
            "and map SYSTEM_ACCESSTOKEN: $(System.AccessToken) into its env"
        )
    if mode == "cli":
        return "run `az login` (and `az account set --subscription ...`)"
    return (
        "run `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or use "
        "--auth pipelines in Azure Pipelines"
    )


@dataclass(frozen=True)
class CredentialChoice:
    """A built credential with the words that describe it (for error messages)."""

    credential: Any
    mode: str
    tried: str


def build_credential(
    mode: str, authority: str | None = None, env: Mapping[str, str] | None = None
) -> CredentialChoice:
    """Build the credential for a resolved mode; problems become one-line AzureErrors."""
    env = os.environ if env is None else env
    tried = describe_attempt(mode, env)
    if mode == "token":
        token = env.get(TOKEN_VAR, "")
        if not token:
            raise UsageError(
                f"--auth token needs the emulator's token in {TOKEN_VAR} "
                "(printed by `hpccache emulator run`)"
            )
        return CredentialChoice(StaticTokenCredential(token), mode, tried)
    kwargs: dict[str, Any] = {}
    if authority:
        kwargs["authority"] = authority
    if mode == "pipelines":
        missing = [v for v in (*PIPELINE_VARS, *PIPELINE_AGENT_VARS) if not env.get(v)]
        if missing:
            raise AzureError(
                f"cannot sign in with {tried}: {', '.join(missing)} not set; {next_step(mode)}"
            )
        from azure.identity import AzurePipelinesCredential

        cred = AzurePipelinesCredential(
            tenant_id=env["AZURESUBSCRIPTION_TENANT_ID"],
            client_id=env["AZURESUBSCRIPTION_CLIENT_ID"],
            service_connection_id=env["AZURESUBSCRIPTION_SERVICE_CONNECTION_ID"],
            system_access_token=env["SYSTEM_ACCESSTOKEN"],
            **kwargs,
        )
        return CredentialChoice(cred, mode, tried)
    if mode == "cli":
        import shutil

        if shutil.which("az", path=env.get("PATH", os.defpath)) is None:
            raise AzureError(
                "--auth cli signs in with the Azure CLI, but `az` is not installed (not on "
                "PATH): install the Azure CLI, or use --auth default (environment variables, "
                "workload or managed identity, Azure PowerShell, ...)"
            )
        from azure.identity import AzureCliCredential

        return CredentialChoice(AzureCliCredential(), mode, tried)
    from azure.identity import DefaultAzureCredential

    try:
        default = DefaultAzureCredential(**kwargs)
    except ValueError as exc:  # e.g. an invalid AZURE_TOKEN_CREDENTIALS value
        raise AzureError(f"cannot set up {tried}: {exc}") from None
    return CredentialChoice(default, mode, tried)
