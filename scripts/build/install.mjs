// `npm install` builds the best addon this machine supports:
//   nvcc + cmake present -> cmake-js (CUDA translation unit, static cudart, BLAS when found)
//   cmake present        -> cmake-js CPU-only
//   otherwise            -> node-gyp with binding.gyp (CPU-only)
// No network is needed: package.json's binary.napi_versions makes cmake-js use node-api-headers.
// SAE_MATCH_SKIP_BUILD=1 skips the build (a prebuild in prebuilds/ is then used if present).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

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

const nvccDir = onPath('nvcc');
const cmake = onPath('cmake');
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
if (!ok) {
  console.error('sae-match: could not build the native addon. Needs a C++17 compiler and cmake (or node-gyp).');
  process.exit(1);
}
