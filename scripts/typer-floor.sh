#!/usr/bin/env bash
# Run the CLI's start-up and command tests on the LOWEST Typer that pyproject.toml allows.
#
# Why: the CLI uses Typer internals (cli/lazy_group.py: typer._click; cli/fast_params.py:
# typer._coercion, typer._param_types; tests/test_cli_startup.py: typer._adapters). A bound
# that the newest Typer satisfies says nothing about the oldest one pip may pick. Measured for
# #18: 0.12-0.25 lack typer._click (the CLI does not start), 0.26-0.28 lack _coercion (the
# start-up guard fails: pydantic is loaded), 0.29.0 passes.
#
# How: a scratch venv layered on the project's .venv (a .pth file; same Python, every other
# dependency as installed) with only Typer replaced by the floor version, then the tests that
# build every command and watch the start-up. Needs the package index; nothing else changes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -x .venv/bin/python ]] || bash scripts/test.sh -q tests/test_typer_floor.py
floor=$(.venv/bin/python - <<'PY'
import re, pathlib
text = pathlib.Path("pyproject.toml").read_text()
print(re.search(r'"typer>=([0-9.]+)', text).group(1))
PY
)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/hpccache-typer-floor.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
.venv/bin/python -m venv --without-pip "$scratch/venv"
purelib() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
site=$(purelib "$scratch/venv/bin/python")
purelib .venv/bin/python > "$site/zz-project-venv.pth"
.venv/bin/python -m pip install -q --no-deps --target "$site" "typer==$floor"
"$scratch/venv/bin/python" -c "import typer; assert typer.__version__ == '$floor', typer.__version__"
echo "== typer-floor: Typer $floor (the lowest pyproject.toml allows)"
"$scratch/venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_typer_floor.py \
  tests/test_cli_startup.py tests/test_cli_lazy_commands.py "$@"
