#!/usr/bin/env bash
# THE test command (README and CI):  scripts/test.sh [pytest args...]
# Installs the NFS peer packages when root and missing (Debian), Azurite (npm, into .azurite/)
# when missing, sets up .venv with
# `pip install -e '.[test]'`, then runs `python -m pytest "$@"` from the repository root.
# Exit code: pytest's; "no tests collected" (5) is reported and kept as a failure.
# Peer tests skip when their peer cannot run, unless HPCCACHE_REQUIRE_PEERS=1 (then they fail).
set -euo pipefail

# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$HPC_ROOT"

hpc_ensure_peer_packages
hpc_ensure_azurite
hpc_ensure_venv test

rc=0
"$HPC_VENV/bin/python" -m pytest "$@" || rc=$?
if ((rc == 5)); then
  hpc_log "error: pytest collected no tests (exit 5): check the paths, -k or -m given: $*"
fi
exit "$rc"
