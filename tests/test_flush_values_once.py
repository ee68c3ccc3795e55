"""Each flush value is checked once, by the library, and choices stay members (#18).

Before #18 ``--timeout`` was checked by Typer's ``min``, then by the job, then by the engine,
with two different messages for one mistake; ``--path-kind``, ``--fallback`` and ``--mode``
were Typer enums turned into strings and checked again against tuples of strings. Now the
option's type is the library's choice (``PathKind``, ``Fallback``, ``Mode``), the member goes
through to the library, and a wrong value is one ``FlushOptionError`` the CLI renders with its
flag (``cli/flags.py``).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from hpccache_cli.flush.errors import FlushOptionError
from hpccache_cli.flush.options import FlushOptions, Mode, PathKind
from hpccache_cli.jobs.flush.naming import check_naming
from hpccache_cli.jobs.flush.values import Fallback, FlushRequest


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hpccache_cli", *args], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=60)


FLUSH = ("flush", "--ip", "127.0.0.1", "--export", "/x", "/a")


@pytest.mark.parametrize(("args", "line"), [
    ((*FLUSH, "--timeout", "-1"),
     "--timeout must be 0 (no limit) or a positive number of seconds"),
    ((*FLUSH, "-j", "0"), "--concurrency (-j; flush-file --threads) must be at least 1, not 0"),
    ((*FLUSH, "--retries", "-1"), "--retries must be 0 or more"),
    ((*FLUSH, "--connections", "0"), "--connections must be at least 1"),
    (("flush-file", "/x", "127.0.0.1", "--threads", "0"), "--threads must be at least 1, not 0"),
    (("flush-file", "/x", "127.0.0.1", "--timeout", "-2"),
     "--timeout must be 0 (no limit) or a positive number of seconds"),
], ids=["timeout", "concurrency", "retries", "connections", "threads", "flush-file-timeout"])
def test_a_number_out_of_range_is_the_librarys_one_line(args: tuple[str, ...], line: str) -> None:
    proc = run(*args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [f"hpccache: error: {line}"], proc.stderr


def test_the_options_are_the_librarys_choices() -> None:
    from hpccache_cli.cli import flush_cmd

    assert flush_cmd.PathKindChoice is PathKind
    assert flush_cmd.FallbackChoice is Fallback
    assert flush_cmd.ModeChoice is Mode


def test_a_string_from_python_becomes_the_member_once() -> None:
    request = FlushRequest(cache="c", resource_group="g", path_kind="namespace",
                           fallback="target-flush")
    check_naming(request, [])
    assert request.path_kind is PathKind.NAMESPACE and request.fallback is Fallback.TARGET_FLUSH
    options = FlushOptions(mode="sync")
    options.validate()
    assert options.mode is Mode.SYNC and options.mode == "sync" and f"{options.mode}" == "sync"


@pytest.mark.parametrize(("keyword", "value", "text"), [
    ("path_kind", "sideways", "path_kind must be one of local, namespace, export, not 'sideways'"),
    ("fallback", "retry", "fallback must be one of target-flush, not 'retry'"),
])
def test_a_wrong_choice_from_python_names_the_keyword(keyword: str, value: str,
                                                      text: str) -> None:
    request = FlushRequest(cache="c", resource_group="g", **{keyword: value})
    with pytest.raises(FlushOptionError) as wrong:
        check_naming(request, [])
    assert str(wrong.value) == text and wrong.value.fields == (keyword,)
    assert wrong.value.hint == "invalid_choice"
