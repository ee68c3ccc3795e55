"""How paths are named is one value (``Naming``): the engine's resolver, the fallback's locator.

Why: ``--shard`` wraps the resolver and ``--fallback target-flush`` places failed files on
storage targets; when the fallback looked for ``site()`` on the resolver it had to be built
before the wrapper (a rule written in three comments). Now each takes its own part of the
Naming, so the order cannot matter. No network: nothing here flushes.
"""

from __future__ import annotations

from pathlib import Path

from hpccache_cli.cli.flush.fallback import ExportSites, LocalSites, fallback_for
from hpccache_cli.cli.flush.pipeline_run import PipelineRun
from hpccache_cli.cli.flush.runner import build_resolver
from hpccache_cli.cli.flush.shard_resolve import ShardResolver
from hpccache_cli.cli.flush.values import FlushRequest, Site
from hpccache_cli.flush.resolve import ExportResolver
from hpccache_cli.flush.resolve_local import LocalPathResolver


def test_export_naming_gives_the_fallback_its_locator_whatever_the_wrap_order() -> None:
    request = FlushRequest(ips=["127.0.0.9"], export="/NAS_12_exp5", fallback="target-flush")
    naming = build_resolver(request)
    assert isinstance(naming.resolver, ExportResolver) and naming.arm is None
    assert isinstance(naming.locator, ExportSites)
    pipeline = PipelineRun(shard=(1, 2))
    wrapped_first = pipeline.wrap(naming.resolver)
    fallback = fallback_for(request, naming)
    wrapped_after = pipeline.wrap(naming.resolver)
    for wrapped in (wrapped_first, wrapped_after):
        assert isinstance(wrapped, ShardResolver) and wrapped.inner is naming.resolver
    assert fallback is not None and fallback.locator is naming.locator
    assert fallback.locator.site(b"dir/x") == Site(address="127.0.0.9",
                                                   directory="/NAS_12_exp5/dir")
    assert fallback_for(FlushRequest(ips=["127.0.0.9"], export="/x"), naming) is None


def test_client_path_naming_locates_by_cache_address(tmp_path: Path) -> None:
    table = tmp_path / "mountinfo"
    table.write_bytes(b"1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                      b"40 1 0:40 / /hpccache-test-mnt rw - nfs 127.0.0.9:/ rw,addr=127.0.0.9\n")
    naming = build_resolver(FlushRequest(mountinfo=str(table)))
    assert isinstance(naming.resolver, LocalPathResolver) and naming.arm is None
    assert isinstance(naming.locator, LocalSites)
    assert naming.locator.site(b"/hpccache-test-mnt/NAS_12_exp5/a/f") == Site(
        address="127.0.0.9", directory="/NAS_12_exp5/a")
    assert naming.locator.site(b"/etc/passwd") is None  # not on a mount of a cache
