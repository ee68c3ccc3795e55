"""Every HPC Cache command is a module-level function (#18): importable, testable, and the very
function ``register`` puts on the app (no closure built inside ``register()``).

Before #18 ``flush``, ``flush-file``, ``demo``, ``emulator run|init`` and ``target
flush|suspend|resume|invalidate`` were functions defined inside ``register()`` (or a loop),
which no test could import or call.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

#: command module -> the command functions it must offer by name (the HPC Cache commands;
#: amlfs, refresh and copy are out of scope here).
COMMANDS = {
    "flush_cmd": ("flush",),
    "flush_file_cmd": ("flush_file",),
    "demo_cmd": ("demo",),
    "path_cmd": ("path_command",),
    "namespace_cmd": ("namespace",),
    "emulator_cmd": ("run_emulator", "init_emulator"),
    "cache_cmd": ("list_caches", "show_cache", "flush_cache"),
    "target_cmd": ("list_targets", "show_target", "flush_target", "suspend_target",
                   "resume_target", "invalidate_target"),
}


def callbacks(app: typer.Typer) -> Iterator[Any]:
    """Every command callback registered on ``app`` and its sub-apps."""
    for info in app.registered_commands:
        yield info.callback
    for group in app.registered_groups:
        assert group.typer_instance is not None
        yield from callbacks(group.typer_instance)


@pytest.mark.parametrize("module_name", sorted(COMMANDS))
def test_each_registered_command_is_a_module_level_function(module_name: str) -> None:
    module = importlib.import_module(f"hpccache_cli.cli.{module_name}")
    app = typer.Typer()
    module.register(app)
    registered = list(callbacks(app))
    offered = [getattr(module, name) for name in COMMANDS[module_name]]
    assert registered, module_name
    # the app runs exactly the functions the module offers (by identity), and all of them
    assert {id(c) for c in registered} == {id(f) for f in offered}, (
        module_name, [c.__qualname__ for c in registered])
    for function in offered:
        assert "<locals>" not in function.__qualname__, function.__qualname__


def test_a_command_function_is_called_like_any_function(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from hpccache_cli.cli.emulator_cmd import init_emulator

    init_emulator(directory=tmp_path / "emu", force=False)
    assert (tmp_path / "emu" / "emulator.toml").is_file()
    assert f"wrote {tmp_path / 'emu' / 'emulator.toml'}" in capsys.readouterr().out
    # and its errors are the command's one line (reports_errors): exit 2, no traceback
    with pytest.raises(typer.Exit) as again:
        init_emulator(directory=tmp_path / "emu", force=False)
    assert again.value.exit_code == 2
    assert capsys.readouterr().err.startswith("hpccache: error: ")
