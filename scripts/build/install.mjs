// `npm install` builds the best addon this machine supports:
//   nvcc + cmake present -> cmake-js (CUDA translation unit, static cudart, BLAS when found)
//   cmake present        -> cmake-js CPU-only
//   otherwise            -> node-gyp with binding.gyp (CPU-only)
// No network is needed: package.json's binary.napi_versions makes cmake-js use node-api-headers.
// The package ships a portable prebuild (CPU, built-in GEMM). When this machine has nothing a local
// build would add (no CUDA toolkit, no OpenBLAS), the prebuild is used and nothing is compiled; a
// failed build falls back to it with a warning. SAE_MATCH_BUILD=1 builds anyway;
// SAE_MATCH_SKIP_BUILD=1 never builds.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join, resolve } from 'node:path';
import { planInstall } from './install-plan.mjs';

const require = createRequire(import.meta.url);

function onPath(cmd) {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/local/cuda/bin']);
  return dirs.find((d) => d && existsSync(join(d, cmd)));
}

function run(cmd, args, env = {}) {
  console.error(`sae-match: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status === 0;
}

if (process.env.SAE_MATCH_SKIP_BUILD === '1') {
  console.error('sae-match: SAE_MATCH_SKIP_BUILD=1, not building the native addon');
  process.exit(0);
}

const root = resolve(import.meta.dirname, '..', '..');
const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const prebuilt = existsSync(prebuildDir) && readdirSync(prebuildDir).some((f) => f.endsWith('.node'));
const nvccDir = onPath('nvcc');
const cmake = onPath('cmake');
// The same search binding.gyp and CMakeLists.txt make (scripts/build/blas-gyp.mjs).
const openblas = ['/usr/lib/x86_64-linux-gnu/libopenblas.so', '/usr/lib/aarch64-linux-gnu/libopenblas.so', '/usr/lib/libopenblas.so', '/usr/local/lib/libopenblas.so'].find((l) => existsSync(l));
const plan = planInstall({ prebuilt, prebuildDir, nvccDir, openblas, env: process.env });
console.error(plan.message);
if (plan.action === 'prebuild') process.exit(0);
const gains = plan.gains;
let ok = false;
if (cmake) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const env = nvccDir ? { PATH: `${process.env.PATH}${delimiter}${nvccDir}`, CUDACXX: join(nvccDir, 'nvcc') } : {};
  console.error(nvccDir ? `sae-match: nvcc found in ${nvccDir}: building with CUDA` : 'sae-match: no nvcc: CPU-only build');
  ok = run(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn'], env);
  if (!ok) console.error('sae-match: cmake-js build failed; trying node-gyp (CPU-only)');
}
if (!ok) {
  const gyp = onPath('node-gyp') ? ['node-gyp', ['rebuild']] : ['npm', ['exec', '--yes', '--', 'node-gyp', 'rebuild']];
  ok = run(...gyp);
}
if (!ok && prebuilt) {
  console.error(`sae-match: the build failed; the prebuilt addon (${prebuildDir}: CPU, built-in GEMM, no ${gains.join(', no ')}) will be used. ` +
    '`sae-match info` says what runs; fix the build above and run `npm rebuild sae-match` for the rest.');
  process.exit(0);
}
if (!ok) {
  console.error('sae-match: could not build the native addon. Needs a C++17 compiler and cmake (or node-gyp).');
  process.exit(1);
}
