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
retries of one request      (none)                           ``HPCCACHE_ARM_RETRIES`` (5)
(408/429/5xx, connect, read)
connect timeout (s)         (none)                           ``HPCCACHE_ARM_CONNECT_TIMEOUT``
                                                             (10)
read timeout (s)            (none)                           ``HPCCACHE_ARM_READ_TIMEOUT`` (20)
token to a custom endpoint  (none)                           ``HPCCACHE_ARM_ENDPOINT_TRUSTED``
==========================  ===============================  ==============================

The endpoint and CA bundle overrides exist so the real SDK can be pointed at the emulator's
fake ARM (``hpccache emulator run`` prints the values). The polling interval applies only when
Azure sends no ``Retry-After``; 2 s keeps a short flush from waiting the SDK's default 30 s.

Time is bounded: ARM answers in well under a second, so one attempt gets the connect timeout
to connect (TLS handshake included) and the read timeout for each wait for data; a request
makes at most ``retries + 1`` attempts with back-off between them (capped at 30 s, or what
Azure asks for in ``Retry-After``, announced on stderr). Worst case with the defaults for a
server that never answers: 6 x 20 s + 24 s of back-off, about 2.5 minutes.

Tokens: a credential hpccache builds (``default``, ``cli``, ``pipelines``) gets tokens for the
chosen cloud, and they are sent only to that cloud's ARM host. Another ``--arm-endpoint`` with
such a credential needs ``HPCCACHE_ARM_ENDPOINT_TRUSTED=1`` (Azure Stack Hub, a private proxy);
the emulator's own token (``--auth token``) needs nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar, overload

from hpccache_cli import __version__
from hpccache_cli.control.attempts import AttemptLog
from hpccache_cli.control.credentials import build_credential, resolve_auth_mode
from hpccache_cli.control.defaults import DEFAULT_OPERATION_TIMEOUT as DEFAULT_OPERATION_TIMEOUT
from hpccache_cli.control.subscription import resolve_subscription
from hpccache_cli.errors import UsageError

