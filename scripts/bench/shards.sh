#!/bin/bash
# Pairs per hour for 1, 2 and 4 local shards of one suite (issue 14's throughput figures), each
# shard a `sae-match suite --shard K/N` process into one output folder, all started at once; the wall
# time is from the start to the last shard's exit. Usage:
#   scripts/bench/shards.sh [LAYERS WIDTH D_MODEL]     (default 8 16384 2304)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLI="node $ROOT/dist/cli/main.js"
L=${1:-8} N=${2:-16384} D=${3:-2304}
W=$(mktemp -d /tmp/sae-match-shards-XXXXXX)
trap 'rm -rf "$W"' EXIT
$CLI synth "$W/suite" --num-layers "$L" --width "$N" --d-model "$D" --l0-variants 1 >/dev/null
pairs=$((L - 1))
echo "suite: $L layers x $N features, d_model $D ($pairs pairs); $(nproc) CPUs; $(date -u +%F)"
for shards in 1 2 4; do
  t0=$(date +%s.%N)
  pids=()
  for ((k = 0; k < shards; k++)); do
    $CLI suite "$W/suite" --out "$W/out-$shards" --shard "$k/$shards" --json >"$W/r-$shards-$k.json" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  t1=$(date +%s.%N)
  s=$(echo "$t1 - $t0" | bc)
  peak=$(for ((k = 0; k < shards; k++)); do python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['peak_rss_bytes'])" "$W/r-$shards-$k.json"; done | sort -n | tail -1)
  printf '%d shard(s): %d pairs in %.1f s = %.0f pairs/hour; largest shard peak RSS %.2f GiB\n' "$shards" "$pairs" "$s" "$(echo "$pairs * 3600 / $s" | bc -l)" "$(echo "$peak / 2^30" | bc -l)"
  for f in "$W/out-1"/perm_*.npy; do cmp -s "$f" "$W/out-$shards/$(basename "$f")" || echo "  differs from 1 shard: $(basename "$f")"; done
done
