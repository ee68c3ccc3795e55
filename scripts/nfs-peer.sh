#!/usr/bin/env bash
# nfs-peer.sh start|stop|status|restart
#
# Runs a real third-party NFSv3 server (nfs-ganesha, FSAL VFS) on 127.0.0.1 exporting
# $NFSPEER_DIR/export, plus the rpcbind it needs, without systemd or the kernel nfsd. The tests
# use it to check that our NFS client works against a server we did not write.
#
#   NFSPEER_DIR  state + export directory (default /tmp/hpccache-nfspeer)
#
# Fixed ports (ganesha only speaks to the portmapper on 111): portmapper 111, NFS 2049,
# MOUNT 20048. MOUNT answers to the export's real path (printed by `status` as export_path=).
#
# Exit codes: 0 ok | 1 failed | 2 usage | 3 not running (status) | 4 cannot run on this machine
# (not root, packages missing) | 5 ports held by another NFS server.
#
# Needs root and, once:  apt-get install -y --no-install-recommends \
#                          nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils
set -euo pipefail

NFS_PORT=2049
MNT_PORT=20048
MARKER="# written by hpccache-cli scripts/nfs-peer.sh"

D=${NFSPEER_DIR:-/tmp/hpccache-nfspeer}
RUN=$D/run
CONF=$D/ganesha.conf
LOG=$D/ganesha.log
GPID=$RUN/ganesha.pid   # the ganesha we started
RPID=$RUN/rpcbind.pid   # only present if *we* started rpcbind (else we reuse the running one)
LOCK=/tmp/hpccache-nfs-peer.lock   # one peer per machine (the ports are fixed), so not $TMPDIR

say() { echo "nfs-peer: $*"; }
die() { local rc=$1; shift; echo "nfs-peer: error: $*" >&2; exit "$rc"; }

# --- process helpers (by pid, never by name) ----------------------------------------------
pid_is() {  # pid_is PID COMM: is PID alive (not a zombie) and running COMM (pid reuse guard)
  local key val name="" state=""
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$1/status ]] || return 1
  while IFS=$': \t' read -r key val _; do
    case $key in Name) name=$val ;; State) state=$val && break ;; esac
  done <"/proc/$1/status" 2>/dev/null || true
  [[ $name == "$2" && $state != Z ]]
}

