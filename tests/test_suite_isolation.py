"""The suite passes on a user's machine as it is after trying the README (issue 19, "the
suite is the user's too"): the emulator's HPCCACHE_*_PORT and ARM variables exported, an
Azure CLI default subscription, a proxy, pipeline variables and NO_COLOR in the shell, and a
layout in ``~/.cache/hpccache`` from the user's own ``flush --cache``. A sample of tests that
each of these used to break runs in a child pytest with that environment and must pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from isolation_support import KEEP, hostile_environment, user_variables

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = [
    # a layout in ~/.cache/hpccache gave these paths a storage target
    "tests/test_paths_cli.py::test_without_azure_information_the_azure_keys_are_null",
    "tests/test_paths_cli.py::test_inputs_from_stdin_file_and_nul",
    # HPCCACHE_ARM_RETRIES / HTTPS_PROXY / HPCCACHE_CA_BUNDLE reached the fake ARM's client
    "tests/test_arm_diagnoses.py::test_a_200_that_is_not_json_could_not_be_read",
    # the emulator's HPCCACHE_*_PORT exported: the CLI skipped the portmapper under test
    "tests/test_flush_cli.py::test_arguments_from_file_and_portmapper",
    # NO_COLOR and the pipeline's job variables changed the output
    "tests/test_flush_pipeline.py::test_allow_partial_exits_0_with_succeeded_with_issues",
    # what a module-scoped fixture (started before any function fixture) sees
    "tests/test_suite_isolation.py::test_fixtures_started_before_the_tests_see_no_user_setting",
]


@pytest.fixture(scope="module")
def environment_at_module_start() -> Iterator[dict[str, str]]:
    """``os.environ`` as a module-scoped fixture (a server, say) sees it when it starts."""
    yield dict(os.environ)


def test_fixtures_started_before_the_tests_see_no_user_setting(
    environment_at_module_start: dict[str, str],
) -> None:
    seen = environment_at_module_start
    assert user_variables(seen) == []
    home = Path(seen["HOME"])
    assert home.name.startswith("hpccache-test-home-") and not any(home.iterdir())
    assert seen["XDG_CACHE_HOME"].startswith(str(home))
    assert seen["AZURE_CONFIG_DIR"].startswith(str(home))
    now = dict(os.environ)  # and the test itself, with a home of its own
    assert user_variables(now) == [] and now["HOME"] != seen["HOME"]
    assert not (Path(now["XDG_CACHE_HOME"]) / "hpccache").exists()


def test_a_sample_passes_in_a_hostile_user_environment(tmp_path: Path) -> None:
    env = hostile_environment(tmp_path)
    assert {"HPCCACHE_NFS_PORT", "AZURE_SUBSCRIPTION_ID", "TF_BUILD"} <= set(env)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W",
         "ignore::pytest.PytestUnraisableExceptionWarning", *SAMPLE],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert f"{len(SAMPLE)} passed" in proc.stdout, proc.stdout[-2000:]
    # the user's own files are untouched and unread
    assert len(list((tmp_path / "home" / ".cache" / "hpccache" / "layouts").iterdir())) == 1


def test_run_settings_are_kept() -> None:
    assert "HPCCACHE_REQUIRE_PEERS" in KEEP  # .ci/run's "a missing peer fails"
    assert user_variables({"HPCCACHE_REQUIRE_PEERS": "1", "HPCCACHE_NFS_PORT": "2",
                           "https_proxy": "x", "AZURE_CLIENT_ID": "y"}) == [
        "AZURE_CLIENT_ID", "HPCCACHE_NFS_PORT", "https_proxy"]
