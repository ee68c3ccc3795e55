"""Every emulator config field is typed and range-checked (issue 19, "one line, never a
traceback"), and docs/emulator-config.md documents each one in the check's own words.

A port of 70000 used to end in an OverflowError traceback, ``"soon"`` for a number in a
TypeError; ``latency_ms = -5``, ``nan``, ``per_file_seconds = "fast"`` and a string for a list
were accepted (the emulator started and failed later). Now each is one line naming the field
and what is allowed, exit 2, before anything starts: tested as the user runs it.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
from emulator_support import put

from hpccache_cli.emulator import config as cfg
from hpccache_cli.emulator.config_fields import checks
from hpccache_cli.errors import EXIT_USAGE

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "emulator-config.md"
BASE = {
    "cache": {"name": '"c"', "mount_addresses": '["127.0.0.11"]'},
    "ports": {"portmap": "0", "mount": "0", "nfs": "0", "arm": "-1"},
    "writeback": {},
    "faults": {},
}
TARGET = '[[storage_targets]]\nname = "nas1"\nbackend_dir = "b"\n{target}\n' \
         '[[storage_targets.junctions]]\nnamespace_path = "/NAS"\n{junction}\n'


def toml(section: str, key: str, value: str) -> str:
    """The base config with ``[section] key = value`` set (TOML literal ``value``)."""
    parts = []
    for name, fields in BASE.items():
        values = {**fields, **({key: value} if name == section else {})}
        parts.append(f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items()))
    extra = {"storage_targets": "target", "storage_targets.junctions": "junction"}.get(section)
    line = f"{key} = {value}" if extra else ""
    parts.append(TARGET.format(target=line if extra == "target" else "",
                               junction=line if extra == "junction" else ""))
    return "\n".join(parts)


def run_emulator(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hpccache_cli", "emulator", "run", "--config", str(config)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )


CASES = [
    # (section, key, TOML value, what the one line must say)
    ("ports", "nfs", "70000", "[ports] nfs must be an integer from 0 to 65535"),
    ("ports", "mount", "-3", "[ports] mount must be an integer from 0 to 65535"),
    ("ports", "nfs", '"soon"', "[ports] nfs must be an integer from 0 to 65535 (0 = pick a free"
     " port), not 'soon'"),
    ("ports", "arm", "-2", "[ports] arm must be an integer from -1 to 65535"),
    ("faults", "latency_ms", "-5", "[faults] latency_ms must be a number from 0 to 3600000"
     " (milliseconds), not -5"),
    ("faults", "latency_ms", "nan", "[faults] latency_ms must be a number from 0 to 3600000"),
    ("faults", "latency_ms", "inf", "latency_ms must be a number from 0 to 3600000 (milliseconds)"
     ", not inf"),
    ("writeback", "per_file_seconds", '"fast"', "[writeback] per_file_seconds must be a number"
     " from 0 to 3600 (seconds), not 'fast'"),
    ("writeback", "parallel", "1.5", "[writeback] parallel must be an integer from 1 to 65536"),
    ("faults", "jukebox_every", "-1", "[faults] jukebox_every must be an integer from 0 to"),
    ("faults", "drop_connection_every", "true", "drop_connection_every must be an integer"),
    ("storage_targets", "usage_model", '"FAST_WRITES"', "[storage_targets[0]] usage_model must"
     " be one of READ_HEAVY_INFREQ, "),
    ("faults", "failing_paths", '"/NAS/x"', "[faults] failing_paths must be a list of strings,"
     " each an absolute path, not '/NAS/x'"),
    ("faults", "denied_paths", '["NAS/x"]', "'NAS/x' must start with '/'"),
    ("faults", "down_addresses", '["nowhere"]', "'nowhere' is not an IP address"),
    ("faults", "bare_commit_replies", '"yes"', "bare_commit_replies must be a boolean"),
    ("cache", "mount_addresses", '["10.0.0.1"]', "10.0.0.1 is not a loopback address"),
    ("cache", "cache_size_gb", "0", "[cache] cache_size_gb must be an integer from 1 to"),
    ("storage_targets", "write_back_delay_seconds", "-5", "write_back_delay_seconds must be a"
     " number from -1 to"),
    ("storage_targets.junctions", "target_path", '"sub"', "target_path must be an absolute path"),
    ("faults", "latency", "5", "unknown key(s) in [faults]: latency (did you mean latency_ms?)"),
    ("ports", "nfs_port", "2049", "unknown key(s) in [ports]: nfs_port (did you mean nfs?)"),
]


@pytest.mark.parametrize(("section", "key", "value", "expected"), CASES,
                         ids=[f"{c[0]}.{c[1]}={c[2]}" for c in CASES])
def test_a_bad_value_is_one_line_exit_2(
    tmp_path: Path, section: str, key: str, value: str, expected: str
) -> None:
    proc = run_emulator(put(tmp_path / "emu.toml", toml(section, key, value)))
    assert proc.returncode == EXIT_USAGE, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("hpccache: error: ") and expected in line, line
    assert "docs/emulator-config.md" in line


def test_values_at_the_bounds_are_accepted(tmp_path: Path) -> None:
    text = toml("faults", "latency_ms", "0").replace("[faults]\n", "[faults]\njukebox_every = 0\n"
                                                     "failing_paths = ['/NAS//x/']\n")
    text = text.replace('"/NAS"\n', '"/NAS"\ntarget_path = "/"\n')
    data = __import__("tomllib" if sys.version_info >= (3, 11) else "tomli").loads(text)
    data["ports"].update(mount=65535, nfs=1, arm=-1)
    data["writeback"] = {"per_file_seconds": 3600, "parallel": 1}
    loaded = cfg.config_from_dict(data, tmp_path)
    assert loaded.faults.failing_paths == ["/NAS/x"]  # normalised
    assert isinstance(loaded.writeback.per_file_seconds, float)
    assert (loaded.ports.mount, loaded.ports.arm) == (65535, -1)


def doc_sections() -> dict[str, str]:
    """The text of each ``## [section]`` of the doc, keyed by section name."""
    parts = re.split(r"^## \[\[?([a-z_.]+)\]\]?\s*$", DOC.read_text(), flags=re.M)
    return {parts[i]: parts[i + 1].split("\n## ")[0] for i in range(1, len(parts), 2)}


