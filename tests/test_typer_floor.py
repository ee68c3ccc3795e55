"""The Typer bound in pyproject.toml is honest: every Typer internal the CLI imports exists in
the installed Typer, and the bound is at least the first release that has them all.

Why: ``typer>=0.12`` was written while the code imported modules 0.12 does not have, so
pip could install a Typer on which ``hpccache`` does not start. ``scripts/typer-floor.sh``
(a line of ``.ci/run``) runs this file and the start-up tests on the floor version itself.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Measured for #18 (pip install typer==X into a scratch venv): the first release with every
#: internal below; 0.26-0.28 have typer._click but not typer._coercion.
FIRST_WITH_ALL = (0, 29, 0)


def typer_internals() -> set[str]:
    """The ``typer._*`` modules the package and its tests import, wherever the statement is."""
    found: set[str] = set()
    for path in [*(ROOT / "hpccache_cli").rglob("*.py"), *(ROOT / "tests").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names
                                        if node.module == "typer")]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found.update(n for n in names if n.startswith("typer._"))
    return found


def floor() -> tuple[int, ...]:
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'"typer>=([0-9.]+)', text)
    assert match, "pyproject.toml has no typer>= bound"
    return tuple(int(x) for x in match.group(1).split("."))


def test_every_typer_internal_used_exists_in_the_installed_typer() -> None:
    internals = typer_internals()
    assert {"typer._click", "typer._coercion", "typer._param_types"} <= internals, internals
    for name in sorted(internals):
        importlib.import_module(name)


def test_the_bound_is_no_lower_than_the_first_typer_with_them() -> None:
    assert floor() + (0,) * (3 - len(floor())) >= FIRST_WITH_ALL
