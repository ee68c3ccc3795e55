"""The flush job from Python (``hpccache_cli.jobs.flush``): ``--cache`` and ``--fallback``
without the command line, in this process.

Real parts: the NFS emulator over TCP on loopback and the fake ARM over HTTPS through the real
Azure SDK (``flush_cache_support.world``); the fake ARM's storage-target flush writes the
emulator's dirty files back, so "flushed" is checked on disk. Azure settings come in as a
value (``EnvironmentAzure(env=...)``), never from this process's environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flush_cache_support import A_JUNCTION, A_ROOT, CACHE, CACHE_ID, RG, World, world

from hpccache_cli.errors import EXIT_UNREACHABLE, UsageError
from hpccache_cli.flush import make_options
from hpccache_cli.flush.options import FlushOptions
from hpccache_cli.flush.results import FileResult, Outcome
from hpccache_cli.jobs.flush import EnvironmentAzure, FlushRequest, flush, run

ROOT = Path(__file__).resolve().parents[1]


def azure(w: World) -> EnvironmentAzure:
    """The fake ARM's settings as a value: its endpoint, CA, token; fast polls, one retry."""
    env = {**w.arm.client_env(), "HPCCACHE_ARM_RETRIES": "1", "HPCCACHE_POLL_INTERVAL": "0.05",
           "XDG_CACHE_HOME": str(w.base / "xdg")}
    return EnvironmentAzure(env=env)


def options(w: World) -> FlushOptions:
    """The emulator's NFS ports (it runs no portmapper)."""
    return make_options(mount_port=w.emu.ports.mount, nfs_port=w.emu.ports.nfs)


def test_by_cache_name_with_a_report_and_each_result(tmp_path: Path) -> None:
    report = tmp_path / "report.jsonl"
    seen: list[FileResult] = []
    with world(tmp_path) as w:
        files = [str(p) for p in w.dirty("/NAS_12_exp5/py/a", "/blob/data/py/b")]
        outcome = flush([*files, "/elsewhere/c"], cache=CACHE, resource_group=RG,
                        azure=azure(w), options=options(w), report=str(report),
                        on_result=seen.append, collect=True)
        w.assert_written_back(*files)
    assert outcome.exit_code == 1  # /elsewhere/c is under no junction
    assert outcome.summary.count(Outcome.FLUSHED) == 2
    assert outcome.summary.count(Outcome.FAILED) == 1
    assert outcome.fallback is None
    results = outcome.summary.results or []
    assert sorted(r.path for r in results) == sorted(r.path for r in seen)
    assert sorted(r.outcome.value for r in results) == ["failed", "flushed", "flushed"]
    lines = [json.loads(x) for x in report.read_text().splitlines()]
    assert sorted(x["outcome"] for x in lines) == ["failed", "flushed", "flushed"]
    assert outcome.messages() == []  # (the summary says it: nothing more to say)


def test_by_cache_id_and_the_request_form(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        files = [str(p) for p in w.dirty("/NAS_12_exp5/id/a")]
        outcome = run(FlushRequest(paths=files, cache_id=CACHE_ID, azure=azure(w),
                                   options=options(w)))
        w.assert_written_back(*files)
    assert (outcome.exit_code, outcome.ok) == (0, True)
    assert outcome.summary.count(Outcome.FLUSHED) == 1


def test_fallback_target_flush_from_python(tmp_path: Path) -> None:
    """No mount address answers: per file everything is unreachable (exit 4, and the line
    the command would print); with ``fallback="target-flush"`` the storage targets are
    flushed through ARM and the run succeeds, each file counted as flushed."""
    down = {"down_addresses": [A_ROOT, A_JUNCTION]}
    with world(tmp_path, faults=down) as w:
        files = [str(p) for p in w.dirty("/NAS_12_exp5/fb/a", "/blob/data/fb/b")]
        fast = options(w)
        plain = flush(files, cache=CACHE, resource_group=RG, azure=azure(w), options=fast)
        assert plain.exit_code == EXIT_UNREACHABLE
        assert plain.messages()[0].startswith("hpccache: error: cache unreachable")
        assert w.arm_calls("POST") == 0
        outcome = flush(files, cache=CACHE, resource_group=RG, azure=azure(w), options=fast,
                        fallback="target-flush")
        assert outcome.exit_code == 0, outcome.messages()
        w.assert_written_back(*files)
        assert w.arm_calls("POST") == 2
    report = outcome.fallback
    assert report is not None
    assert outcome.summary.count(Outcome.FLUSHED) == 2
    data = report.to_dict(outcome.summary)
    assert {(t["target"], t["status"]) for t in data["targets"]} == {
        ("nas1", "succeeded"), ("blob1", "succeeded")}


def test_bad_combinations_raise_before_anything_is_sent(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="drop --ip/--export"):
        flush(["/NAS_12_exp5/x"], cache=CACHE, resource_group=RG, ips=["127.0.0.1"],
              export="/NAS_12_exp5")
    with pytest.raises(UsageError, match="--status-only or --no-wait"):
        flush(["/NAS_12_exp5/x"], cache=CACHE, resource_group=RG, fallback="target-flush",
              options=FlushOptions(wait=False))
    with pytest.raises(ValueError, match="^fallback_timeout must be a positive number"):
        flush(["x"], ips=["127.0.0.1"], export="/NAS_12_exp5", fallback_timeout=0)


def test_no_paths_is_an_empty_run_not_a_read_of_stdin() -> None:
    outcome = flush(ips=["127.0.0.1"], export="/NAS_12_exp5")
    assert (outcome.exit_code, outcome.summary.total) == (0, 0)


def test_the_job_imports_no_command_line(tmp_path: Path) -> None:
    """A Python caller of the flush job loads no Typer, Click or Rich."""
    code = ("import sys; from hpccache_cli.jobs.flush import flush; "
            "flush(ips=['127.0.0.1'], export='/NAS_12_exp5'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('typer', 'click', 'rich') or m.startswith('hpccache_cli.cli')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env={"PYTHONPATH": str(ROOT),
                                                         "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_wrong_fallback_fails_the_type_check(tmp_path: Path) -> None:
    snippet = tmp_path / "caller.py"
    snippet.write_text("from hpccache_cli.jobs.flush import flush\n"
                       "outcome = flush(['/x'], cache='c', fallback='target-flsh')\n"
                       "reveal_type(outcome)\n")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--follow-imports=silent",
         "--cache-dir", str(tmp_path / "cache"), "--config-file", "/dev/null", str(snippet)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "MYPYPATH": str(ROOT)},
    )
    assert 'Argument "fallback" to "flush" has incompatible type' in proc.stdout, proc.stdout
    assert 'Revealed type is "hpccache_cli.jobs.flush.job.FlushOutcome"' in proc.stdout