spawned() {  # spawned PID COMM: wait (<= 5 s) until a just-forked child has exec'd COMM
  for _ in $(seq 500); do
    pid_is "$1" "$2" && return 0
    [[ -e /proc/$1 ]] && [[ $(sed -n 's/^State:\s*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) != Z ]] ||
      return 1
    sleep 0.01
  done
  return 1
}

pidfile_alive() {  # pidfile_alive FILE COMM -> prints the pid if it is alive
  local pid
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  pid_is "$pid" "$2" && echo "$pid"
}

stop_pid() {  # stop_pid FILE COMM: TERM, wait up to 15 s, then KILL; remove FILE
  local pid
  if pid=$(pidfile_alive "$1" "$2"); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do pid_is "$pid" "$2" || break; sleep 0.1; done
    if pid_is "$pid" "$2"; then
      say "$2 (pid $pid) ignored TERM for 15 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 50); do pid_is "$pid" "$2" || break; sleep 0.1; done
    fi
  fi
  rm -f "$1"
}

running_ganesha() {  # prints "PID CONF" for every ganesha.nfsd on this machine
  local p pid conf
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    pid_is "$pid" ganesha.nfsd || continue
    conf=$(tr '\0' '\n' <"$p/cmdline" 2>/dev/null | sed -n '/^-f$/{n;p;q}') || true
    echo "$pid ${conf:-/etc/ganesha/ganesha.conf}"
  done
}

rpcbind_up() { rpcinfo -p 127.0.0.1 >/dev/null 2>&1; }

# rpcinfo -T does an rpcbind GETADDR and then a real NULL call to the service itself.
rpc_ready() {
  rpcinfo -T tcp 127.0.0.1 100003 3 >/dev/null 2>&1 &&
    rpcinfo -T tcp 127.0.0.1 100005 3 >/dev/null 2>&1
}

# --- start --------------------------------------------------------------------------------
preflight() {  # can this machine run the peer at all?  exit 4 with the fix if not
  local missing=() lib
  [[ $(id -u) == 0 ]] || die 4 "needs root (ganesha and rpcbind bind ports 111/$NFS_PORT)"
  for c in ganesha.nfsd rpcbind rpcinfo; do command -v "$c" >/dev/null || missing+=("$c"); done
  lib=$(compgen -G '/usr/lib*/ganesha/libfsalvfs.so' || compgen -G '/usr/lib/*/ganesha/libfsalvfs.so' || true)
  [[ -n $lib ]] || missing+=("ganesha FSAL VFS")
  ((${#missing[@]} == 0)) || die 4 "missing ${missing[*]}; install with: apt-get install -y" \
    "--no-install-recommends nfs-ganesha nfs-ganesha-vfs rpcbind libnfs-utils"
}

write_conf() {  # $1 = real export path
  cat >"$CONF.tmp" <<EOF
$MARKER
NFS_CORE_PARAM {
    Protocols = 3;              # NFSv3 + MOUNTv3 only
    Bind_Addr = 127.0.0.1;      # loopback only (NB: ganesha resolves it with AI_ADDRCONFIG,
                                # so a host with no non-loopback IPv4 address fails to start)
    NFS_Port = $NFS_PORT;
    MNT_Port = $MNT_PORT;       # fixed (default 0 = random)
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    mount_path_pseudo = false;  # MOUNT answers to Path (the real directory), not Pseudo
}
NFSv4 {
    Graceless = true;           # no 90 s grace period (it also delays v3 SETATTR size)
    RecoveryRoot = "$D/recov";  # keep recovery state out of /var/lib/nfs/ganesha
}
EXPORT {
    Export_Id = 1;
    Path = "$1";
    Pseudo = /export;
    Protocols = 3;
    Transports = TCP;
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    PrivilegedPort = false;     # accept clients on source ports > 1023
    Attr_Expiration_Time = 0;   # host-side changes visible over NFS at once
    FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
EOF
  mv -f "$CONF.tmp" "$CONF"
}

ensure_rpcbind() {
  if rpcbind_up; then
    pidfile_alive "$RPID" rpcbind >/dev/null || { rm -f "$RPID"; say "reusing the running rpcbind"; }
    return 0
  fi
  rm -f "$RPID"
  # No -h: "rpcbind -h 127.0.0.1" aborts (double free) on Debian 12; rpcbind listens on all
  # addresses. setsid: the daemon must not die with the caller's terminal or Ctrl-C.
  setsid rpcbind -f >"$D/rpcbind.out" 2>&1 </dev/null 9>&- &
  echo $! >"$RPID"
  if spawned "$(<"$RPID")" rpcbind; then
    for _ in $(seq 100); do rpcbind_up && return 0; pid_is "$(<"$RPID")" rpcbind || break; sleep 0.05; done
  fi
  rpcbind_up || die 1 "rpcbind did not come up: $(tail -n 3 "$D/rpcbind.out" 2>/dev/null)"
}

wait_ready() {  # wait_ready PID: up to 20 s for NFS + MOUNT to answer a NULL call
  local pid=$1 why
  spawned "$pid" ganesha.nfsd || true
  for _ in $(seq 400); do
    if ! pid_is "$pid" ganesha.nfsd; then
      rm -f "$GPID"
      why=$(grep -E 'FATAL|MAJ|CRIT' "$LOG" 2>/dev/null | grep -viE 'dbus|krb5|gss' |
        sed -E 's/^.*\] //' | tail -n 6) || true
      die 1 "ganesha exited during start-up: ${why:-$(tail -n 5 "$D/ganesha.out" 2>/dev/null)} (log: $LOG)"
    fi
    rpc_ready && return 0
    sleep 0.05
  done
  die 1 "ganesha (pid $pid) not ready after 20 s; see $LOG"
}

start() {
  local pid other exp t0=${EPOCHREALTIME/./}
  preflight
  mkdir -p "$D/export" "$RUN" "$D/recov"
  exp=$(cd "$D/export" && pwd -P)   # MOUNT compares against the real path
  [[ $exp != *'"'* ]] || die 2 "NFSPEER_DIR must not contain a double quote"
  if pid=$(pidfile_alive "$GPID" ganesha.nfsd); then   # idempotent
    wait_ready "$pid"
    say "already running (ganesha pid $pid), export $exp"
    return 0
  fi
  rm -f "$GPID"
  other=$(running_ganesha | head -n 1)
  if [[ -n $other ]]; then
    die 5 "another nfs-ganesha is running (pid ${other%% *}, config ${other#* }); stop it first," \
      "e.g. NFSPEER_DIR=$(dirname "${other#* }") $0 stop"
  fi
  if rpcinfo -T tcp 127.0.0.1 100003 3 >/dev/null 2>&1; then
    die 5 "another NFS server (kernel nfsd?) is registered on 127.0.0.1; stop it first"
  fi
  write_conf "$exp"
  # On any failure below, leave nothing running (only what we started: pidfiles).
  trap 'stop_pid "$GPID" ganesha.nfsd; stop_pid "$RPID" rpcbind' EXIT
  ensure_rpcbind
  : >"$LOG"
  # -F: stay in the foreground of a background job, so $! is the server's pid.
  setsid ganesha.nfsd -F -f "$CONF" -L "$LOG" -p "$RUN/ganesha.nfsd.pid" -N NIV_EVENT \
    >"$D/ganesha.out" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$GPID"
  wait_ready "$pid"
  trap - EXIT
  local ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
  say "ready in ${ms} ms (ganesha pid $pid): export $exp, 127.0.0.1 NFS $NFS_PORT MOUNT $MNT_PORT"
}

# --- stop / status ------------------------------------------------------------------------
stop() {
  local was=0
  [[ -s $GPID || -s $RPID ]] && was=1
  stop_pid "$GPID" ganesha.nfsd   # a clean exit unregisters NFS/MOUNT from rpcbind
  stop_pid "$RPID" rpcbind        # only the rpcbind we started
  if ((was)); then say "stopped ($D)"; else say "not running from $D"; fi
}

status() {  # key=value lines for scripts (tests/peers.py reads them); exit 0 iff ready
  local pid conf line dir state=stopped
  if pid=$(pidfile_alive "$GPID" ganesha.nfsd); then
    conf=$CONF
  elif line=$(running_ganesha | head -n 1) && [[ -n $line ]]; then
    pid=${line%% *} conf=${line#* }   # started from another NFSPEER_DIR (or not by us)
  fi
  if [[ -n ${pid:-} ]]; then
    state=not-ready
    rpc_ready && state=ready
    dir=$(dirname "$conf")
    echo "state=$state"
    echo "ganesha_pid=$pid"
    echo "config=$conf"
    if grep -qxF "$MARKER" "$conf" 2>/dev/null; then
      echo "nfspeer_dir=$dir"
      echo "export_path=$(sed -n 's/^ *Path = "\(.*\)";$/\1/p' "$conf" | head -n 1)"
    else
      echo "foreign=1"
    fi
    if [[ -n $(pidfile_alive "$dir/run/rpcbind.pid" rpcbind || true) ]]; then
      echo "rpcbind=ours"
    else
      echo "rpcbind=reused"
    fi
    echo "nfs_port=$NFS_PORT"
    echo "mount_port=$MNT_PORT"
  else
    echo "state=stopped"
  fi
  [[ $state == ready ]] || return 3
}

cmd=${1:-}
case $cmd in
  start | stop | restart)
    mkdir -p "$(dirname "$LOCK")"
    exec 9>"$LOCK"
    flock -w 60 9 || die 1 "another nfs-peer.sh holds $LOCK for over 60 s"
    case $cmd in
      start) start ;;
      stop) stop ;;
      restart) stop && start ;;
    esac
    ;;
  status) status ;;
  *) echo "usage: [NFSPEER_DIR=DIR] $0 start|stop|status|restart" >&2; exit 2 ;;
esac