def test_every_field_has_a_check_and_a_doc_row_in_its_own_words() -> None:
    sections = doc_sections()
    assert set(sections) == set(cfg.SECTIONS)
    for name, cls in cfg.SECTIONS.items():
        declared = {f.name for f in dataclasses.fields(cls)} - {"junctions"}
        fields = checks(cls)
        assert set(fields) == declared, f"[{name}]: declare every field with setting(...)"
        rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", sections[name], flags=re.M))
        assert set(rows) == declared, f"[{name}]: one row per field in {DOC.name}"
        for key, check in fields.items():
            assert rows[key].strip() == check.allowed(), f"[{name}] {key}"


def test_the_doc_example_and_the_init_sample_load(tmp_path: Path) -> None:
    example = re.search(r"```toml\n(.*?)```", DOC.read_text(), flags=re.S)
    assert example is not None
    loaded = cfg.load_config(put(tmp_path / "doc.toml", example.group(1)))
    assert loaded.faults.latency_ms == 0.0 and loaded.ports.arm == 0
    proc = subprocess.run([sys.executable, "-m", "hpccache_cli", "emulator", "init",
                           str(tmp_path / "emu")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    sample = cfg.load_config(tmp_path / "emu" / "emulator.toml")
    assert "docs/emulator-config.md" in (tmp_path / "emu" / "emulator.toml").read_text()
    assert [t.name for t in sample.storage_targets] == ["nas1", "blob1", "archive"]
