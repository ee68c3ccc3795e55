"""Which modules a command line has loaded: the start-up guards' one probe (issue #14).

The guards in tests/test_cli_startup.py and tests/test_cli_lazy_commands.py say what a
command must NOT import, as a user runs it: a subprocess running the console script, which
writes every module it holds when it exits. ``sys.modules`` rather than ``-X importtime``,
which does not show a module loaded through ``importlib.import_module`` or a lazy module
``__getattr__`` (how the command modules and the junction code load), so a guard built on it
could pass falsely. Never how long it took: speed is benchmarks/startup.py's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The console script as installed (program name hpccache), writing its modules to the file
#: named first.
PROBE = """
import atexit, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
sys.argv[0] = "hpccache"
from hpccache_cli.cli.entry import main
main()
"""


def run_probed(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
               ) -> tuple[set[str], subprocess.CompletedProcess[bytes]]:
    """Run ``hpccache ARGS`` with an empty, closed stdin and no resolution cache; the modules
    it loaded, and the process."""
    out = tmp_path / "modules.txt"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200",
                "XDG_CACHE_HOME": str(tmp_path / "cache"), **(env or {})}
    proc = subprocess.run([sys.executable, "-c", PROBE, str(out), *args], input=b"",
                          capture_output=True, env=full_env, timeout=120, check=False)
    return set(out.read_text().split()), proc


def within(names: set[str], roots: tuple[str, ...]) -> list[str]:
    """The names in ``names`` that are one of ``roots`` or inside one of them."""
    return sorted(n for n in names if any(n == r or n.startswith(r + ".") for r in roots))
