#!/usr/bin/env bash
# On a GPU machine (device tool): unpacks node from .device/ (scripts/gpu/device-bundle.sh), prints the
# device, then runs scripts/gpu/gpu-check.mjs: the GPU checks (cost kernel against float64, GPU solver
# against the CPU solver with certificates on every family up to n = 4096) and the GPU benchmark.
# Results go to $OUT (or ./gpu-results) as JSON and a log. Usage, from this machine:
#   scripts/gpu/device-bundle.sh, then device run: `bash scripts/gpu/gpu-check.sh` with carry [".device"].
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT_DIR="${OUT:-$PWD/gpu-results}"
mkdir -p "$OUT_DIR"
[ -f .device/node.xz ] || { echo "gpu-check: .device/node.xz missing: run scripts/gpu/device-bundle.sh here and carry .device" >&2; exit 2; }
xz -dc .device/node.xz > /tmp/node && chmod +x /tmp/node
export PATH=/tmp:$PATH
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv 2>&1 | tee "$OUT_DIR/nvidia-smi.txt"
cd .device/pkg
node gpu-check.mjs "$OUT_DIR" ${GPU_CHECK_ARGS:-} 2>&1 | tee "$OUT_DIR/gpu-check.log"
exit "${PIPESTATUS[0]}"
