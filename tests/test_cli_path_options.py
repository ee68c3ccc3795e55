"""The path commands' shared option groups (``cli/options/paths.py``, #18): ``flush``,
``refresh`` and ``copy`` take each shared option from the one declaration, in the place
``--help`` lists it, and ``run_until_stopped`` turns a signal into the engine's stop."""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
from typing import Any

import pytest
import typer

from hpccache_cli.jobs.flush.interrupts import run_until_stopped

PATH_COMMANDS = {"flush": "flush_cmd", "refresh": "refresh_cmd", "copy": "copy_cmd"}

#: Every option of the shared groups: spelled, typed and shown the same in each command.
SHARED = ["--from-file", "--null", "--recursive", "--ip", "--export", "--cache",
          "--resource-group", "--cache-id", "--path-kind", "--mountinfo", "--output",
          "--report", "--failed-to", "--verbose", "--quiet", "--junit", "--shard",
          "--allow-partial", "--no-pipeline-log"]


def command(name: str) -> Any:
    app = typer.Typer()
    importlib.import_module(f"hpccache_cli.cli.{PATH_COMMANDS[name]}").register(app)
    return typer.main.get_group(app).commands[name]


def option(cmd: Any, flag: str) -> Any:
    return next((p for p in cmd.params if flag in getattr(p, "opts", [])), None)


def shape(param: Any) -> tuple[Any, ...]:
    """What must not differ between commands (the help text may: it says what it does;
    the panel too: refresh lists --shard under Output, its only pipeline option)."""
    default = param.default
    return (tuple(param.opts), tuple(param.secondary_opts), param.metavar,
            repr(param.type_descriptor.annotation),
            tuple(default) if isinstance(default, list) else default,
            param.multiple, param.is_flag, param.envvar)


@pytest.mark.parametrize("flag", SHARED)
def test_a_shared_option_reads_the_same_in_every_path_command(flag: str) -> None:
    shapes = {name: shape(p) for name in PATH_COMMANDS
              if (p := option(command(name), flag)) is not None}
    assert "flush" in shapes  # flush has every shared option
    assert len(set(shapes.values())) == 1, shapes


def test_the_where_group_comes_right_after_the_arguments() -> None:
    """``grouped_options(after_arguments=True)`` keeps --help's order: arguments, then the
    input and where options, then the command's own (``copy``: SRC DEST, --ip, ... --flush)."""
    names = [p.name for p in command("copy").params]
    assert names[:3] == ["sources", "dest", "ip"]
    assert names.index("mountinfo") < names.index("flush") < names.index("output")
    names = [p.name for p in command("flush").params]
    assert names[:2] == ["paths", "from_file"]
    assert names.index("mountinfo") < names.index("force")
    assert names.index("connections") < names.index("output") < names.index("portmap_port")


def test_a_signal_during_the_run_calls_request_stop_and_the_handler_goes() -> None:
    stops: list[bool] = []

    async def run() -> str:
        stopped = asyncio.Event()

        def request_stop() -> None:
            stops.append(True)
            stopped.set()

        async def engine() -> str:
            os.kill(os.getpid(), signal.SIGTERM)  # handled by the loop, not the default
            await asyncio.wait_for(stopped.wait(), 30)
            return "summary"

        result = await run_until_stopped(engine, request_stop)
        assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        return result

    assert asyncio.run(run()) == "summary"
    assert stops == [True]
