"""Azure DevOps logging commands: escaping, caps, progress, output variables, --allow-partial.

Lines are checked by parsing them the way the agent does (``CommandStringConvertor`` in
azure-pipelines-agent): a command is a line starting with ``##vso[``, properties end at the first
``]``, split on ``;`` and at the first ``=``, and are unescaped by the agent's mapping, then
``%AZP25`` -> ``%``. A value that comes back different, or a command split over two lines, fails.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hpccache_cli.flush.results import FileResult, Outcome
from hpccache_cli.pipelines.text import display_name
from hpccache_cli.pipelines.vso import (
    COUNT_VARIABLES,
    PipelineLog,
    detect,
    escape_data,
    escape_property,
    format_command,
)

_AGENT_MAPPING = ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D"))


def agent_unescape(text: str) -> str:
    for token, replacement in _AGENT_MAPPING:
        text = text.replace(replacement, token)
    return text.replace("%AZP25", "%")


@dataclass
class Command:
    area_action: str
    properties: dict[str, str]
    data: str


def parse_line(line: str) -> Command:
    assert line.startswith("##vso["), line
    body = line[len("##vso[") :]
    end = body.index("]")
    head, data = body[:end], body[end + 1 :]
    area_action, _, props_text = head.partition(" ")
    props: dict[str, str] = {}
    for pair in props_text.split(";"):
        if pair.strip():
            key, _, value = pair.partition("=")
            props[key] = agent_unescape(value)
    return Command(area_action, props, agent_unescape(data))


def parse_output(text: str) -> list[Command]:
    # Every line must be a command: a value that broke a line would leave a non-command line.
    assert text.endswith("\n")
    return [parse_line(line) for line in text[:-1].split("\n")]


@dataclass(frozen=True)
class R:
    path: str
    outcome: str
    reason: str | None = None
    seconds: float = 0.1
    attempts: int = 1


TRICKY = "/mnt/out/a;b]c%d\ne\r%0A%3B%AZP25.dat"


def test_escape_rules_match_the_task_library() -> None:
    assert escape_data("100%\r\n;]") == "100%AZP25%0D%0A;]"
    assert escape_property("100%\r\n;]") == "100%AZP25%0D%0A%3B%5D"
    # % first: an already-escaped-looking value is not decoded by the agent.
    assert escape_property("%0A") == "%AZP250A"
    assert agent_unescape(escape_property("%0A")) == "%0A"


@given(st.text())
def test_property_and_data_round_trip_through_the_agent(value: str) -> None:
    line = format_command("task.setvariable", {"variable": "v", "isoutput": "true"}, value)
    assert "\n" not in line and "\r" not in line
    cmd = parse_line(line)
    assert cmd.data == value
    line = format_command("task.logissue", {"type": "error", "code": value}, "m")
    cmd = parse_line(line)
    assert cmd.properties == {"type": "error", "code": value}
    assert cmd.data == "m"


def test_documented_command_forms() -> None:
    assert format_command("task.logissue", {"type": "error"}, "x") == (
        "##vso[task.logissue type=error]x"
    )
    assert format_command("task.setprogress", {"value": "5"}, terminate=True) == (
        "##vso[task.setprogress value=5;]"
    )
    assert format_command("task.complete", {"result": "SucceededWithIssues"}, terminate=True) == (
        "##vso[task.complete result=SucceededWithIssues;]"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("True", True),
        ("true", True),
        ("TRUE", True),
        (" True ", True),
        ("False", False),
        ("", False),
        ("1", False),
        (None, False),
    ],
)
def test_detect(value: str | None, expected: bool) -> None:
    env = {} if value is None else {"TF_BUILD": value}
    assert detect(env) is expected


def test_failed_path_with_syntax_characters_is_one_escaped_line() -> None:
    out = io.StringIO()
    log = PipelineLog(out)
    log.on_result(R(TRICKY, "failed", "NFS3ERR_IO\nfrom the cache"))
    text = out.getvalue()
    assert text.count("\n") == 1, text
    assert "%AZP25" in text and "%0A" in text and "\r" not in text
    (cmd,) = parse_output(text)
    assert cmd.area_action == "task.logissue"
    assert cmd.properties == {"type": "error"}
    # The path is shown in its unambiguous form; the reason keeps its line break via %0A.
    assert cmd.data == f"Flush failed: {display_name(TRICKY)}: NFS3ERR_IO\nfrom the cache"
    assert "a;b]c%d\\x0ae\\x0d%0A%3B%AZP25.dat" in cmd.data


def test_unencodable_and_control_names_do_not_break_a_strict_utf8_stream() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="\n")
    log = PipelineLog(out)
    name = "/mnt/\udcff\x1b[31mred\u2028x"
    log.on_result(R(name, "skipped", "excluded"))
    out.flush()
    text = raw.getvalue().decode("utf-8")
    assert "\x1b" not in text and "\u2028" not in text
    (cmd,) = parse_output(text)
    assert cmd.properties == {"type": "warning"}
    assert cmd.data == "Skipped: /mnt/\\xff\\x1b[31mred\\u2028x: excluded"


def test_non_utf8_stream_falls_back_to_backslash_escapes() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii", errors="strict", newline="\n")
    PipelineLog(out).on_result(R("/mnt/caf\u00e9", "failed", "boom"))
    out.flush()
    assert raw.getvalue() == b"##vso[task.logissue type=error]Flush failed: /mnt/caf\\xe9: boom\n"


def test_errors_and_warnings_are_capped_and_the_rest_counted() -> None:
    out = io.StringIO()
    log = PipelineLog(out, max_errors=3, max_warnings=2)
    for i in range(5):
        log.on_result(R(f"/f{i}", "failed", "io"))
    log.on_result(R("/u", "unfinished"))
    for i in range(4):
        log.on_result(R(f"/s{i}", "skipped", "not in cache"))
    for outcome in ("flushed", "clean", "started"):
        log.on_result(R("/ok", outcome))
    assert log.issues_written == (3, 2)
    code = log.finish({"flushed": 1, "clean": 1, "failed": 5, "skipped": 4, "unfinished": 1}, False)
    assert code == 1
    cmds = parse_output(out.getvalue())
    errors = [c.data for c in cmds if c.properties.get("type") == "error"]
    warnings = [c.data for c in cmds if c.properties.get("type") == "warning"]
    assert errors == [
        "Flush failed: /f0: io",
        "Flush failed: /f1: io",
        "Flush failed: /f2: io",
        "3 more failed files not listed (run with --report FILE or --junit FILE to list all of "
        "them)",
    ]
    assert warnings == [
        "Skipped: /s0: not in cache",
        "Skipped: /s1: not in cache",
        "2 more warnings not listed",
    ]
    assert not any(c.area_action == "task.complete" for c in cmds)


def test_unfinished_is_an_error_with_a_default_reason() -> None:
    out = io.StringIO()
    PipelineLog(out).on_result(R("/x", "unfinished"))
    (cmd,) = parse_output(out.getvalue())
    assert cmd.data == "Flush did not finish: /x: interrupted before it finished"


def test_retry_storm_hook_and_threshold() -> None:
    out = io.StringIO()
    log = PipelineLog(out, retry_storm_attempts=5)
    log.on_result(R("/calm", "flushed", attempts=4))
    log.on_result(R("/stormy", "flushed", attempts=7))
    log.retry_storm("/direct;]", 12)
    cmds = parse_output(out.getvalue())
    assert [(c.properties["type"], c.data.split(" (")[0]) for c in cmds] == [
        ("warning", "Flush retried 7 times: /stormy"),
        ("warning", "Flush retried 12 times: /direct;]"),
    ]


def test_progress_only_when_the_percent_changes() -> None:
    out = io.StringIO()
    log = PipelineLog(out)
    log.progress(0, None)  # total unknown while input streams: nothing
    for done in range(0, 301):
        log.progress(done, 300)
    log.progress(301, 300)  # never above 100
    cmds = parse_output(out.getvalue())
    values = [int(c.properties["value"]) for c in cmds]
    assert all(c.area_action == "task.setprogress" for c in cmds)
    assert values == list(range(0, 101))
    assert cmds[-1].data == "hpccache flush: 300/300"
    assert out.getvalue().splitlines()[1] == "##vso[task.setprogress value=1;]hpccache flush: 3/300"


def _variables(cmds: list[Command]) -> dict[str, str]:
    found = {}
    for c in cmds:
        if c.area_action == "task.setvariable":
            assert c.properties["isoutput"] == "true"
            found[c.properties["variable"]] = c.data
    return found


def test_finish_sets_every_count_variable() -> None:
    out = io.StringIO()
    code = PipelineLog(out).finish({"flushed": 7, "clean": 2, "skipped": 1}, allow_partial=False)
    assert code == 0
    cmds = parse_output(out.getvalue())
    assert _variables(cmds) == {
        "flushed": "7",
        "clean": "2",
        "failed": "0",
        "skipped": "1",
        "unfinished": "0",
        "total": "10",
    }
    assert [c.properties["variable"] for c in cmds] == list(COUNT_VARIABLES)
    first = out.getvalue().splitlines()[0]
    assert first == "##vso[task.setvariable variable=flushed;isoutput=true]7"


def test_explicit_total_wins() -> None:
    out = io.StringIO()
    PipelineLog(out).finish({"flushed": 1, "total": 40}, allow_partial=False)
    assert _variables(parse_output(out.getvalue()))["total"] == "40"


def test_allow_partial_with_failures_succeeds_with_issues() -> None:
    out = io.StringIO()
    log = PipelineLog(out)
    log.on_result(R("/bad", "failed", "NFS3ERR_STALE"))
    code = log.finish({"flushed": 3, "failed": 1}, allow_partial=True)
    assert code == 0
    lines = out.getvalue().splitlines()
    assert lines[-1] == (
        "##vso[task.complete result=SucceededWithIssues;]1 of 4 files was not flushed "
        "(--allow-partial)"
    )
    assert _variables(parse_output(out.getvalue()))["failed"] == "1"


def test_allow_partial_counts_unfinished_as_failure() -> None:
    out = io.StringIO()
    assert PipelineLog(out).finish({"flushed": 3, "unfinished": 2}, allow_partial=True) == 0
    assert "task.complete result=SucceededWithIssues" in out.getvalue()
    out = io.StringIO()
    assert PipelineLog(out).finish({"flushed": 3, "unfinished": 2}, allow_partial=False) == 1


def test_allow_partial_without_failures_is_a_plain_success() -> None:
    out = io.StringIO()
    assert PipelineLog(out).finish({"flushed": 3, "skipped": 2}, allow_partial=True) == 0
    assert "task.complete" not in out.getvalue()


def test_bad_caps_are_refused() -> None:
    with pytest.raises(ValueError):
        PipelineLog(io.StringIO(), max_errors=-1)


def test_status_only_and_unknown_failures_are_errors() -> None:
    out = io.StringIO()
    log = PipelineLog(out)
    for outcome in ("dirty", "flushing", "exploded", "written-back", "started"):
        log.on_result(R(f"/{outcome}", outcome))
    assert [c.data for c in parse_output(out.getvalue())] == [
        "Not written back: /dirty: dirty in the cache",
        "Not written back yet: /flushing: write-back still running",
        "Flush exploded: /exploded: exploded",
    ]


def test_extra_outcomes_become_variables_and_count_as_the_engine_does() -> None:
    out = io.StringIO()
    counts = Counter({Outcome.STARTED.value: 5, "written-back": 2, "dirty": 1})
    code = PipelineLog(out).finish(counts, allow_partial=False)
    assert code == 1  # dirty is not written back
    variables = _variables(parse_output(out.getvalue()))
    assert variables == {
        "flushed": "0",
        "clean": "0",
        "failed": "0",
        "skipped": "0",
        "unfinished": "0",
        "total": "8",
        "started": "5",
        "written_back": "2",
        "dirty": "1",
    }


def test_enum_keys_and_no_wait_success() -> None:
    out = io.StringIO()
    assert PipelineLog(out).finish({Outcome.STARTED: 3, "total": 3}, allow_partial=False) == 0
    assert _variables(parse_output(out.getvalue()))["started"] == "3"


def test_the_engines_own_file_result_fits() -> None:
    out = io.StringIO()
    log = PipelineLog(out, retry_storm_attempts=5)
    log.on_result(FileResult(b"/mnt/\xff;x", Outcome.FAILED, "NFS3ERR_IO", 1.0, 6, "io"))
    log.on_result(FileResult(b"/mnt/ok", Outcome.CLEAN, "", 0.1, 1))
    cmds = parse_output(out.getvalue())
    assert [(c.properties["type"], c.data.split(" (")[0]) for c in cmds] == [
        ("error", "Flush failed: /mnt/\\xff;x: NFS3ERR_IO"),
        ("warning", "Flush retried 6 times: /mnt/\\xff;x"),
    ]


def test_unlisted_failures_point_to_what_lists_them_and_counts_are_plural() -> None:
    """The line that counts failures over the cap names the outputs that hold every one of
    them (-o json has counts only); a count of one is singular."""
    out = io.StringIO()
    log = PipelineLog(out, max_errors=1, max_warnings=0,
                      listed_in="--report r.jsonl, --junit j.xml")
    for i in range(2):
        log.on_result(R(f"/f{i}", "failed", "io"))
    log.on_result(R("/s", "skipped", "dir"))
    log.finish({"failed": 2, "skipped": 1}, allow_partial=True)
    data = [c.data for c in parse_output(out.getvalue())]
    assert ("1 more failed file not listed (all of them are in --report r.jsonl, --junit "
            "j.xml)") in data
    assert "1 more warning not listed" in data
    assert "2 of 3 files were not flushed (--allow-partial)" in data


def test_progress_moves_every_percent_and_at_least_every_10_seconds() -> None:
    """A huge list moves less than 1 % in minutes: the step's progress is still written every
    10 s while files finish (the count in the message moves), never going backwards."""
    out, now = io.StringIO(), [0.0]
    log = PipelineLog(out, clock=lambda: now[0])
    log.progress(1, 10_000)  # 0 %: the first one is written
    log.progress(2, 10_000)  # same percent, 0 s later: not
    now[0] = 10.0
    log.progress(3, 10_000)  # same percent, 10 s later: written
    log.progress(3, 10_000)
    now[0] = 30.0
    log.progress(3, 10_000)  # nothing finished meanwhile: nothing new to say
    log.progress(150, 10_000)  # 1 %
    log.progress(150, 20_000)  # the estimated total grew: stays at 1 %, not 0
    now[0] = 45.0
    log.progress(151, 20_000)
    got = [(c.properties["value"], c.data) for c in parse_output(out.getvalue())]
    assert got == [("0", "hpccache flush: 1/10000"), ("0", "hpccache flush: 3/10000"),
                   ("1", "hpccache flush: 150/10000"), ("1", "hpccache flush: 151/20000")]
