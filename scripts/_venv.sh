# shellcheck shell=bash
# Shared set-up for scripts/test.sh and scripts/demo.sh (sourced, not run):
#   hpc_ensure_venv [EXTRAS]   .venv with `pip install -e .`, or -e '.[EXTRAS]' (test.sh: test);
#                              re-run when pyproject changes or an extra asked for is missing
#   hpc_ensure_peer_packages   nfs-ganesha + rpcbind + libnfs-utils + tshark for the peer tests,
#                              slurm-wlm + munge for the job-array tests (root only)
#   hpc_ensure_azurite         Azurite (the Blob emulator behind the AMLFS emulator), pinned, with
#                              npm into .azurite/ when missing (node >= 20 needed; apt when root)
# Environment: PYTHON (interpreter for the venv, default python3), HPCCACHE_VENV (default .venv).

HPC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HPC_VENV=${HPCCACHE_VENV:-$HPC_ROOT/.venv}
# tshark: Wireshark's dissectors check our wire bytes (tests/test_wire_tshark.py). Its
# wireshark-common asks (debconf) whether non-root users may capture; DEBIAN_FRONTEND=
# noninteractive takes the default (no), which is all the tests need: they capture as root.
# slurm-wlm + munge: a one-node Slurm on loopback (scripts/slurm-peer.sh) runs the job-array
# test (tests/test_slurm_array.py); their postinst only registers systemd units, and
# hpc_apt_install's policy-rc.d keeps them from starting any daemon.
HPC_PEER_PACKAGES=(nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils tshark slurm-wlm munge)
HPC_APT_UPDATED=${HPC_APT_UPDATED:-}

hpc_log() { echo "[${0##*/}] $*" >&2; }
hpc_die() { hpc_log "error: $*"; exit 2; }
hpc_is_root() { [[ $(id -u) == 0 ]]; }
hpc_can_apt() { hpc_is_root && command -v apt-get >/dev/null; }

# apt-get install, quietly, without letting package scripts start daemons (rpcbind, ganesha)
# that would then hold ports 111/2049 with the system config.
hpc_apt_install() {
  local log policy=/usr/sbin/policy-rc.d own_policy=0 rc=0
  log=$(mktemp)
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
  fi
  hpc_log "apt-get install $*"
  if [[ -z $HPC_APT_UPDATED ]]; then
    apt-get update -qq >"$log" 2>&1 || rc=$?
    HPC_APT_UPDATED=1
  fi
  if ((rc == 0)); then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
      >>"$log" 2>&1 || rc=$?
  fi
  ((own_policy)) && rm -f "$policy"
  ((rc == 0)) || { hpc_log "apt-get failed (exit $rc):"; tail -n 15 "$log" >&2; }
  rm -f "$log"
  return "$rc"
}

