"""The flush job moved from ``cli/flush/`` to ``jobs/flush/`` (#18); the old import paths stay.

Why a test: ``cli/refresh_run.py`` and commands written beside #18 (``copy``, ``amlfs
export``) import the flush's helpers from ``cli/flush/runner.py`` and the modules of
``cli/flush/``. Each old name must be the very object of the new home (not a copy that
drifts), and each old module must still offer every name its new home defines.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "hpccache_cli"
MOVED = sorted(p.stem for p in (ROOT / "cli" / "flush").glob("*.py")
               if (ROOT / "jobs" / "flush" / p.name).exists() and p.stem != "__init__")


def defined(path: Path) -> set[str]:
    """Top-level names a module defines (functions, classes, assignments)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                elts = target.elts if isinstance(target, ast.Tuple) else [target]
                names.update(e.id for e in elts if isinstance(e, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_the_moved_modules_are_all_there() -> None:
    assert len(MOVED) == 14, MOVED


@pytest.mark.parametrize("module", MOVED)
def test_an_old_module_offers_every_name_of_its_new_home(module: str) -> None:
    old = importlib.import_module(f"hpccache_cli.cli.flush.{module}")
    new = importlib.import_module(f"hpccache_cli.jobs.flush.{module}")
    names = defined(ROOT / "jobs" / "flush" / f"{module}.py")
    missing = sorted(n for n in names if getattr(old, n, None) is not getattr(new, n))
    assert not missing, missing


def test_the_runner_keeps_the_names_other_commands_import() -> None:
    from hpccache_cli.cli.flush import runner
    from hpccache_cli.jobs.flush import job, naming, streams

    assert runner._open_source is job.open_request_source
    assert runner._settle_outputs is job.settle_outputs
    assert runner._unreachable_hint is job.unreachable_hint
    assert runner._run is job.run_and_settle
    assert runner._fallback is job.fallback_sink
    assert runner.run_engine is job.run_engine
    assert runner.build_resolver is naming.build_resolver
    assert runner._announce is streams.announce
    assert runner.say is streams.say
    assert runner.quiet_stream is streams.quiet_stream
