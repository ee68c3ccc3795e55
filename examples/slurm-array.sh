#!/bin/bash
# Flush one long list of files from Azure HPC Cache with a Slurm job array: every task reads
# the same list and flushes only its own share (--shard auto), so N tasks on N nodes flush the
# whole list exactly once, with no coordination between them.
#
#   sbatch --array=0-7 examples/slurm-array.sh LIST REPORT_DIR [hpccache flush options...]
#
#   LIST        the files to flush, one per line (client paths, namespace paths with --cache,
#               or paths under --export with --ip; as for `hpccache flush --from-file`)
#   REPORT_DIR  where each task writes its --report (one JSON line per path it flushed):
#               REPORT_DIR/flush-<array job id>_<task id>.jsonl; together they list every
#               path of LIST once
#   options     how the cache is named, for example: --cache NAME -g RG, or --ip ADDRESS
#               --export /JUNCTION
#
# The array must be a range (--array=A-B or A-B:STEP, %LIMIT allowed): a task of a list such
# as --array=1,3,8 cannot know its position among the others, so --shard auto refuses it
# (exit 2, one line saying so) instead of flushing some files twice and others never.
# `sbatch --wait` then exits with the highest task exit code: 0 only when every task flushed
# its whole share (1 = some files failed: see the reports; 4 = cache unreachable).
#
#SBATCH --job-name=hpccache-flush
#SBATCH --output=hpccache-flush-%A_%a.out
set -euo pipefail

if (($# < 2)); then
  echo "usage: sbatch --array=0-7 $0 LIST REPORT_DIR [hpccache flush options...]" >&2
  exit 2
fi
list=$1 reports=$2
shift 2
if [[ -z ${SLURM_ARRAY_TASK_ID:-} ]]; then
  echo "$0: not a task of a job array: submit it with sbatch --array=A-B" >&2
  exit 2
fi
mkdir -p "$reports"
export NO_COLOR=1   # a batch log is not a terminal

# -v prints what --shard auto read (SLURM_ARRAY_TASK_ID, COUNT, MIN, MAX, STEP) and which
# shard that makes, then each path's outcome.
exec hpccache flush --shard auto -v --from-file "$list" \
  --report "$reports/flush-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}.jsonl" "$@"
