"""Helpers for ``test_flush_pipeline``: decode logging commands as the Azure Pipelines agent
does, check a JUnit report against the ``--report`` of the same run, and run a command on a
pseudo-terminal (to see what a person, or a pipeline agent that allocates one, would get).
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import threading
from pathlib import Path
from typing import Any

from junit_schema import validate_junit

from hpccache_cli.pipelines.text import display_name

_VSO = re.compile(r"##vso\[(?P<cmd>[a-z]+\.[a-z]+)(?: (?P<props>[^\]]*))?\](?P<msg>.*)")
# The agent's prefix, also with invisible format characters between its letters (a
# culture-aware IndexOf may skip them); and the log viewer's "##[" formatting commands.
_INVISIBLE = "[\u00ad\u034f\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]*"
_LOOSE_PREFIX = re.compile(f"#{_INVISIBLE}#{_INVISIBLE}v{_INVISIBLE}s{_INVISIBLE}o{_INVISIBLE}\\[")
_LOOSE_FORMAT = re.compile(f"#{_INVISIBLE}#{_INVISIBLE}\\[")


def _unescape(text: str, prop: bool) -> str:
    """The agent's decoding (CommandStringConvertor.Unescape): %AZP25 -> % comes last."""
    pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%5D", "]"), ("%3B", ";")] if prop else [])
    for code, char in pairs:
        text = text.replace(code, char)
    return text.replace("%AZP25", "%")


#: The commands hpccache writes; any other one in its output would be forged.
OUR_COMMANDS = frozenset({"task.logissue", "task.setprogress", "task.setvariable",
                          "task.complete"})


def agent_lines(text: str) -> list[str]:
    """Lines as the agent reads them: it splits at LF, CRLF and a bare CR."""
    return re.split(r"\r\n|\r|\n", text)


def commands(text: str) -> list[tuple[str, dict[str, str], str]]:
    """Every logging command in ``text``, found by the agent's rule (``##vso[`` ANYWHERE in
    a line, Command.TryParse), decoded as the agent does: (area.action, properties, message).

    Fails unless each command is one of ours, alone at the start of its line, and no line
    holds a second prefix (also one hidden by invisible characters) or a ``##[`` formatting
    command: anything else would come from a file name or a message.
    """
    out = []
    for line in agent_lines(text):
        assert not _LOOSE_FORMAT.search(line), f"formatting command in output: {line!r}"
        found = [m.start() for m in _LOOSE_PREFIX.finditer(line)]
        if not found:
            continue
        assert found == [0] and line.startswith("##vso["), f"forged command: {line!r}"
        m = _VSO.fullmatch(line)
        assert m, f"malformed logging command: {line!r}"
        props = {}
        for part in filter(None, (m["props"] or "").split(";")):
            key, _, value = part.partition("=")
            props[key] = _unescape(value, prop=True)
        assert m["cmd"] in OUR_COMMANDS, f"not one of our commands: {line!r}"
        out.append((m["cmd"], props, _unescape(m["msg"], prop=False)))
    return out


def issues(cmds: list[tuple[str, dict[str, str], str]], kind: str) -> list[str]:
    return [msg for cmd, props, msg in cmds if cmd == "task.logissue" and props["type"] == kind]


def variables(cmds: list[tuple[str, dict[str, str], str]]) -> dict[str, int]:
    out = {}
    for cmd, props, msg in cmds:
        if cmd == "task.setvariable":
            assert props["isoutput"] == "true"
            out[props["variable"]] = int(msg)
    return out


def read_report(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def check_junit(path: Path, report: list[dict[str, Any]]) -> None:
    """The JUnit file against the --report of the same run: the documented structure, one
    test case per input path, failures with the reason, skips as skipped."""
    root = validate_junit(path)  # the common Jenkins JUnit schema's constraints first
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    by_name = {display_name(r["path"]): r for r in report}
    assert len(by_name) == len(report) == len(cases)
    # A repeated input's case says so: "PATH (duplicate #N)", N counting the repeats
    names = [c.get("name") or "" for c in cases]
    assert len(set(names)) == len(names)
    plain = [re.sub(r" \(duplicate #[0-9]+\)$", "", n) for n in names]
    assert sorted(plain) == sorted(by_name)
    for name, path in zip(names, plain, strict=True):
        assert (name != path) == (by_name[path].get("kind") == "duplicate"), name
    failures = skipped = 0
    for case, path in zip(cases, plain, strict=True):
        assert case.get("classname") == "hpccache.flush" and float(case.get("time", "-1")) >= 0
        rec = by_name[path]
        failure, skip = case.find("failure"), case.find("skipped")
        if rec["outcome"] in ("failed", "unfinished"):
            failures += 1
            assert failure is not None and skip is None
            assert failure.get("type") == rec["outcome"]
            assert rec["reason"] in failure.get("message", "")
        elif rec["outcome"] == "skipped":
            skipped += 1
            assert skip is not None and failure is None and skip.get("message") == rec["reason"]
        else:
            assert failure is None and skip is None, rec
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"),
            suite.get("errors")) == (str(len(cases)), str(failures), str(skipped), "0")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (
        str(len(cases)), str(failures), "0")


def colours(screen: bytes) -> set[int]:
    """The colour parameters (30-38, 40-48, 90-97, 100-107) of the SGR sequences in
    ``screen``; bold/dim/reset are not colour (https://no-color.org)."""
    found = set()
    for params in re.findall(rb"\x1b\[([0-9;]*)m", screen):
        for p in filter(None, params.split(b";")):
            n = int(p)
            if 30 <= n <= 38 or 40 <= n <= 48 or 90 <= n <= 97 or 100 <= n <= 107:
                found.add(n)
    return found


def on_terminal(cmd: list[str], env: dict[str, str], data: bytes,
                stream: str) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    """Run with ``stream`` (stdout or stderr) on a pseudo-terminal; the other is a pipe."""
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        kwargs: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE,
                                  stream: slave}
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, **kwargs)
        os.close(slave)
        out, err = proc.communicate(data, timeout=60)
        reader.join(10)
    finally:
        os.close(master)
    done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    return done, b"".join(chunks)
