"""The public API is typed for callers: a type checker sees ``flush_paths``'s real signature
through the package's lazy ``__getattr__``, so a misspelt keyword fails the check instead of
the run, and the package says it is typed (``py.typed``) so checkers read its hints at all.

mypy runs in a subprocess on a caller's snippet, as it would in a user's project.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CALLER = """\
from hpccache_cli.flush import flush_paths

summary = flush_paths(["run42/out.h5"], ips=["127.0.0.1"], export="/NAS_12_exp5",
                      {keyword}=3, mount_port=2049)
reveal_type(summary)
"""


def mypy(tmp_path: Path, keyword: str) -> str:
    snippet = tmp_path / "caller.py"
    snippet.write_text(CALLER.format(keyword=keyword))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--follow-imports=silent",
         "--cache-dir", str(tmp_path / "cache"), "--config-file", "/dev/null", str(snippet)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "MYPYPATH": str(ROOT)},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("typed-api")


def test_a_misspelt_keyword_fails_the_type_check(tmp: Path) -> None:
    out = mypy(tmp, "concurrrency")
    assert 'Unexpected keyword argument "concurrrency" for "flush_paths"' in out, out


def test_a_correct_call_checks_and_returns_a_summary(tmp: Path) -> None:
    out = mypy(tmp, "concurrency")
    assert "error" not in out, out
    assert 'Revealed type is "hpccache_cli.flush.results.FlushSummary"' in out, out


def test_the_package_ships_its_py_typed_marker() -> None:
    assert (ROOT / "hpccache_cli" / "py.typed").is_file()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'hpccache_cli = ["py.typed"]' in pyproject
