"""Settings for talking to Azure Resource Manager, and the SDK client built from them.

Every Azure knob has one option and one environment variable, resolved here once, so the CLI
commands, the flush engine and tests all get the same behaviour:

==========================  ===============================  ==============================
setting                     option                           environment
==========================  ===============================  ==============================
subscription                ``--subscription``               ``AZURE_SUBSCRIPTION_ID``, then
                                                             the Azure CLI default
identity                    ``--auth``                       ``HPCCACHE_AUTH``
cloud                       ``--cloud``                      ``HPCCACHE_CLOUD``
ARM endpoint override       ``--arm-endpoint``               ``HPCCACHE_ARM_ENDPOINT``
CA bundle for that endpoint ``--ca-bundle``                  ``HPCCACHE_CA_BUNDLE``
LRO polling interval (s)    (none)                           ``HPCCACHE_POLL_INTERVAL`` (2)
retries on 408/429/5xx      (none)                           ``HPCCACHE_ARM_RETRIES`` (5)
==========================  ===============================  ==============================

The endpoint and CA bundle overrides exist so the real SDK can be pointed at the emulator's
fake ARM (``hpccache emulator run`` prints the values). The polling interval applies only when
Azure sends no ``Retry-After``; 2 s keeps a short flush from waiting the SDK's default 30 s.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hpccache_cli import __version__
from hpccache_cli.control.credentials import build_credential, resolve_auth_mode
from hpccache_cli.control.subscription import resolve_subscription
from hpccache_cli.errors import UsageError


@dataclass(frozen=True)
class Cloud:
    """Where one Azure cloud's ARM and Entra ID live."""

    name: str
    arm_endpoint: str
    scope: str
    authority: str


CLOUDS: dict[str, Cloud] = {
    c.name.lower(): c
    for c in (
        Cloud(
            "AzureCloud",
            "https://management.azure.com",
            "https://management.azure.com/.default",
            "login.microsoftonline.com",
        ),
        Cloud(
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://management.core.usgovcloudapi.net/.default",
            "login.microsoftonline.us",
        ),
        Cloud(
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://management.core.chinacloudapi.cn/.default",
            "login.chinacloudapi.cn",
        ),
    )
}

DEFAULT_POLL_INTERVAL = 2.0
DEFAULT_RETRIES = 5


def _env_number(env: Mapping[str, str], name: str, default: float, kind: type = float) -> Any:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise UsageError(f"{name} must not be negative")
    return value


def lookup_cloud(name: str | None) -> Cloud:
    cloud = CLOUDS.get((name or "AzureCloud").strip().lower())
    if cloud is None:
        names = ", ".join(c.name for c in CLOUDS.values())
        raise UsageError(f"--cloud {name!r} is not one of {names}")
    return cloud


@dataclass(frozen=True)
class ArmSettings:
    """Everything needed to reach ARM, fully resolved (options over environment over defaults).

    ``credential`` may be injected (tests, the flush engine reusing one); otherwise one is built
    from ``auth`` when a client is first made, so a run answered from the resolution cache never
    touches an identity provider.
    """

    subscription_id: str
    subscription_source: str
    auth: str
    cloud: Cloud
    endpoint: str
    ca_bundle: str | None = None
    polling_interval: float = DEFAULT_POLL_INTERVAL
    retry_total: int = DEFAULT_RETRIES
    credential: Any = field(default=None, compare=False, repr=False)
    # The environment the settings were resolved from; the credential is built from it too.
    env: Mapping[str, str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def resolve(
        cls,
        *,
        subscription: str | None = None,
        auth: str | None = None,
        cloud: str | None = None,
        endpoint: str | None = None,
        ca_bundle: str | None = None,
        credential: Any = None,
        env: Mapping[str, str] | None = None,
    ) -> ArmSettings:
        """Fill every setting from the arguments, then the environment, then the defaults."""
        env = os.environ if env is None else env
        the_cloud = lookup_cloud(cloud or env.get("HPCCACHE_CLOUD"))
        url = (endpoint or env.get("HPCCACHE_ARM_ENDPOINT") or the_cloud.arm_endpoint).strip()
        if not url.lower().startswith("https://"):
            raise UsageError(
                f"ARM endpoint {url!r} must start with https:// "
                "(Azure SDKs send tokens over TLS only)"
            )
        bundle = ca_bundle or env.get("HPCCACHE_CA_BUNDLE") or None
        if bundle and not os.path.isfile(bundle):
            raise UsageError(
                f"CA bundle {bundle} does not exist (--ca-bundle / HPCCACHE_CA_BUNDLE)"
            )
        sub = resolve_subscription(subscription, env)
        return cls(
            subscription_id=sub.id,
            subscription_source=sub.source,
            auth="injected" if credential is not None else resolve_auth_mode(auth, env),
            cloud=the_cloud,
            endpoint=url.rstrip("/"),
            ca_bundle=bundle,
            polling_interval=_env_number(env, "HPCCACHE_POLL_INTERVAL", DEFAULT_POLL_INTERVAL),
            retry_total=_env_number(env, "HPCCACHE_ARM_RETRIES", DEFAULT_RETRIES, int),
            credential=credential,
            env=env,
        )

    def for_subscription(self, subscription_id: str) -> ArmSettings:
        """The same settings aimed at another subscription (a ``--cache-id`` names its own)."""
        return replace(self, subscription_id=subscription_id, subscription_source="resource id")

    @property
    def tried(self) -> str:
        """What identity was used, in words (for auth error messages)."""
        from hpccache_cli.control.credentials import describe_attempt

        if self.auth == "injected":
            return "the injected credential"
        return describe_attempt(self.auth, self.env)


def make_credential(settings: ArmSettings) -> Any:
    """The credential for ``settings`` (built now unless one was injected)."""
    if settings.credential is not None:
        return settings.credential
    return build_credential(settings.auth, settings.cloud.authority, settings.env).credential


def make_client(settings: ArmSettings, **overrides: Any) -> Any:
    """A ``StorageCacheManagementClient`` for ``settings``; ``overrides`` go to the SDK as-is."""
    from azure.mgmt.storagecache import StorageCacheManagementClient

    kwargs: dict[str, Any] = {
        "base_url": settings.endpoint,
        "credential_scopes": [settings.cloud.scope],
        "polling_interval": settings.polling_interval,
        "retry_total": settings.retry_total,
        "user_agent": f"hpccache-cli/{__version__}",
        "connection_timeout": 20,
        "read_timeout": 120,
    }
    if settings.ca_bundle:
        kwargs["connection_verify"] = settings.ca_bundle
    kwargs.update(overrides)
    return StorageCacheManagementClient(
        make_credential(settings), settings.subscription_id, **kwargs
    )
