#!/bin/bash
# PBS (OpenPBS / PBS Pro / Torque) epilogue: flush a finished job's output directory from
# Azure HPC Cache to storage.
#
# Install as $PBS_HOME/mom_priv/epilogue (owned by root, mode 0500: the MoM refuses scripts
# others can write). The MoM runs it as root on the job's first node (mother superior) with
# the arguments: 1 job id, 2 user, 3 group, 4 job name, ... 10 job exit status.
#
# Settings, in /etc/hpccache/epilogue.conf (sourced if present) or the environment:
#   HPCCACHE_CACHE, HPCCACHE_RG  the cache and its resource group
#   OUTPUT_ROOT                  job outputs live in $OUTPUT_ROOT/$user/$jobid
#   FLUSH_TIMEOUT                seconds the whole flush may take (default 600); then hpccache
#                                gets SIGTERM, stops cleanly and logs the unfinished files
#   FILE_TIMEOUT                 seconds one file may take (hpccache --timeout, default 120)
#   LOG_DIR                      one log file per job (default /var/log/hpccache)
#
# The MoM kills an epilogue that outlives its alarm (often only tens of seconds), and a slow
# epilogue holds up the job's end. So the flush is started detached (setsid, output to the
# log) and the epilogue returns at once with 0. hpccache --timeout bounds each file and
# coreutils timeout the whole flush (SIGTERM: hpccache stops cleanly; SIGKILL 30 s later if it
# has not), so nothing is left running forever.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH NO_COLOR=1

conf=/etc/hpccache/epilogue.conf
# shellcheck source=/dev/null
[[ -r $conf ]] && . "$conf"

OUTPUT_ROOT=${OUTPUT_ROOT:-/mnt/hpccache/jobs}
FLUSH_TIMEOUT=${FLUSH_TIMEOUT:-600}
FILE_TIMEOUT=${FILE_TIMEOUT:-120}
LOG_DIR=${LOG_DIR:-/var/log/hpccache}

# A misconfiguration must not disturb the job's end: say it in syslog and end with 0.
bail() { logger -t hpccache-epilogue -- "$*"; exit 0; }
[[ -n ${HPCCACHE_CACHE:-} && -n ${HPCCACHE_RG:-} ]] ||
    bail "HPCCACHE_CACHE and HPCCACHE_RG must be set (in $conf); nothing flushed"
[[ $FLUSH_TIMEOUT =~ ^[1-9][0-9]*$ ]] || bail "FLUSH_TIMEOUT=$FLUSH_TIMEOUT is not seconds"
[[ $FILE_TIMEOUT =~ ^[1-9][0-9]*$ ]] || bail "FILE_TIMEOUT=$FILE_TIMEOUT is not seconds"
export HPCCACHE_CACHE HPCCACHE_RG   # for the detached shell below
jobid=${1:-}
user=${2:-}
[[ -n $jobid && -n $user ]] || bail "no job id/user arguments: not run as an epilogue?"
outdir=$OUTPUT_ROOT/$user/$jobid
[[ -d $outdir ]] || exit 0   # this job wrote nothing there

mkdir -p "$LOG_DIR" || bail "cannot create $LOG_DIR"
log=$LOG_DIR/pbs-${jobid//\//_}.log

# The quoted script runs in the detached shell; values come in as its arguments.
setsid bash -c '
    outdir=$1 user=$2 run_s=$3 file_s=$4
    echo "$(date -Is) flushing $outdir for user $user, timeout ${run_s}s"
    runuser -u "$user" -- find "$outdir" -type f -print0 |
        runuser -u "$user" -- \
            timeout --kill-after=30 "$run_s" \
            hpccache flush -0 --cache "$HPCCACHE_CACHE" -g "$HPCCACHE_RG" \
            --timeout "$file_s" -o json
    echo "$(date -Is) hpccache flush exit status ${PIPESTATUS[1]}" \
        "(0 all flushed, 1 some failed, 124 stopped at FLUSH_TIMEOUT, 137 killed)"
' hpccache-epilogue "$outdir" "$user" "$FLUSH_TIMEOUT" "$FILE_TIMEOUT" \
    </dev/null >>"$log" 2>&1 &

exit 0
