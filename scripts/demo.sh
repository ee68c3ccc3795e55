#!/usr/bin/env bash
# The demo command (README):  scripts/demo.sh [demo args...]
# Sets up .venv (and Azurite) like scripts/test.sh, then runs `hpccache demo "$@"`.
set -euo pipefail

# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

hpc_ensure_azurite
hpc_ensure_venv
exec "$HPC_VENV/bin/hpccache" demo "$@"
