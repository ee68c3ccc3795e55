"""The install the example pipeline does, done here: build the wheel once, install it into a
fresh virtual environment, run ``hpccache --version`` and one emulator flush from there.

No network: the wheel is built with the build backend already installed (setuptools, no build
isolation) and installed with ``--no-deps --no-index``; the new venv sees the test venv's
packages (Typer, the Azure SDK...) through a ``.pth`` line, the "system site packages" of this
test. Every subprocess has a timeout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from flush_cache_support import BY_NAME, world

ROOT = Path(__file__).resolve().parent.parent


def sh(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 180
       ) -> subprocess.CompletedProcess[str]:
    """Run from / so that neither the current directory nor PYTHONPATH can hold the source."""
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False, cwd="/")
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def build_wheel(tmp: Path) -> Path:
    """``pip wheel`` of a copy of the source (the worktree stays free of build output)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "hpccache_cli", src / "hpccache_cli",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp / "dist"
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
       "-w", dist, src)
    [wheel] = dist.glob("hpccache_cli-*.whl")
    return wheel


def test_the_wheel_installs_into_a_fresh_venv_and_flushes(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", "--without-pip", venv)
    py = venv / "bin" / "python"
    site = Path(sh(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                .stdout.strip())
    (site / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    sh(sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", wheel)

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    hpccache = venv / "bin" / "hpccache"
    from hpccache_cli import __version__

    assert sh(hpccache, "--version", env=env).stdout.strip() == f"hpccache {__version__}"
    where = sh(py, "-c", "import hpccache_cli; print(hpccache_cli.__file__)", env=env).stdout
    assert where.startswith(str(site)), where  # the wheel's copy, not the source tree

    with world(tmp_path / "emu") as w:
        files = w.dirty("/NAS_12_exp5/wheel/a", "/NAS_12_exp5/wheel/b")
        run_env = {k: v for k, v in w.env().items() if k != "PYTHONPATH"}
        proc = sh(hpccache, "flush", *BY_NAME, "-o", "json", *map(str, files), env=run_env)
        assert '"flushed": 2' in proc.stdout, proc.stdout
        w.assert_written_back(*files)


def test_the_example_pipeline_installs_the_wheel_into_a_venv() -> None:
    """What the test above does is what examples/azure-pipelines.yml tells agents to do: pip
    only from a venv (never the system's), the wheel from the package job, not the registry."""
    text = (ROOT / "examples" / "azure-pipelines.yml").read_text()
    lines = [line.strip() for line in text.splitlines() if not line.strip().startswith("#")]
    pips = [line for line in lines if " pip " in f" {line} " or "/pip\"" in line
            or "bin/pip" in line]
    assert pips, "no install step found"
    for line in pips:
        assert "-venv/bin/pip\"" in line or "$venv/bin/pip\"" in line, line
    installs = [line for line in pips if " install " in line]
    assert installs and all("hpccache-wheel/hpccache_cli-*.whl" in line for line in installs)
    assert "python3 -m pip install" not in text and "artifact: hpccache-wheel" in text
