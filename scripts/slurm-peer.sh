#!/usr/bin/env bash
# slurm-peer.sh start|stop|status
#
# A real Slurm "cluster" of one node on loopback (munged + slurmctld + slurmd, no systemd, no
# cgroups) for the tests that submit job arrays (tests/test_slurm_array.py) and for trying
# examples/slurm-array.sh by hand. Every daemon runs in the foreground of a background job and
# is stopped by the PID we recorded, never by name.
#
#   SLURMPEER_DIR        config, state, spool, logs, munge key + socket  [/tmp/hpccache-slurm]
#   SLURMPEER_CTLD_PORT  slurmctld port on 127.0.0.1                     [6817]
#   SLURMPEER_NODE_PORT  slurmd port on 127.0.0.1                        [6818]
#   SLURMPEER_CPUS       CPUs the node advertises [what `slurmd -C` finds]; more than the
#                        machine has lets every task of a small array run at once
#
# After start, client commands need:  export SLURM_CONF=$SLURMPEER_DIR/etc/slurm.conf
# (start prints it). Without SLURM_CONF, Slurm's clients try "configless" mode: a DNS SRV
# lookup that leaves loopback. Always export it.
#
# Exit codes: 0 ok | 1 failed | 2 usage | 3 not running (status) | 4 cannot run on this machine
# (not root, packages missing) | 5 a port is held by something else.
#
# Needs root (slurmd starts jobs as the submitting user) and, once:
#   apt-get install -y --no-install-recommends slurm-wlm munge      (Debian 12: Slurm 22.05)
set -euo pipefail

D=${SLURMPEER_DIR:-/tmp/hpccache-slurm}
CTLD_PORT=${SLURMPEER_CTLD_PORT:-6817}
NODE_PORT=${SLURMPEER_NODE_PORT:-6818}
NODE=localhost   # slurmd -N names the node: the machine's hostname never matters
CONF=$D/etc/slurm.conf
SOCKET=$D/munge/socket
PIDS=$D/pids
MARKER="# written by hpccache-cli scripts/slurm-peer.sh"
export SLURM_CONF=$CONF   # for our own sinfo/scontrol/squeue/scancel calls

say() { echo "slurm-peer: $*"; }
die() { local rc=$1; shift; echo "slurm-peer: error: $*" >&2; exit "$rc"; }

# --- processes: by recorded pid, checked against the command name (pid reuse) -------------
running_as() {  # running_as NAME COMM...: our pid file for NAME names a live (non-zombie)
  # process whose command name is one of COMM (read once: see alive_or_starting)
  local pid state comm want
  [[ -s $PIDS/$1 ]] || return 1
  pid=$(<"$PIDS/$1")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/stat ]] || return 1
  comm=$(<"/proc/$pid/comm") 2>/dev/null || return 1
  state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$pid/status" 2>/dev/null) || return 1
  # PID 1 of a container may reap orphans late: a zombie is a stopped daemon.
  [[ $state != Z ]] || return 1
  for want in "${@:2}"; do [[ $comm == "$want" ]] && return 0; done
  return 1
}

alive() { running_as "$1" "$1"; }  # alive NAME: the NAME process we started is running

# alive_or_starting NAME: NAME is alive, or the pid we just recorded is still on its way to
# exec NAME: $! is the forked shell, whose comm is "bash", then "setsid", then NAME. Under
# load a check can come before the exec, and that is not an exit. One read of comm decides
# (two checks, alive then "starting", could see "setsid" and then NAME, and call a starting
# daemon dead).
alive_or_starting() { running_as "$1" "$1" bash setsid; }

stop_daemon() {  # stop_daemon NAME: TERM, up to 15 s, then KILL
  local pid
  if alive "$1"; then
    pid=$(<"$PIDS/$1")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do alive "$1" || break; sleep 0.1; done
    if alive "$1"; then kill -KILL "$pid" 2>/dev/null || true; say "$1 (pid $pid) killed"; fi
  fi
  rm -f "$PIDS/$1"
}

poll() {  # poll TRIES(0.1 s) DAEMON COMMAND...: until COMMAND succeeds; stop if DAEMON dies
  local tries=$1 daemon=$2; shift 2
  for _ in $(seq "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    if ! alive_or_starting "$daemon"; then   # its errors first: the last lines are often only "Info:"
      die 1 "$daemon exited during start-up: $( { grep -hiE 'error|fatal' "$D/log/$daemon".*;
        tail -n 2 "$D/log/$daemon.out"; } 2>/dev/null | tail -n 4 | tr '\n' ' ')"
    fi
    sleep 0.1
  done
  die 1 "timed out waiting for: $* (logs in $D/log)"
}

munge_works() { munge -S "$SOCKET" -n | unmunge -S "$SOCKET"; }
node_ready() { sinfo -h -n "$NODE" -o '%T' | grep -Eqx 'idle|mixed|allocated'; }
port_taken() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

