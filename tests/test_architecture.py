"""The package map of docs/DEVELOPING.md, enforced: which package may import which.

Why a test: the two glue bugs of 0.1.0 (a method hidden by an attribute, SDK logging around a
one-line error) lived where the command reached into the library and the library reached back.
The direction ``cli -> cli.flush (the command) -> jobs (the run, no command line) -> flush (the
library) / control / paths -> nfs``
keeps the library usable from Python without Typer, Rich or Azure, and keeps the emulator an
independent peer of the client (it shares only the codecs). Every import counts: module level,
inside functions and under ``TYPE_CHECKING``, since a type-only cycle is still a cycle to a
reader and to the type checker.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "hpccache_cli"

#: Package -> the project packages (and third-party roots) it may import. A package not listed
#: on the left may import nothing of the project's but the shared leaves in LEAVES.
ALLOWED: dict[str, set[str]] = {
    "hpccache_cli.nfs": set(),
    "hpccache_cli.pipelines": set(),
    "hpccache_cli.paths": {"hpccache_cli.nfs"},
    "hpccache_cli.control": {"azure"},
    "hpccache_cli.flush": {"hpccache_cli.nfs", "hpccache_cli.paths"},
    # Azure Managed Lustre per file: lfs, the mount table, azure.storage.blob
    "hpccache_cli.lustre": {"hpccache_cli.paths", "hpccache_cli.nfs", "azure"},
    # azure: azure.storage.blob only, the AMLFS emulator's client of Azurite (emulator/aml);
    # lustre: only lustre.hsm_state, the HSM flags and words (a codec, like nfs's)
    "hpccache_cli.emulator": {"hpccache_cli.nfs", "cryptography", "azure",
                              "hpccache_cli.lustre"},
    # The jobs layer: a command without its command line (never Typer, Rich or click).
    "hpccache_cli.jobs": {
        "hpccache_cli.flush", "hpccache_cli.control", "hpccache_cli.paths",
        "hpccache_cli.pipelines", "hpccache_cli.nfs",
    },
    "hpccache_cli.cli.flush": {
        "hpccache_cli.jobs", "hpccache_cli.flush", "hpccache_cli.control", "hpccache_cli.paths",
        "hpccache_cli.pipelines", "hpccache_cli.nfs", "rich",
        # the one renderer (-o other than text, --query): cli's output leaf, no Typer (#18)
        "hpccache_cli.cli.output",
    },
    # The one renderer: az's data shape (azure.core for SDK models) and az's default format
    # (control.az_config), rich for jsonc/yamlc colours; no Typer, no command code.
    "hpccache_cli.cli.output": {"hpccache_cli.control", "azure", "rich"},
}
#: Leaf modules every package may use: plain values and error types with no project imports.
LEAVES = {"hpccache_cli.errors", "hpccache_cli.layout", "hpccache_cli.usage_models"}
#: Roots that are checked (third-party roots not named here are not the map's business).
CHECKED_ROOTS = {"hpccache_cli", "typer", "rich", "azure", "click", "cryptography"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, wherever the statement stands."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # ``from pkg import module`` imports the module too
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def owner(module: str) -> str | None:
    """The most specific package of ALLOWED (or leaf) that holds ``module``."""
    if module in LEAVES:
        return module
    best = None
    for package in ALLOWED:
        if (module == package or module.startswith(package + ".")) and (
            best is None or len(package) > len(best)
        ):
            best = package
    return best


@cache
def all_modules() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(ROOT.rglob("*.py"))}


def existing(graph: dict[str, set[str]], target: str) -> str | None:
    """``target`` as a module of the project (``a.b.c`` may name the attribute ``c`` of a.b)."""
    while target:
        if target in graph:
            return target
        target = target.rpartition(".")[0]
    return None


def test_every_package_imports_only_what_the_map_allows() -> None:
    graph = all_modules()
    wrong: list[str] = []
    for module, targets in graph.items():
        source = owner(module)
        if source is None or source in LEAVES:
            continue
        allowed = ALLOWED[source] | LEAVES | {source}
        for target in targets:
            root = target.split(".")[0]
            if root not in CHECKED_ROOTS:
                continue
            if root != "hpccache_cli":
                if root not in allowed:
                    wrong.append(f"{module} imports {target}")
                continue
            resolved = existing(graph, target)
            if resolved is None or resolved == "hpccache_cli":
                continue
            target_owner = owner(resolved)
            if target_owner is None:
                wrong.append(f"{module} imports {resolved} (outside the map)")
            elif target_owner not in allowed:
                wrong.append(f"{module} imports {resolved}")
    assert not wrong, "imports against docs/DEVELOPING.md's map:\n" + "\n".join(sorted(wrong))


def project_imports(graph: dict[str, set[str]], module: str) -> set[str]:
    """The project's modules ``module`` imports (attributes folded into their module)."""
    found = {existing(graph, t) for t in graph[module] if t.split(".")[0] == "hpccache_cli"}
    return {m for m in found if m is not None and m != "hpccache_cli"}


