"""``scripts/_venv.sh`` ``hpc_ensure_venv [EXTRAS]``: the demo installs the package alone, the
test command its ``[test]`` extra, and the two share one ``.venv`` and its stamp.

A fresh clone's ``scripts/demo.sh`` installed the test and lint tools too (58 s and a 182 MB
``.venv`` against 12 s and 81 MB for the package alone). The script runs here for real (bash,
its stamp and lock), on a copy of ``scripts/`` beside a pyproject.toml of the test's own,
against a venv whose ``python`` is a stand-in that records each ``pip install`` instead of
installing: what is installed when is what the test asserts, without a network or minutes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The venv's python: answers what hpc_ensure_venv asks (-c 'import sys', -VV, the import
# check) from a state file, and records each `-m pip install ... -e SPEC` as SPEC.
FAKE_PYTHON = """#!/usr/bin/env bash
here=$(cd "$(dirname "$0")/.." && pwd)
case "$1" in
  -VV) echo "Python 3.99.0 (stand-in)" ;;
  -c)
    case "$2" in
      "import sys") exit 0 ;;
      "import hpccache_cli") grep -qx pkg "$here/installed" 2>/dev/null ;;
      "import hpccache_cli, pytest")
        grep -qx pkg "$here/installed" 2>/dev/null && grep -qx test "$here/installed" ;;
      *) exit 3 ;;
    esac ;;
  -m)
    spec=${@: -1}
    echo "$spec" >>"$here/pip.log"
    echo pkg >"$here/installed"
    [[ $spec == *test* ]] && echo test >>"$here/installed"
    exit 0 ;;
  *) exit 4 ;;
esac
"""


def checkout(tmp_path: Path) -> tuple[Path, Path]:
    """A checkout with the real scripts and a venv with the stand-in python."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", repo / "scripts")
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return repo, venv


def ensure(repo: Path, venv: Path, *extras: str) -> list[str]:
    """Run ``hpc_ensure_venv EXTRAS`` as the scripts do; the pip installs it made."""
    log = venv / "pip.log"
    before = log.read_text().splitlines() if log.exists() else []
    proc = subprocess.run(
        ["bash", "-c", 'set -euo pipefail; source "$1/scripts/_venv.sh"; shift; '
         'hpc_ensure_venv "$@"', "bash", str(repo), *extras],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "HPCCACHE_VENV": str(venv)})
    assert proc.returncode == 0, proc.stderr
    assert [x for x in proc.stderr.splitlines() if "pip install" not in x
            and "creating" not in x] == [], proc.stderr  # no stray shell errors
    after = log.read_text().splitlines() if log.exists() else []
    return after[len(before):]


def test_demo_installs_the_package_alone_and_tests_still_get_their_extra(
        tmp_path: Path) -> None:
    repo, venv = checkout(tmp_path)
    assert ensure(repo, venv) == ["."]  # demo.sh on a fresh clone: no test or lint tools
    assert ensure(repo, venv) == []  # again: nothing to do
    assert ensure(repo, venv, "test") == [".[test]"]  # test.sh after it: adds its extra
    assert ensure(repo, venv, "test") == []
    assert ensure(repo, venv) == []  # a venv with [test] serves the demo as it is
    stamp = (venv / ".hpccache-stamp").read_text().split()
    assert stamp[1] == "test"


def test_a_changed_pyproject_reinstalls_keeping_the_extras(tmp_path: Path) -> None:
    repo, venv = checkout(tmp_path)
    assert ensure(repo, venv, "test") == [".[test]"]
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '2'\n")
    assert ensure(repo, venv) == [".[test]"]  # demo.sh must not drop the tests' extra
    assert ensure(repo, venv, "test") == []


def test_a_stamp_from_before_extras_means_test_was_installed(tmp_path: Path) -> None:
    """Existing venvs (stamp = checksum only) were all made with [test]: no reinstall."""
    repo, venv = checkout(tmp_path)
    ensure(repo, venv, "test")
    stamp = venv / ".hpccache-stamp"
    stamp.write_text(stamp.read_text().split()[0] + "\n")
    assert ensure(repo, venv, "test") == []
    (venv / "installed").write_text("pkg\n")  # but pytest is gone after all: the check sees it
    assert ensure(repo, venv, "test") == [".[test]"]
