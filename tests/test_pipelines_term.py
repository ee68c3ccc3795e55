"""Colour and live progress only on a real terminal, never with NO_COLOR, TERM=dumb or TF_BUILD."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import IO, Any

import pytest

from hpccache_cli.pipelines.term import is_interactive, use_color


@pytest.fixture
def tty() -> Iterator[IO[Any]]:
    """A real terminal: the slave side of a pseudo-terminal."""
    master, slave = os.openpty()
    stream = open(slave, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        yield stream
    finally:
        stream.close()
        os.close(master)


def test_real_terminal_is_interactive_and_coloured(tty: IO[Any]) -> None:
    assert is_interactive(tty)
    assert use_color(tty, {"TERM": "xterm-256color"})


@pytest.mark.parametrize(
    "env",
    [
        {"NO_COLOR": "1"},
        {"NO_COLOR": "0"},  # any non-empty value counts
        {"TERM": "dumb"},
        {"TF_BUILD": "True"},
        {"TF_BUILD": "true", "TERM": "xterm"},
    ],
)
def test_no_colour_on_a_terminal_when_the_environment_says_so(
    tty: IO[Any], env: dict[str, str]
) -> None:
    assert not use_color(tty, env)


def test_empty_no_color_is_ignored(tty: IO[Any]) -> None:
    assert use_color(tty, {"NO_COLOR": "", "TF_BUILD": "False"})


def test_pipes_files_and_closed_streams_are_not_terminals(tmp_path: Any) -> None:
    read_fd, write_fd = os.pipe()
    with open(write_fd, "w") as pipe, open(tmp_path / "log", "w") as log:
        os.close(read_fd)
        for stream in (pipe, log, io.StringIO()):
            assert not is_interactive(stream)
            assert not use_color(stream, {})
    closed = io.StringIO()
    closed.close()
    assert not is_interactive(closed)  # isatty() raises ValueError on a closed stream
    assert not is_interactive(object())  # type: ignore[arg-type]
