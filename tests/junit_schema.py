"""The common Jenkins JUnit schema (xunit-plugin's ``junit-10.xsd``) as a small validator.

Azure Pipelines' PublishTestResults@2, Jenkins and GitLab read reports of this shape; a report
with an attribute the schema does not have may be rejected or mis-read by a stricter reader.
The facts encoded here (elements, children, attributes, which are required, the time format)
come from that schema; :func:`validate_junit` fails on anything else, so every report the tests
produce is held to it, not to our own reading of it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

# xs:pattern of SUREFIRE_TIME: digits with optional "," thousands groups, optional fraction.
_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")

# element -> (allowed attributes, required attributes, allowed children, text allowed)
_RERUN = ({"message", "type"}, {"type"}, {"stackTrace", "system-out", "system-err"}, True)
SCHEMA: dict[str, tuple[set[str], set[str], set[str], bool]] = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, set(), {"testsuite"},
                   False),
    "testsuite": ({"name", "tests", "failures", "errors", "group", "time", "skipped",
                   "timestamp", "hostname", "id", "package", "file", "log", "url"},
                  {"name", "tests", "failures", "errors"},
                  {"testsuite", "properties", "testcase", "system-out", "system-err"}, False),
    "testcase": ({"name", "time", "classname", "group"}, {"name"},
                 {"skipped", "error", "failure", "rerunFailure", "rerunError", "flakyFailure",
                  "flakyError", "system-out", "system-err"}, False),
    "failure": ({"type", "message"}, set(), set(), True),
    "error": ({"type", "message"}, set(), set(), True),
    "skipped": ({"type", "message"}, set(), set(), True),
    "properties": (set(), set(), {"property"}, False),
    "property": ({"name", "value"}, {"name", "value"}, set(), False),
    "system-out": (set(), set(), set(), True),
    "system-err": (set(), set(), set(), True),
    "stackTrace": (set(), set(), set(), True),
    "rerunFailure": _RERUN, "rerunError": _RERUN, "flakyFailure": _RERUN, "flakyError": _RERUN,
}
_TIMED = {"testsuites", "testsuite"}  # where "time" is SUREFIRE_TIME, not any string
# "timestamp" on <testsuite> is xs:string in junit-10.xsd: any text, so an ISO 8601 time with
# its zone is valid (Ant's older JUnit.xsd pattern forbids a zone; this schema does not).


def _check(el: ET.Element, where: str) -> None:
    allowed, required, children, text = SCHEMA[el.tag]
    extra = set(el.attrib) - allowed
    assert not extra, f"{where}: attributes {sorted(extra)} are not in the JUnit schema"
    missing = required - set(el.attrib)
    assert not missing, f"{where}: required attributes {sorted(missing)} missing"
    if el.tag in _TIMED and "time" in el.attrib:
        assert _TIME.fullmatch(el.attrib["time"]), f"{where}: time={el.attrib['time']!r}"
    if not text:
        assert not (el.text or "").strip(), f"{where}: text not allowed"
    for i, child in enumerate(el):
        assert child.tag in children, f"{where}: <{child.tag}> not allowed in <{el.tag}>"
        assert not (child.tail or "").strip() or text, f"{where}: text not allowed"
        _check(child, f"{where}/{child.tag}[{i}]")


def check_schema(root: ET.Element) -> ET.Element:
    """Fail unless the parsed report ``root`` is valid against the schema; return it."""
    assert root.tag in ("testsuites", "testsuite"), f"root element <{root.tag}>"
    _check(root, root.tag)
    return root


def validate_junit(path: Path | str) -> ET.Element:
    """Parse ``path`` and fail unless it is valid against the schema; return the root."""
    return check_schema(ET.parse(path).getroot())
