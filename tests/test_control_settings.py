"""Identity, subscription and endpoint resolution: pure functions over an env mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpccache_cli.control.client import ArmSettings, lookup_cloud, make_client
from hpccache_cli.control.credentials import (
    StaticTokenCredential,
    build_credential,
    resolve_auth_mode,
)
from hpccache_cli.control.subscription import resolve_subscription
from hpccache_cli.emulator.arm.certs import generate
from hpccache_cli.errors import AzureError, UsageError

SUB_A = "11111111-2222-3333-4444-555555555555"
SUB_B = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
PIPELINE = {
    "AZURESUBSCRIPTION_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "AZURESUBSCRIPTION_CLIENT_ID": "00000000-0000-0000-0000-0000000000cc",
    "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID": "00000000-0000-0000-0000-0000000000dd",
    "SYSTEM_OIDCREQUESTURI": "https://127.0.0.1:1/oidc",
    "SYSTEM_ACCESSTOKEN": "agent-token",
}


def profile(tmp_path: Path, subs: list[dict[str, object]]) -> dict[str, str]:
    """An Azure CLI profile written with a BOM, as the CLI does on some platforms."""
    (tmp_path / "azureProfile.json").write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"subscriptions": subs}).encode()
    )
    return {"AZURE_CONFIG_DIR": str(tmp_path)}


def test_auth_mode_choice() -> None:
    assert resolve_auth_mode(None, {}) == "default"
    assert resolve_auth_mode(None, {"HPCCACHE_ARM_TOKEN": "t"}) == "token"
    assert resolve_auth_mode(None, PIPELINE) == "pipelines"
    assert resolve_auth_mode("auto", {"HPCCACHE_AUTH": "cli"}) == "default"  # option wins
    assert resolve_auth_mode(None, {"HPCCACHE_AUTH": "CLI"}) == "cli"
    missing_oidc = {k: v for k, v in PIPELINE.items() if k != "SYSTEM_OIDCREQUESTURI"}
    assert resolve_auth_mode(None, missing_oidc) == "default"
    # AzureCLI@2 with a federated connection but SYSTEM_ACCESSTOKEN not mapped: the CLI login
    # (in the default chain) works there, the pipeline credential could not.
    unmapped = {k: v for k, v in PIPELINE.items() if k != "SYSTEM_ACCESSTOKEN"}
    assert resolve_auth_mode(None, unmapped) == "default"
    with pytest.raises(UsageError, match="not one of"):
        resolve_auth_mode("kerberos", {})


def test_credentials_are_built_without_network() -> None:
    token = build_credential("token", env={"HPCCACHE_ARM_TOKEN": "abc"}).credential
    assert isinstance(token, StaticTokenCredential)
    assert token.get_token("https://management.azure.com/.default").token == "abc"
    with pytest.raises(UsageError, match="HPCCACHE_ARM_TOKEN"):
        build_credential("token", env={})

    from azure.identity import AzurePipelinesCredential

    choice = build_credential("pipelines", "login.microsoftonline.us", env=PIPELINE)
    assert isinstance(choice.credential, AzurePipelinesCredential)
    with pytest.raises(AzureError, match="SYSTEM_ACCESSTOKEN not set"):
        build_credential("pipelines", env={**PIPELINE, "SYSTEM_ACCESSTOKEN": ""})


def test_subscription_order(tmp_path: Path) -> None:
    env = profile(
        tmp_path,
        [
            {"id": SUB_A, "name": "Research", "isDefault": False},
            {"id": SUB_B, "name": "Production", "isDefault": True},
        ],
    )
    assert resolve_subscription(None, env).id == SUB_B  # the Azure CLI default
    assert resolve_subscription(None, {**env, "AZURE_SUBSCRIPTION_ID": SUB_A}).id == SUB_A
    assert resolve_subscription(SUB_A.upper(), env).source == "--subscription"
    assert resolve_subscription("research", env).id == SUB_A  # a name the CLI knows
    with pytest.raises(AzureError, match="no subscription of that name"):
        resolve_subscription("Marketing", env)
    (tmp_path / "other").mkdir()
    empty = profile(tmp_path / "other", [])
    with pytest.raises(AzureError, match="no subscription chosen"):
        resolve_subscription(None, empty)
    (tmp_path / "azureProfile.json").write_text("{broken")
    with pytest.raises(AzureError, match="az login"):
        resolve_subscription(None, {"AZURE_CONFIG_DIR": str(tmp_path)})


def test_profile_under_home_when_no_config_dir(tmp_path: Path) -> None:
    (tmp_path / ".azure").mkdir()
    profile(tmp_path / ".azure", [{"id": SUB_A, "isDefault": True}])
    assert resolve_subscription(None, {"HOME": str(tmp_path)}).id == SUB_A


def test_settings_resolution(tmp_path: Path) -> None:
    ca = generate(tmp_path / "certs").ca_file  # a real PEM CA file
    s = ArmSettings.resolve(
        env={
            "AZURE_SUBSCRIPTION_ID": SUB_A,
            "HPCCACHE_CLOUD": "azureusgovernment",
            "HPCCACHE_CA_BUNDLE": str(ca),
            "HPCCACHE_POLL_INTERVAL": "0.5",
            "HPCCACHE_ARM_RETRIES": "2",
            "HPCCACHE_ARM_TOKEN": "t",
        }
    )
    assert s.endpoint == "https://management.usgovcloudapi.net"
    assert s.cloud.authority == "login.microsoftonline.us"
    assert (s.polling_interval, s.retry_total, s.auth) == (0.5, 2, "token")
    client = make_client(s)  # no request is made until an operation is called
    assert client._config.polling_interval == 0.5
    client.close()

    env = {"AZURE_SUBSCRIPTION_ID": SUB_A}
    assert ArmSettings.resolve(env=env).endpoint == "https://management.azure.com"
    with pytest.raises(UsageError, match="https://"):
        ArmSettings.resolve(endpoint="http://127.0.0.1:8080", env=env)
    with pytest.raises(UsageError, match="does not exist"):
        ArmSettings.resolve(ca_bundle=str(tmp_path / "none.pem"), env=env)
    with pytest.raises(UsageError, match="not a number"):
        ArmSettings.resolve(env={**env, "HPCCACHE_ARM_RETRIES": "many"})
    with pytest.raises(UsageError, match="AzureChinaCloud"):
        lookup_cloud("Mars")
    assert lookup_cloud("AZURECHINACLOUD").arm_endpoint == "https://management.chinacloudapi.cn"
