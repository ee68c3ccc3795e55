"""The test suite runs in an environment of its own, not the user's (issue 19).

A new user who tries the README and then runs ``scripts/test.sh`` has a layout cached in
``~/.cache/hpccache`` by their own ``flush --cache``, the emulator's ``HPCCACHE_*_PORT``
variables exported in the shell, maybe an Azure CLI login and a proxy: each of these used to
fail tests that assume defaults. So:

* :func:`isolate_process` runs when ``tests/conftest.py`` is imported, before any fixture,
  session- and module-scoped servers included: it removes the variables hpccache (and the
  Azure SDK, requests, the pipeline detection) read, and points ``HOME``, the XDG directories
  and ``AZURE_CONFIG_DIR`` at an empty directory of the session's own. Subprocesses inherit it.
* :func:`isolate_test` (the autouse fixture) gives each test a fresh empty home the same way,
  so one test's resolution cache never reaches another test.

Variables that configure the test run itself (:data:`KEEP`) stay.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

import pytest

#: Prefixes of variables the product or the libraries under it read: hpccache's own, the Azure
#: SDK's and identity endpoints, Azure Pipelines' job variables (pipeline mode switches on them).
PREFIXES = ("HPCCACHE_", "AZURE_", "AZURESUBSCRIPTION_", "MSI_", "IDENTITY_", "IMDS_",
            "SYSTEM_", "BUILD_", "AGENT_")
#: Single variables with the same effect: pipeline mode, colour, proxies and CA files that
#: requests would apply to the fake ARM on 127.0.0.1.
NAMES = ("TF_BUILD", "NO_COLOR", "FORCE_COLOR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
         "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
#: Settings of the test run, not of the product.
KEEP = frozenset({"HPCCACHE_REQUIRE_PEERS", "HPCCACHE_CI_TIMEOUT"})
#: Where per-user files are: set (to an empty home), not removed.
HOME_NAMES = ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME",
              "AZURE_CONFIG_DIR")


def user_variables(env: MutableMapping[str, str]) -> list[str]:
    """The variables of ``env`` that a test must not inherit from the user."""
    names = {n.upper() for n in NAMES}
    return sorted(
        key for key in env
        if key not in KEEP and key not in HOME_NAMES
        and (key.startswith(PREFIXES) or key.upper() in names)
    )


def home_variables(home: Path) -> dict[str, str]:
    """Everything that locates per-user files, pointed into ``home`` (which stays empty)."""
    where = (".", ".cache", ".config", ".local/share", ".local/state", ".azure")
    return {name: str(home / sub) for name, sub in zip(HOME_NAMES, where, strict=True)}


def isolate_process() -> Path:
    """Clean ``os.environ`` for the whole run (before any fixture); returns the session home,
    removed at exit."""
    home = Path(tempfile.mkdtemp(prefix="hpccache-test-home-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    for key in user_variables(os.environ):
        del os.environ[key]
    os.environ.update(home_variables(home))
    return home


def isolate_test(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """The same for one test, with its own ``home`` (undone after the test)."""
    for key in user_variables(os.environ):
        monkeypatch.delenv(key)
    for key, value in home_variables(home).items():
        monkeypatch.setenv(key, value)


def hostile_environment(base: Path) -> dict[str, str]:
    """What a user's shell may hold after trying the README: the emulator's exported ports
    and ARM settings, an Azure CLI default subscription, a proxy, pipeline variables, and in
    ``base/home`` a resolution cache entry (``~/.cache/hpccache``) for the docs' cache
    addresses. For proving :func:`isolate_process` in a child pytest."""
    import json
    import time

    home = base / "home"
    layouts = home / ".cache" / "hpccache" / "layouts"
    layouts.mkdir(parents=True)
    fixture = Path(__file__).parent / "fixtures" / "mountinfo" / "two_caches.layout.json"
    entry = {"format": 1, "fetched_at": time.time() + 3600, "endpoint": "https://127.0.0.1:9",
             "layout": json.loads(fixture.read_text())[0]}
    (layouts / "cache-a-0123456789abcdef.json").write_text(json.dumps(entry))
    profile = home / ".azure" / "azureProfile.json"
    profile.parent.mkdir()
    profile.write_text(json.dumps({"subscriptions": [
        {"id": "11111111-1111-1111-1111-111111111111", "name": "user-sub", "isDefault": True}]}))
    env = {k: v for k, v in os.environ.items() if k != "XDG_CACHE_HOME"}
    env.update({
        "HOME": str(home),
        "HPCCACHE_PORTMAP_PORT": "1", "HPCCACHE_MOUNT_PORT": "2", "HPCCACHE_NFS_PORT": "3",
        "HPCCACHE_ARM_ENDPOINT": "https://127.0.0.1:9", "HPCCACHE_ARM_TOKEN": "users-token",
        "HPCCACHE_AUTH": "token", "HPCCACHE_CA_BUNDLE": "/nonexistent/ca.pem",
        "HPCCACHE_ARM_RETRIES": "9", "HPCCACHE_LAYOUT_TTL": "999999",
        "AZURE_SUBSCRIPTION_ID": "22222222-2222-2222-2222-222222222222",
        "HTTPS_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "TF_BUILD": "True", "SYSTEM_TOTALJOBSINPHASE": "3", "SYSTEM_JOBPOSITIONINPHASE": "2",
        "NO_COLOR": "1",
    })
    return env
