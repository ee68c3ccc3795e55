#!/usr/bin/env bash
# Flush every file under a directory that changed recently, from Azure HPC Cache to storage.
#
#   find-and-flush.sh DIR [MINUTES]
#
# Example: after a job wrote results under /mnt/hpccache/results/run42 in the last 3 hours:
#   HPCCACHE_CACHE=my-hpc-cache HPCCACHE_RG=my-hpc-rg find-and-flush.sh /mnt/hpccache/results/run42 180
#
# Paths go NUL-separated (find -print0 | hpccache flush -0), so names with spaces, newlines or
# bytes that are not UTF-8 arrive intact. Exit status is hpccache's: 0 all flushed (or clean),
# 1 some files failed, 2 bad usage, 3 Azure error, 4 cache unreachable.
set -uo pipefail

dir=${1:?usage: find-and-flush.sh DIR [MINUTES]}
minutes=${2:-}
: "${HPCCACHE_CACHE:?set HPCCACHE_CACHE to the cache name}"
: "${HPCCACHE_RG:?set HPCCACHE_RG to the cache resource group}"

predicates=(-type f)
if [[ -n $minutes ]]; then
    predicates+=(-mmin "-$minutes")   # modified less than MINUTES ago
fi

find "$dir" "${predicates[@]}" -print0 |
    hpccache flush -0 --cache "$HPCCACHE_CACHE" -g "$HPCCACHE_RG" -o json >flush-results.json
status=("${PIPESTATUS[@]}")

# find exits 1 when some subdirectory was unreadable; the files it did list were still flushed.
# Say so, but report hpccache's own status, which is what the caller acts on.
if ((status[0] != 0)); then
    echo "find-and-flush: warning: find could not read all of $dir (exit ${status[0]})" >&2
fi
exit "${status[1]}"
