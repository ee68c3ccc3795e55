"""``hpccache namespace NAME -g RG``: the cache's aggregated namespace, one row per junction.

This is the map users need before flushing by path: which namespace path lands on which
storage target and export, and whether that target's usage model caches writes at all (only
then can a file be dirty) and how long it waits before writing back on its own.
"""

from __future__ import annotations

from typing import Any, Optional

import typer

from hpccache_cli.cli.azure_options import AzureArgs, azure_command, cache_client, emit
from hpccache_cli.cli.cache_cmd import CACHES_ARG, IDS_OPTION, NAME_OPTION, RG_OPTION
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.usage_models import lookup

HEADERS = [
    "NamespacePath",
    "StorageTarget",
    "Type",
    "NfsExport",
    "TargetPath",
    "UsageModel",
    "CachesWrites",
    "WriteBack",
]


def format_delay(seconds: int | None) -> str:
    """3600 -> "1h", 90 -> "90s", None -> "-"."""
    if seconds is None:
        return "-"
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60}min"
    return f"{seconds}s"


def namespace_rows(targets: list[Any]) -> list[dict[str, Any]]:
    """One dict per junction, sorted by namespace path (JSON form of the command)."""
    out: list[dict[str, Any]] = []
    for t in targets:
        p = t.properties
        if p is None:
            continue
        ttype = str(getattr(p.target_type, "value", p.target_type) or "unknown")
        spec = p.nfs3 or p.blob_nfs
        model_name = spec.usage_model if spec else None
        model = lookup(model_name, ttype)
        delay = model.write_back_delay_s
        if model.caches_writes and spec is not None and spec.write_back_timer is not None:
            delay = int(spec.write_back_timer)
        for j in p.junctions or []:
            out.append(
                {
                    "namespacePath": j.namespace_path,
                    "storageTarget": t.name,
                    "targetType": ttype,
                    "nfsExport": j.nfs_export or None,
                    "targetPath": j.target_path or "/",
                    "usageModel": model_name,
                    "cachesWrites": model.caches_writes,
                    "writeBackDelaySeconds": delay if model.caches_writes else None,
                    "targetState": getattr(p.state, "value", p.state),
                }
            )
    return sorted(out, key=lambda r: r["namespacePath"] or "")


@reports_errors
@azure_command(output=True)
def namespace(
    caches: Optional[list[str]] = CACHES_ARG,  # noqa: UP045 - Typer needs Optional
    resource_group: str | None = RG_OPTION,
    name: str | None = NAME_OPTION,
    ids: Optional[list[str]] = IDS_OPTION,  # noqa: UP045
    *,
    az: AzureArgs,
) -> None:
    """Show the cache's namespace: one row per junction with its target and usage model.

    Example: hpccache namespace mycache -g myrg -o table
    """
    from hpccache_cli.cli.az_refs import cache_refs

    targets = []
    for ref in cache_refs(caches, name, ids, resource_group):
        with cache_client(az, ref) as (client, ref):
            targets += list(client.storage_targets.list_by_cache(ref.resource_group, ref.name))
    data = namespace_rows(targets)
    rows = [
        [
            r["namespacePath"],
            r["storageTarget"],
            r["targetType"],
            r["nfsExport"] or "-",
            r["targetPath"],
            r["usageModel"] or "-",
            "yes" if r["cachesWrites"] else "no",
            format_delay(r["writeBackDelaySeconds"]),
        ]
        for r in data
    ]
    emit(az, data, HEADERS, rows)


def register(app: typer.Typer) -> None:
    app.command("namespace")(namespace)
