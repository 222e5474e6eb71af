#!/usr/bin/env bash
# Bundles what a GPU machine needs to run sae-match into .device/ (ignored by git; pass it with the
# device tool's `carry: [".device"]`). The GPU machine has CUDA and Python but no Node.js and no
# network (../shared/gpu.md): node itself (xz), the compiled JS, the CUDA-enabled addon built here
# with cmake-js, and only the runtime npm packages the GPU check needs. Must stay under 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v nvcc >/dev/null || { echo "device-bundle: nvcc not found: the addon would have no CUDA" >&2; exit 2; }
npm run build >/dev/null
# Its own build folder, without BLAS: the device machine has no system OpenBLAS for the addon to load
# (numpy's is private), and what is timed there is the GPU and the solver, not the CPU GEMM.
node node_modules/cmake-js/bin/cmake-js compile --log-level warn -O build-device --CDSAE_MATCH_USE_BLAS=OFF
node -e "const i=require('./build-device/Release/sae_match.node').info(); if(!i.cuda.compiled||i.haveBlas){console.error('device-bundle: build-device is not a CUDA, BLAS-free build');process.exit(2)}"
rm -rf .device
mkdir -p .device/pkg/build/Release .device/pkg/node_modules
xz -T2 -c "$(command -v node)" > .device/node.xz
cp -r dist package.json .device/pkg/
cp build-device/Release/sae_match.node .device/pkg/build/Release/
cp scripts/gpu/gpu-check.mjs .device/pkg/
# Runtime packages of the code paths the GPU check uses (loaders, matching): no echarts, no build tools.
for p in commander node-gyp-build yauzl buffer-crc32 pend; do
  [ -d "node_modules/$p" ] && cp -r "node_modules/$p" .device/pkg/node_modules/
done
du -sh .device