if TYPE_CHECKING:
    from azure.mgmt.storagecache import StorageCacheManagementClient


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
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 20.0
TRUST_VAR = "HPCCACHE_ARM_ENDPOINT_TRUSTED"
#: Identities whose tokens are real Azure tokens (``token`` is the emulator's own).
REAL_IDENTITIES = ("default", "cli", "pipelines")


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
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    credential: Any = field(default=None, compare=False, repr=False)
    # Attempts of the last request (error messages quote it); shared by this run's clients.
    attempts: AttemptLog = field(default_factory=AttemptLog, compare=False, repr=False)
    # The environment the settings were resolved from; the credential is built from it too.
    env: Mapping[str, str] | None = field(default=None, compare=False, repr=False)
    # No notices on stderr (waits before a retry): the CLI's --only-show-errors.
    quiet: bool = field(default=False, compare=False)

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
        if bundle:
            check_ca_bundle(bundle)
        mode = "injected" if credential is not None else resolve_auth_mode(auth, env)
        check_token_destination(url, the_cloud, mode, env)
        sub = resolve_subscription(subscription, env)
        return cls(
            subscription_id=sub.id,
            subscription_source=sub.source,
            auth=mode,
            cloud=the_cloud,
            endpoint=url.rstrip("/"),
            ca_bundle=bundle,
            polling_interval=_env_number(env, "HPCCACHE_POLL_INTERVAL", DEFAULT_POLL_INTERVAL),
            retry_total=_env_number(env, "HPCCACHE_ARM_RETRIES", DEFAULT_RETRIES, int),
            connect_timeout=_env_timeout(env, "HPCCACHE_ARM_CONNECT_TIMEOUT",
                                         DEFAULT_CONNECT_TIMEOUT),
            read_timeout=_env_timeout(env, "HPCCACHE_ARM_READ_TIMEOUT", DEFAULT_READ_TIMEOUT),
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


ClientT = TypeVar("ClientT")


@overload
def make_client(
    settings: ArmSettings, client_class: None = None, **overrides: Any
) -> StorageCacheManagementClient: ...


@overload
def make_client(
    settings: ArmSettings, client_class: type[ClientT], **overrides: Any
) -> ClientT: ...


def make_client(
    settings: ArmSettings, client_class: type[Any] | None = None, **overrides: Any
) -> Any:
    """An ARM management client of ``client_class`` (default: ``StorageCacheManagementClient``)
    for ``settings``; ``overrides`` go to the SDK as-is.

    Every ``azure-mgmt-*`` client takes ``(credential, subscription_id, **kwargs)``, so a new
    resource type's client (Azure Managed Lustre's ``StorageCacheManagementClient`` operations,
    or another package's) is made the same way, with the same policies. Retries and the bearer
    token go through hpccache's own policies (see :mod:`hpccache_cli.control.transport`):
    counted, announced (unless ``settings.quiet``), and bound to the endpoint.
    """
    from hpccache_cli.control.transport import (
        ArmRetryPolicy,
        BoundedReplyPolicy,
        EndpointBoundAuthPolicy,
        announce,
    )

    cls: type[Any]
    if client_class is None:
        from azure.mgmt.storagecache import StorageCacheManagementClient as default_class

        cls = default_class
    else:
        cls = client_class
    credential = make_credential(settings)
    kwargs: dict[str, Any] = {
        "base_url": settings.endpoint,
        "credential_scopes": [settings.cloud.scope],
        "polling_interval": settings.polling_interval,
        "retry_policy": ArmRetryPolicy(
            settings.retry_total, settings.attempts, say=None if settings.quiet else announce
        ),
        "per_retry_policies": [BoundedReplyPolicy()],
        "authentication_policy": EndpointBoundAuthPolicy(
            credential, settings.cloud.scope, endpoint=settings.endpoint
        ),
        "user_agent": f"hpccache-cli/{__version__}",
        "connection_timeout": settings.connect_timeout,
        "read_timeout": settings.read_timeout,
    }
    if settings.ca_bundle:
        kwargs["connection_verify"] = settings.ca_bundle
    kwargs.update(overrides)
    return cls(credential, settings.subscription_id, **kwargs)


def _env_timeout(env: Mapping[str, str], name: str, default: float) -> float:
    value = float(_env_number(env, name, default))
    if value <= 0:
        raise UsageError(f"{name} must be a positive number of seconds (default {default:g})")
    return value


def check_ca_bundle(path: str) -> None:
    """A CA file that is missing or not a PEM bundle is a usage error, named as such (the TLS
    library would only say "no certificate or crl found" at the first request)."""
    import ssl

    if not os.path.isfile(path):
        raise UsageError(f"CA bundle {path} does not exist (--ca-bundle / HPCCACHE_CA_BUNDLE)")
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 20)
    except OSError as exc:
        raise UsageError(f"cannot read CA bundle {path}: {exc.strerror}") from None
    problem = None
    if b"-----BEGIN CERTIFICATE-----" not in head:
        problem = "has no -----BEGIN CERTIFICATE----- block"
    else:
        try:
            ssl.create_default_context(cafile=path)
        except (ssl.SSLError, ValueError) as exc:
            problem = f"does not load ({exc})"
    if problem:
        raise UsageError(
            f"CA bundle {path} is not a PEM certificate bundle: it {problem}; pass the CA "
            "certificate(s) in PEM format (--ca-bundle / HPCCACHE_CA_BUNDLE; the emulator "
            "prints its CA file)"
        )


def check_token_destination(url: str, cloud: Cloud, mode: str, env: Mapping[str, str]) -> None:
    """Refuse to send a real Azure token to another host than the cloud's Resource Manager,
    unless HPCCACHE_ARM_ENDPOINT_TRUSTED says so (the emulator's token needs no opt-in)."""
    from urllib.parse import urlsplit

    def where(u: str) -> tuple[str, int]:
        parts = urlsplit(u)
        try:
            port = parts.port or 443
        except ValueError:
            raise UsageError(f"ARM endpoint {u!r} has an invalid port") from None
        return (parts.hostname or "").lower(), port

    if mode not in REAL_IDENTITIES or where(url) == where(cloud.arm_endpoint):
        return
    if env.get(TRUST_VAR, "").strip().lower() in ("1", "true", "yes"):
        return
    raise UsageError(
        f"ARM endpoint {url} is not {cloud.name}'s Resource Manager ({cloud.arm_endpoint}) and "
        f"--auth {mode} would send it a real Azure token: set {TRUST_VAR}=1 to allow that "
        "(Azure Stack Hub, a private proxy); for the emulator use the HPCCACHE_ARM_TOKEN it "
        "prints"
    )