hpc_missing_packages() {  # prints the peer packages that are not installed
  local p
  for p in "${HPC_PEER_PACKAGES[@]}"; do
    if command -v dpkg-query >/dev/null; then
      [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || echo "$p"
    fi
  done
  if ! command -v dpkg-query >/dev/null; then  # not Debian: judge by the commands
    for p in ganesha.nfsd rpcbind rpcinfo nfs-ls tshark slurmctld slurmd sbatch munged; do
      command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$p" >/dev/null || echo "$p"
    done
  fi
}

hpc_ensure_peer_packages() {
  local missing
  missing=$(hpc_missing_packages | tr '\n' ' ')
  [[ -n ${missing// /} ]] || return 0
  if hpc_can_apt; then
    # shellcheck disable=SC2086  # word-splitting the package list is intended
    hpc_apt_install $missing && return 0
    hpc_log "warning: could not install the NFS peer packages"
  else
    hpc_log "NFS peer packages missing: $missing"
    hpc_log "  install them once as root: apt-get install -y --no-install-recommends ${HPC_PEER_PACKAGES[*]}"
  fi
  if [[ ${HPCCACHE_REQUIRE_PEERS:-} == 1 ]]; then
    hpc_log "  HPCCACHE_REQUIRE_PEERS=1: the peer tests will fail"
  else
    hpc_log "  the peer tests will be skipped (HPCCACHE_REQUIRE_PEERS=1 makes them fail)"
  fi
}

hpc_python() {  # prints a python >= 3.10, installing python3 (Debian, root) if there is none
  local py=${PYTHON:-python3}
  if ! command -v "$py" >/dev/null; then
    hpc_can_apt || hpc_die "$py not found; install Python >= 3.10 (or set PYTHON=...)"
    hpc_apt_install python3 python3-venv >&2 || hpc_die "could not install python3"
  fi
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    hpc_die "$("$py" -V 2>&1) is too old: Python >= 3.10 is required (set PYTHON=...)"
  command -v "$py"
}

hpc_make_venv() {  # hpc_make_venv PYTHON
  local err
  if err=$("$1" -m venv "$HPC_VENV" 2>&1); then return 0; fi
  rm -rf "$HPC_VENV"
  if hpc_can_apt && grep -qiE 'ensurepip|venv' <<<"$err"; then  # Debian splits venv out
    local ver
    ver=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    hpc_apt_install python3-venv "python$ver-venv" >&2 || hpc_apt_install python3-venv >&2 || true
    err=$("$1" -m venv "$HPC_VENV" 2>&1) && return 0
    rm -rf "$HPC_VENV"
  fi
  hpc_die "cannot create $HPC_VENV: ${err##*$'\n'} (Debian: apt-get install python3-venv)"
}

# The stamp (.venv/.hpccache-stamp) is "CHECKSUM EXTRAS": the checksum of pyproject.toml and
# the interpreter, and the extras installed with it ("-": none). demo.sh installs the package
# alone (what the main job runs: no pytest, ruff or mypy); test.sh asks for "test" and gets it
# even when demo.sh made the venv first. An install keeps the extras a venv already had.
hpc_ensure_venv() {
  local want=${1:-} py sum have_sum="" have_extras="" extras spec check lock log
  # One set-up at a time per venv (several sessions may start together).
  lock=/tmp/hpccache-venv-$(printf '%s' "$HPC_VENV" | cksum | cut -d' ' -f1).lock
  exec 8>"$lock"
  flock 8
  if [[ -e $HPC_VENV ]] && ! "$HPC_VENV/bin/python" -c 'import sys' 2>/dev/null; then
    hpc_log "$HPC_VENV is broken (its python is gone?); recreating it"
    rm -rf "$HPC_VENV"
  fi
  if [[ ! -e $HPC_VENV ]]; then
    py=$(hpc_python)
    hpc_log "creating $HPC_VENV with $("$py" -V 2>&1)"
    hpc_make_venv "$py"
  fi
  # Reinstall only when pyproject.toml or the interpreter changed, or an extra is missing.
  sum=$(cat "$HPC_ROOT/pyproject.toml" <("$HPC_VENV/bin/python" -VV) | cksum | cut -d' ' -f1)
  if [[ -e $HPC_VENV/.hpccache-stamp ]]; then
    read -r have_sum have_extras <"$HPC_VENV/.hpccache-stamp" || true
  fi
  # A stamp of the checksum alone is from before extras were chosen: it always had [test].
  [[ -n $have_sum && -z $have_extras ]] && have_extras=test
  [[ $have_extras == - ]] && have_extras=""
  # The extras to have: those asked for, plus those the venv has (kept on a reinstall).
  # shellcheck disable=SC2086  # word-splitting the comma lists is intended
  extras=$(printf '%s\n' ${want//,/ } ${have_extras//,/ } | sort -u | paste -sd, -)
  check='import hpccache_cli'
  [[ ,$extras, == *,test,* ]] && check='import hpccache_cli, pytest'
  if [[ $have_sum != "$sum" || $extras != "$have_extras" ]] ||
    ! "$HPC_VENV/bin/python" -c "$check" 2>/dev/null; then
    spec=.
    [[ -n $extras ]] && spec=".[$extras]"
    hpc_log "pip install -e '$spec' into $HPC_VENV"
    log=$(mktemp)
    if ! (cd "$HPC_ROOT" && "$HPC_VENV/bin/python" -m pip install -q --disable-pip-version-check \
      -e "$spec") >"$log" 2>&1; then
      tail -n 25 "$log" >&2
      rm -f "$log"
      hpc_die "pip install failed (full command: $HPC_VENV/bin/python -m pip install -e '$spec')"
    fi
    rm -f "$log"
    echo "$sum ${extras:--}" >"$HPC_VENV/.hpccache-stamp"
  fi
  flock -u 8
  exec 8>&-
}

# Azurite, Microsoft's Azure Storage emulator: the AMLFS emulator's blob back end. Pinned: 3.37.0
# declares node >= 22 but runs on node 20 (measured); hpccache_cli/emulator/aml/azurite.py holds
# the same version and looks in $HPC_ROOT/.azurite (or HPCCACHE_AZURITE_PREFIX).
HPC_AZURITE_VERSION=3.37.0
HPC_AZURITE_PREFIX=${HPCCACHE_AZURITE_PREFIX:-$HPC_ROOT/.azurite}

hpc_azurite_ok() {
  [[ -f $HPC_AZURITE_PREFIX/node_modules/azurite/dist/src/blob/main.js ]] &&
    grep -q "\"version\": \"$HPC_AZURITE_VERSION\"" \
      "$HPC_AZURITE_PREFIX/node_modules/azurite/package.json" 2>/dev/null
}

hpc_ensure_azurite() {
  local log lock rc=0
  hpc_azurite_ok && return 0
  lock=/tmp/hpccache-azurite-$(printf '%s' "$HPC_AZURITE_PREFIX" | cksum | cut -d' ' -f1).lock
  exec 7>"$lock"
  flock 7
  if ! hpc_azurite_ok; then
    if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
      hpc_can_apt && hpc_apt_install nodejs npm >&2 || true
    fi
    if command -v npm >/dev/null; then
      hpc_log "npm install azurite@$HPC_AZURITE_VERSION into $HPC_AZURITE_PREFIX"
      log=$(mktemp)
      mkdir -p "$HPC_AZURITE_PREFIX"
      npm install --prefix "$HPC_AZURITE_PREFIX" --no-audit --no-fund --loglevel=error \
        "azurite@$HPC_AZURITE_VERSION" >"$log" 2>&1 || rc=$?
      ((rc == 0)) || { hpc_log "npm failed (exit $rc):"; tail -n 15 "$log" >&2; }
      rm -f "$log"
    fi
  fi
  flock -u 7
  exec 7>&-
  hpc_azurite_ok && return 0
  hpc_log "Azurite is missing: npm install --prefix $HPC_AZURITE_PREFIX azurite@$HPC_AZURITE_VERSION"
  if [[ ${HPCCACHE_REQUIRE_PEERS:-} == 1 ]]; then
    hpc_log "  HPCCACHE_REQUIRE_PEERS=1: the AMLFS tests will fail"
  else
    hpc_log "  the AMLFS tests will be skipped (HPCCACHE_REQUIRE_PEERS=1 makes them fail)"
  fi
}
