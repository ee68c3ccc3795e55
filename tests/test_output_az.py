"""Our renderer against the Azure CLI's own output, byte for byte (tests/fixtures/az/).

The ``sdk-*`` fixtures are what az prints for the azure-mgmt-storagecache models (what
``az hpc-cache show`` returns); ``rest-*`` and ``resource-show-*`` are ``az rest`` and
``az resource show`` on the same resources: they hold the formats' layout to az's on other
shapes of data (REST casing, ``properties`` nested).
"""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest
from az_fixtures import FORMATS, SDK_STEMS, recorded_queries, rest_body, sdk_result, text

from hpccache_cli.cli.output import Format, render
from hpccache_cli.cli.output import formats as fm


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("stem", sorted(SDK_STEMS))
def test_sdk_models_print_as_az_prints_them(stem: str, fmt: str) -> None:
    assert render(sdk_result(stem), Format(fmt)) == text(f"sdk-{stem}.{fmt}")


@pytest.mark.parametrize(
    "case", recorded_queries(), ids=lambda c: f"{c['source']}:{c['query']}:{c['format']}"
)
def test_query_results_are_byte_identical_to_az(case: dict[str, str]) -> None:
    stem = case["source"].removeprefix("rest-").removesuffix(".json")
    got = render(sdk_result(stem), Format(case["format"]), query=case["query"])
    assert got == case["output"]


def _layout(data: object, fmt: str) -> str:
    """The format's layout alone (az rest / az resource show data is already plain JSON)."""
    if fmt == "json":
        return fm.as_json(data)
    if fmt == "yaml":
        return fm.as_yaml(data)
    if fmt == "tsv":
        return fm.as_tsv(data)
    return fm.as_table(data, query_active=False, transformed=False)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("prefix", ["rest", "resource-show"])
@pytest.mark.parametrize(
    "stem", ["cache-sc1", "cache-emu", "target-sc1-st1", "target-emu-nas1", "target-emu-blob1"]
)
def test_layouts_match_az_rest_and_resource_show(prefix: str, stem: str, fmt: str) -> None:
    data = json.loads(text(f"{prefix}-{stem}.json"))
    assert _layout(data, fmt) == text(f"{prefix}-{stem}.{fmt}")


def test_the_issue_s_symptoms_are_gone() -> None:
    """#18: REST casing, dropped nulls, raw times, unsorted keys, shifted tsv columns."""
    cache = sdk_result("cache-sc1")
    out = json.loads(render(cache, Format.json))
    assert out["directoryServicesSettings"]["usernameDownload"]["ldapBaseDn"].startswith("dc=")
    assert "caCertificateUri" in out["directoryServicesSettings"]["usernameDownload"]
    assert "identity" in out and out["identity"] is None
    assert out["health"]["conditions"][0]["timestamp"].endswith("+00:00")
    query = "directoryServicesSettings.usernameDownload.ldapBaseDn"
    assert render(cache, Format.tsv, query=query) == "dc=contosoad,dc=contoso,dc=local\n"
    text_json = render(cache, Format.json)
    keys = [line.split('"')[1] for line in text_json.splitlines() if line.startswith('  "')]
    assert keys == sorted(keys)
    # tsv: nulls print as None (not dropped), and extras never add a column
    row = render(cache, Format.tsv, extras={"storageTargets": [{"name": "x"}]})
    assert row == text("sdk-cache-sc1.tsv")
    assert "\tNone\t" in row
    # extras stay in JSON and in what --query sees
    assert render(cache, Format.tsv, query="storageTargets[0].name",
                  extras={"storageTargets": [{"name": "x"}]}) == "x\n"
    # -o table is az's horizontal table, not a Field/Value listing
    assert render(cache, Format.table).splitlines()[0].split() == [
        "CacheSizeGb", "Location", "Name", "ProvisioningState", "ResourceGroup", "Subnet"]


def test_none_prints_nothing_and_a_null_query_prints_nothing() -> None:
    cache = sdk_result("cache-sc1")
    assert render(cache, Format.none) == ""
    assert render(cache, Format.json, query="identity") == ""


def test_a_table_of_the_command_s_own_is_laid_out_as_az_lays_it_out() -> None:
    rows = [OrderedDict([("Path", "/a"), ("Target", "nas1")]), OrderedDict([("Path", "/bb")])]
    assert render([], Format.table, table=rows) == (
        "Path    Target\n------  --------\n/a      nas1\n/bb\n"
    )


def test_rest_bodies_are_what_az_rest_printed() -> None:
    assert rest_body("cache-sc1")["name"] == "sc1"
