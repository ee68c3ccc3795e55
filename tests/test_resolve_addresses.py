"""Mount addresses are checked wherever they come from (issue #19, "faults are named").

From ARM: an entry that is not an IP address (``localhost``, ``not an ip``, ``127.0.0.1:80``)
is named and left out, the rest are used; a ``mountAddresses`` that is a string is not read
character by character. From the resolution cache file: an entry with any damaged field or a
bad address is asked for again, and an entry dated in the future is stale. All through the
real SDK against the fake ARM.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from arm_support import SUB, ArmWorld, error_line, run_hpccache, running_world

from hpccache_cli.control.resolve import cache_dir, discover_by_address, get_layout


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ArmWorld]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HPCCACHE_LAYOUT_TTL", raising=False)
    with running_world(tmp_path / "emu") as w:
        yield w


def _set_addresses(world: ArmWorld, listed: Any) -> None:
    record = world.arm.store.find(SUB, "emu-rg", "emu")
    assert record is not None
    record.body["properties"]["mountAddresses"] = listed


def test_bad_addresses_from_arm_are_named_and_the_rest_used(world: ArmWorld) -> None:
    _set_addresses(world, ["localhost", "127.0.0.11", "not an ip", "127.0.0.1:80",
                           "127.0.0.012", "0:0::1"])
    layout = get_layout(world.settings(), "emu-rg", "emu")
    assert layout.mount_addresses == ("127.0.0.11", "::1")
    refused = " ".join(layout.refused_addresses)
    assert "'localhost' (is not an IPv4 or IPv6 address" in refused
    assert "'not an ip'" in refused and "'127.0.0.1:80' (has a port)" in refused
    assert "'127.0.0.012'" in refused  # leading zeros: not an address Python accepts
    # The cache file keeps what was refused; read back, the layout is the same.
    again = get_layout(world.settings(), "emu-rg", "emu")
    assert again == layout and world.arm.request_count() == 2


def test_a_string_for_the_address_list_is_not_split_into_characters(world: ArmWorld) -> None:
    _set_addresses(world, "127.0.0.11")
    layout = get_layout(world.settings(), "emu-rg", "emu")
    assert layout.mount_addresses == ()
    assert layout.refused_addresses == ("'127.0.0.11' (is not a list of addresses)",)
    # discover by address does not match a substring of that string either
    assert discover_by_address(world.settings(), "127.0.0.1", refresh=True) is None


def test_flush_cache_names_the_bad_address_and_flushes_through_the_rest(
    world: ArmWorld, tmp_path: Path
) -> None:
    _set_addresses(world, ["localhost"])
    env = {**world.env(), "XDG_CACHE_HOME": str(tmp_path / "xdg2")}
    proc = run_hpccache(env, "flush", "--cache", "emu", "-g", "emu-rg", "/proj/a",
                        "--path-kind", "namespace", "--timeout", "5")
    line = error_line(proc, 3)
    assert "no usable mount address for cache emu: 'localhost' (is not an IPv4" in line
    assert "--refresh" in line

    _set_addresses(world, ["not an ip", "127.0.0.1:80", "127.0.0.11"])
    proc = run_hpccache(env, "flush", "--cache", "emu", "-g", "emu-rg", "/proj/a",
                        "--path-kind", "namespace", "--timeout", "5", "--refresh",
                        "--mount-port", "9", "--nfs-port", "9")
    assert "Traceback" not in proc.stderr
    warning = [x for x in proc.stderr.splitlines() if "warning" in x]
    assert len(warning) == 1, proc.stderr
    assert "'not an ip'" in warning[0] and "'127.0.0.1:80' (has a port)" in warning[0]
    assert "using 127.0.0.11" in warning[0]


def _entry(world: ArmWorld) -> tuple[Path, dict[str, Any]]:
    get_layout(world.settings(), "emu-rg", "emu")
    (path,) = cache_dir().glob("*.json")
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["layout"].update(mount_addresses="127.0.0.11"),
        lambda d: d["layout"].update(mount_addresses=["localhost"]),
        lambda d: d["layout"].update(mount_addresses=["127.0.0.1:80", "127.0.0.11"]),
        lambda d: d["layout"].update(mount_addresses=[11]),
        lambda d: d["layout"].update(junctions="/proj"),
        lambda d: d["layout"].update(junctions=[{"namespace_path": 5, "storage_target": "x"}]),
        lambda d: d["layout"].update(name=["emu"]),
        lambda d: d.update(layout="emu"),
        lambda d: d.update(fetched_at="soon"),
        lambda d: d.update(fetched_at=True),
        lambda d: d.update(fetched_at=time.time() + 3600),  # dated in the future
        lambda d: d.update(fetched_at=time.time() + 10 * 365 * 86400),
    ],
    ids=["addresses-string", "localhost", "with-port", "number", "junctions-string",
         "junction-field-type", "name-type", "layout-string", "date-string", "date-bool",
         "future-hour", "future-decade"],
)
def test_a_damaged_or_future_cache_entry_is_asked_for_again(world: ArmWorld, damage: Any) -> None:
    path, data = _entry(world)
    damage(data)
    path.write_text(json.dumps(data))
    layout = get_layout(world.settings(), "emu-rg", "emu")
    assert world.arm.request_count() == 4  # asked ARM again
    assert layout.source == "arm" and layout.mount_addresses == ("127.0.0.11", "127.0.0.12")
    # ...and the rewritten entry is whole and fresh: the next run is served from it.
    assert get_layout(world.settings(), "emu-rg", "emu").source == "resolution cache"
    assert world.arm.request_count() == 4


def test_a_cache_file_that_is_not_an_object_is_asked_for_again(world: ArmWorld) -> None:
    path, _ = _entry(world)
    for text in ('"a string"', "[1, 2]", "null", "[" * 100000):
        path.write_text(text)
        assert get_layout(world.settings(), "emu-rg", "emu").source == "arm"
    assert world.arm.request_count() == 10


@pytest.mark.parametrize(
    ("addresses", "words"),
    [("127.0.0.11", "mount_addresses must be a list of IP addresses"),
     (["127.0.0.11", "localhost"], "mount_addresses: 'localhost' is not an IPv4 or IPv6"),
     (["127.0.0.1:80"], "mount_addresses: '127.0.0.1:80' has a port")],
    ids=["string", "host-name", "port"],
)
def test_a_layout_file_with_bad_addresses_is_one_line_exit_2(
        tmp_path: Path, addresses: Any, words: str) -> None:
    """``hpccache path --layout FILE``: the same checker (a string list is not read
    character by character)."""
    layout = tmp_path / "layout.json"
    layout.write_text(json.dumps({"name": "c", "resource_group": "rg",
                                  "mount_addresses": addresses, "junctions": []}))
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    proc = run_hpccache(env, "path", "/NAS/x", "--layout", str(layout))
    line = error_line(proc, 2)
    assert f"{layout} is not a cache layout" in line and words in line, line