def test_leaves_import_only_leaves() -> None:
    """The shared leaves stay leaves: plain values and errors, importable from anywhere."""
    graph = all_modules()
    wrong = {leaf: project_imports(graph, leaf) - LEAVES for leaf in LEAVES}
    assert not any(wrong.values()), wrong


def test_the_job_values_import_nothing_of_the_job() -> None:
    """``jobs.flush.values`` holds what naming, the run, the fallback and the pipeline hooks
    share, so none of them imports another for a type (the cycles of 0.1.0)."""
    graph = all_modules()
    back = {m for m in project_imports(graph, "hpccache_cli.jobs.flush.values")
            if m.startswith(("hpccache_cli.cli", "hpccache_cli.jobs"))}
    assert not back, back


def test_the_jobs_layer_never_imports_the_command_line() -> None:
    """What a Python caller imports of ``jobs/`` loads no Typer, Click or Rich (the package
    map says so too; this names the point of the layer)."""
    graph = all_modules()
    wrong = {m: sorted(t for t in graph[m] if t.split(".")[0] in ("typer", "click", "rich")
                       or t.startswith("hpccache_cli.cli"))
             for m in graph if m == "hpccache_cli.jobs" or m.startswith("hpccache_cli.jobs.")}
    assert not any(wrong.values()), wrong


@pytest.mark.parametrize("package", ["hpccache_cli.flush", "hpccache_cli.cli.flush",
                                     "hpccache_cli.jobs",
                                     "hpccache_cli.nfs", "hpccache_cli.paths",
                                     "hpccache_cli.control", "hpccache_cli.pipelines",
                                     "hpccache_cli.lustre",
                                     "hpccache_cli.emulator", "hpccache_cli.emulator.arm",
                                     "hpccache_cli.cli", "hpccache_cli"])
def test_no_import_cycle_inside(package: str) -> None:
    """No cycle anywhere (#18 found ``common -> flags -> nfs_options -> common`` in ``cli/``,
    which the per-package list did not look at)."""
    graph = all_modules()
    inside = {m for m in graph if m == package or m.startswith(package + ".")}
    edges: dict[str, set[str]] = defaultdict(set)
    for module in inside:
        for target in graph[module]:
            resolved = existing(graph, target)
            # a module's own ancestors are loaded before it (``from pkg import x``): not a cycle
            ancestor = module.startswith(f"{resolved}.") if resolved else False
            if resolved in inside and resolved != module and resolved != package and not ancestor:
                edges[module].add(resolved)
    cycle = find_cycle(edges)
    assert cycle is None, f"import cycle in {package}: " + " -> ".join(cycle or [])


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph, as a path that returns to its start, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_checker_sees_a_wrong_import(tmp_path: Path) -> None:
    """The map test is not vacuous: an upward import in a library file is found."""
    probe = ROOT / "flush" / "engine.py"
    assert "hpccache_cli.cli" not in " ".join(imports_of(probe))
    fake = tmp_path / "hpccache_cli" / "flush"
    fake.mkdir(parents=True)
    (fake / "x.py").write_text("def f():\n    from hpccache_cli.cli import app\n")
    assert "hpccache_cli.cli" in imports_of_under(fake / "x.py", tmp_path / "hpccache_cli")


def imports_of_under(path: Path, root: Path) -> set[str]:
    global ROOT
    saved, ROOT = ROOT, root
    try:
        return imports_of(path)
    finally:
        ROOT = saved
