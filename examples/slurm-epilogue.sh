#!/bin/bash
# Slurm Epilog: flush a finished job's output directory from Azure HPC Cache to storage.
#
# Install on every compute node, then in slurm.conf:
#   Epilog=/etc/slurm/epilog.d/hpccache-flush.sh
# and give Slurm room for the flush: PrologEpilogTimeout (if set) above FLUSH_TIMEOUT + 60.
#
# Settings, in /etc/hpccache/epilogue.conf (sourced if present) or the environment:
#   HPCCACHE_CACHE, HPCCACHE_RG  the cache and its resource group (Azure identity: the node's
#                                managed identity, see docs/pipelines.md "Authentication")
#   OUTPUT_ROOT                  job outputs live in $OUTPUT_ROOT/$SLURM_JOB_USER/$SLURM_JOB_ID
#   FLUSH_TIMEOUT                seconds the whole flush may take (default 600); then hpccache
#                                gets SIGTERM, stops cleanly and logs the unfinished files
#   FILE_TIMEOUT                 seconds one file may take (hpccache --timeout, default 120)
#   LOG_DIR                      one log file per job (default /var/log/hpccache)
#
# Rules this script keeps, because an Epilog is run by slurmd as root:
# - it always exits 0: a failing Epilog drains the node; flush failures go to the log instead;
# - it never runs unbounded: hpccache --timeout bounds each file, coreutils timeout the run
#   (SIGTERM straight to hpccache, which stops cleanly; SIGKILL 30 s later if it has not);
# - Epilog runs on every node of the job, but the flush runs once, on the job's first node;
# - there is no search path in an Epilog, so PATH is set here;
# - find and the flush run as the job's user, so NFS permissions (root squash) are the user's.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH NO_COLOR=1

conf=/etc/hpccache/epilogue.conf
# shellcheck source=/dev/null
[[ -r $conf ]] && . "$conf"

OUTPUT_ROOT=${OUTPUT_ROOT:-/mnt/hpccache/jobs}
FLUSH_TIMEOUT=${FLUSH_TIMEOUT:-600}
FILE_TIMEOUT=${FILE_TIMEOUT:-120}
LOG_DIR=${LOG_DIR:-/var/log/hpccache}

# A misconfiguration must not drain nodes: say it in syslog and end with 0.
bail() { logger -t hpccache-epilog -- "$*"; exit 0; }
[[ -n ${HPCCACHE_CACHE:-} && -n ${HPCCACHE_RG:-} ]] ||
    bail "HPCCACHE_CACHE and HPCCACHE_RG must be set (in $conf); nothing flushed"
[[ $FLUSH_TIMEOUT =~ ^[1-9][0-9]*$ ]] || bail "FLUSH_TIMEOUT=$FLUSH_TIMEOUT is not seconds"
[[ $FILE_TIMEOUT =~ ^[1-9][0-9]*$ ]] || bail "FILE_TIMEOUT=$FILE_TIMEOUT is not seconds"
job=${SLURM_JOB_ID:-}
user=${SLURM_JOB_USER:-}
[[ -n $job && -n $user ]] || bail "SLURM_JOB_ID/SLURM_JOB_USER not set: not run as an Epilog?"
outdir=$OUTPUT_ROOT/$user/$job

this_node=${SLURMD_NODENAME:-$(hostname -s)}
first_node=$(scontrol show hostnames "${SLURM_JOB_NODELIST:-$this_node}" 2>/dev/null | head -n 1)
if [[ -n $first_node && $first_node != "$this_node" ]]; then
    exit 0   # another node of this job does the flush
fi
[[ -d $outdir ]] || exit 0   # this job wrote nothing there

mkdir -p "$LOG_DIR" || bail "cannot create $LOG_DIR"
log=$LOG_DIR/slurm-$job.log
{
    echo "$(date -Is) flushing $outdir for job $job (user $user), timeout ${FLUSH_TIMEOUT}s"
    runuser -u "$user" -- find "$outdir" -type f -print0 |
        runuser -u "$user" -- \
            timeout --kill-after=30 "$FLUSH_TIMEOUT" \
            hpccache flush -0 --cache "$HPCCACHE_CACHE" -g "$HPCCACHE_RG" \
            --timeout "$FILE_TIMEOUT" -o json
    rc=${PIPESTATUS[1]}
    echo "$(date -Is) hpccache flush exit status $rc (0 all flushed, 1 some failed," \
        "124 stopped at FLUSH_TIMEOUT, 137 killed)"
} >>"$log" 2>&1

exit 0
