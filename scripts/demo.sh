#!/usr/bin/env bash
# The demo command (README):  scripts/demo.sh [demo args...]
# Sets up .venv with the package alone (what the demo runs: no test or lint tools; a later
# scripts/test.sh adds its [test] extra to the same .venv) and Azurite (the blob back end of
# the AMLFS part), then runs `hpccache demo "$@"`.
set -euo pipefail

# shellcheck source=scripts/_venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"

hpc_ensure_azurite
hpc_ensure_venv
exec "$HPC_VENV/bin/hpccache" demo "$@"