preflight() {
  local missing=()
  [[ $(id -u) == 0 ]] || die 4 "needs root (slurmd starts jobs as the user who submits them)"
  for c in munged munge unmunge mungekey slurmctld slurmd sbatch sinfo scontrol ss; do
    command -v "$c" >/dev/null || PATH=$PATH:/usr/sbin command -v "$c" >/dev/null || missing+=("$c")
  done
  ((${#missing[@]} == 0)) || die 4 "missing ${missing[*]}; install with: apt-get install -y" \
    "--no-install-recommends slurm-wlm munge"
}

write_conf() {
  local probe cpus mem
  probe=$(slurmd -C 2>/dev/null | head -n 1)
  cpus=${SLURMPEER_CPUS:-$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$probe")}
  mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$probe")
  [[ $cpus =~ ^[0-9]+$ && $mem =~ ^[0-9]+$ ]] || die 1 "slurmd -C said: $probe"
  cat >"$CONF.tmp" <<EOF
$MARKER
ClusterName=hpccache-peer
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$NODE_PORT
# listen on the resolved address (127.0.0.1) only, never on 0.0.0.0
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
# containers often mount the cgroup tree read-only: proctrack/cgroup would drain the node
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# no slurmdbd: one line per finished task here instead of sacct
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# fast turn-around for tests: sbatch --wait polls every 2 s only while MinJobAge <= 5, and
# batch_sched_delay=0 starts queued array tasks as soon as CPUs free up
MinJobAge=5
SchedulerParameters=batch_sched_delay=0
SlurmdParameters=config_overrides
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  mv -f "$CONF.tmp" "$CONF"
}

start() {
  preflight
  mkdir -p "$D"/{etc,state,log,run,spool,munge} "$PIDS"
  if alive munged && alive slurmctld && alive slurmd && node_ready; then
    say "already running; export SLURM_CONF=$CONF"; return 0
  fi
  # munged: its own key and socket; the socket's directory must be searchable by all (0711)
  chmod 0711 "$D/munge"
  [[ -s $D/munge/munge.key ]] || mungekey -c -k "$D/munge/munge.key"
  chmod 0600 "$D/munge/munge.key"
  if ! alive munged; then
    setsid munged -F --key-file="$D/munge/munge.key" --socket="$SOCKET" \
      --pid-file="$D/munge/munged.pid" --seed-file="$D/munge/seed" \
      --log-file="$D/log/munged.log" >"$D/log/munged.out" 2>&1 </dev/null &
    echo $! >"$PIDS/munged"
    poll 50 munged munge_works
  fi
  if ! alive slurmctld && ! alive slurmd; then
    for port in "$CTLD_PORT" "$NODE_PORT"; do
      port_taken "$port" && die 5 "port $port on this machine is in use; set" \
        "SLURMPEER_CTLD_PORT/SLURMPEER_NODE_PORT"
    done
    write_conf
  fi
  if ! alive slurmctld; then
    # -c: forget jobs and node state of an earlier run (a node drained by it included)
    setsid slurmctld -D -c -f "$CONF" >"$D/log/slurmctld.out" 2>&1 </dev/null &
    echo $! >"$PIDS/slurmctld"
    poll 100 slurmctld scontrol ping
  fi
  if ! alive slurmd; then   # (a second slurmd on the same pid file kills the first one)
    setsid slurmd -D -N "$NODE" -f "$CONF" >"$D/log/slurmd.out" 2>&1 </dev/null &
    echo $! >"$PIDS/slurmd"
  fi
  case $(sinfo -h -n "$NODE" -o '%T' 2>/dev/null) in
    drain*|down*|fail*) scontrol update nodename="$NODE" state=resume || true ;;
  esac
  poll 200 slurmd node_ready
  say "ready: node $NODE $(sinfo -h -o '%c CPUs'), slurmctld 127.0.0.1:$CTLD_PORT"
  echo "export SLURM_CONF=$CONF"
}

stop() {
  local jobs
  if alive slurmctld; then  # jobs first: with proctrack/linuxproc they outlive slurmd
    jobs=$(squeue -h -o '%A' 2>/dev/null | tr '\n' ' ')
    if [[ -n ${jobs// /} ]]; then
      # shellcheck disable=SC2086  # one word per job id
      scancel $jobs 2>/dev/null || true
      for _ in $(seq 100); do [[ -z $(squeue -h -o '%A' 2>/dev/null) ]] && break; sleep 0.1; done
    fi
  fi
  stop_daemon slurmd
  stop_daemon slurmctld
  stop_daemon munged
  say "stopped (state and logs kept in $D)"
}

status() {
  local n rc=0
  for n in munged slurmctld slurmd; do
    if alive "$n"; then say "$n running (pid $(<"$PIDS/$n"))"; else say "$n not running"; rc=3; fi
  done
  ((rc == 0)) && node_ready || rc=3
  ((rc == 0)) && say "ready; export SLURM_CONF=$CONF"
  return "$rc"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die 2 "usage: $0 start|stop|status" ;;
esac
