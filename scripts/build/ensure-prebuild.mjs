// `npm test` loads the addon from the prebuild alone (test/prebuild.test.ts), so make sure one exists.
// The prebuild is CPU-only and BLAS-free so it loads on any x86-64 Linux with a C++ runtime.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const dir = `prebuilds/${process.platform}-${process.arch}`;
const have = existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.node'));
if (!have) {
  console.error(`sae-match: no prebuild in ${dir}; running npm run prebuild`);
  const r = spawnSync('npm', ['run', 'prebuild'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
