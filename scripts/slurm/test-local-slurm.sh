#!/bin/bash
# A real single-node Slurm on this machine (slurmctld + slurmd on localhost, munge for auth; nothing
# outside the machine), and two array jobs over a synthetic 8-layer suite through
# scripts/slurm/sae-match-array.sbatch:
#   1. a 4-task array: the merged perm and cost files must be byte-identical to a single-process
#      `suite` run's, and the manifest must list every pair;
#   2. the same with one task killed (SIGTERM) while it works, then resubmitted alone: same check.
# Needs root and Debian's slurm-wlm and munge (`--install` runs apt-get for them), and a built
# package (npm run build). Prints one line per check and the timings; exits non-zero on a failure.
# Usage: scripts/slurm/test-local-slurm.sh [--install] [--keep]
# Exit codes: 0 passed, 1 a check failed, 2 bad usage, 3 this machine cannot run it (no root, no
# packages, the daemons did not start): CI reports that as skipped.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLI="node $ROOT/dist/cli/main.js"
KEEP=0
for a in "$@"; do
  case $a in
    --install) apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null ;;
    --keep) KEEP=1 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
command -v slurmctld >/dev/null && command -v munged >/dev/null || { echo "slurm-wlm and munge are not installed (rerun with --install)" >&2; exit 3; }
[[ $(id -u) == 0 ]] || { echo "needs root (it starts slurmctld, slurmd and munged)" >&2; exit 3; }
[[ -f $ROOT/dist/cli/main.js ]] || { echo "build first: npm run build" >&2; exit 2; }

W=$(mktemp -d /tmp/sae-match-slurm-XXXXXX)
chmod 755 "$W"   # munged runs as the munge user and must reach its folder
export SLURM_CONF=$W/slurm.conf
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
PIDS=()
cleanup() {
  timeout 5 scancel --quiet --user=root 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f $W/munge/munged.pid ]] && kill "$(cat "$W/munge/munged.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  [[ $KEEP == 1 ]] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT

# munge: a fresh key and socket under $W, run as the munge user as munged wants.
mkdir -p "$W/munge" && chown munge: "$W/munge" && chmod 755 "$W/munge"
dd if=/dev/urandom of="$W/munge/munge.key" bs=1024 count=1 status=none
chown munge: "$W/munge/munge.key" && chmod 400 "$W/munge/munge.key"
SOCK=$W/munge/munge.socket
runuser -u munge -- munged --key-file="$W/munge/munge.key" --socket="$SOCK" --pid-file="$W/munge/munged.pid" \
  --log-file="$W/munge/munged.log" --seed-file="$W/munge/munge.seed" || { echo "cannot run here: munged did not start"; exit 3; }
mkdir -p "$W/spool/ctld" "$W/spool/d" "$W/log"
cat > "$SLURM_CONF" <<CONF
ClusterName=saematch
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
StateSaveLocation=$W/spool/ctld
SlurmdSpoolDir=$W/spool/d
SlurmctldPidFile=$W/slurmctld.pid
SlurmdPidFile=$W/slurmd.pid
SlurmctldLogFile=$W/log/slurmctld.log
SlurmdLogFile=$W/log/slurmd.log
SlurmctldPort=6917
SlurmdPort=6918
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MessageTimeout=30
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -f "$SLURM_CONF" >"$W/log/slurmctld.out" 2>&1 & PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >"$W/log/slurmd.out" 2>&1 & PIDS+=($!)
for _ in $(seq 60); do sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix)' && break; sleep 1; done
sinfo -h -o %t | grep -qE '^(idle|mix)' || { echo "cannot run here: slurmd did not come up"; tail -20 "$W/log/"*.log; exit 3; }
echo "slurm up: $(sinfo -h -o '%N %t %c CPUs')"

SUITE=$W/suite
$CLI synth "$SUITE" --num-layers 8 --width 4096 --d-model 512 --l0-variants 1 --seed 14 >/dev/null
t0=$(date +%s.%N)
$CLI suite "$SUITE" --out "$W/single" --json >/dev/null
t1=$(date +%s.%N)
echo "single process: 7 pairs in $(echo "$t1 - $t0" | bc) s"

same() {  # same OUT: byte-identical perm/cost files and a manifest of 7 pairs
  local out=$1 bad=0
  for f in "$W/single"/perm_*.npy "$W/single"/cost_*.npy; do cmp -s "$f" "$out/$(basename "$f")" || { echo "  differs: $(basename "$f")"; bad=1; }; done
  local n; n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['pairs']))" "$out/manifest.json")
  [[ $n == 7 ]] || { echo "  manifest lists $n pairs"; bad=1; }
  return $bad
}
submit() {  # submit ARRAY OUT [--wait]: the template with this machine's sizes
  SUITE=$SUITE OUT=$2 SAE_MATCH="$CLI" sbatch --parsable --array="$1" --cpus-per-task=1 --mem=1500M --time=20 \
    --output="$W/log/task-%A_%a.log" ${3:-} "$ROOT/scripts/slurm/sae-match-array.sbatch"
}

# 1. Four tasks, merged.
t0=$(date +%s.%N)
submit 0-3 "$W/array" --wait >/dev/null || true
t1=$(date +%s.%N)
if same "$W/array"; then echo "PASS array 0-3: byte-identical to one process, 7 pairs listed ($(echo "$t1 - $t0" | bc) s)"; else echo "FAIL array 0-3"; cat "$W/log/task-"*.log; exit 1; fi
$CLI status "$W/array"

# 2. Task 1 killed while it works on a pair (its heartbeat names shard 1/4), then resubmitted alone.
job=$(submit 0-3 "$W/kill")
for _ in $(seq 600); do grep -qsE '"shard": *"1/4"' "$W/kill/running/"*.json && break; sleep 0.1; done
grep -qsE '"shard": *"1/4"' "$W/kill/running/"*.json || { echo "FAIL: task 1 was never seen working"; exit 1; }
scancel --signal=TERM --full "${job}_1" || true
while squeue -h -j "$job" 2>/dev/null | grep -q .; do sleep 0.5; done
echo "after the kill: $($CLI status "$W/kill" | head -1)"
[[ -z $(ls "$W/kill/running/") ]] || { echo "FAIL: the killed task left a heartbeat"; exit 1; }
submit 1 "$W/kill" --wait >/dev/null || true
if same "$W/kill"; then echo "PASS kill task 1 mid-pair (SIGTERM), resubmit it: byte-identical, 7 pairs listed"; else echo "FAIL kill/resubmit"; cat "$W/log/task-"*.log; exit 1; fi
echo "the killed task's log:"; sed 's/^/  /' "$W/log/task-${job}_1.log" | tail -3
