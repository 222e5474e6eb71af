// `npm test` loads the addon from the prebuild alone (test/prebuild.test.ts), so make sure one exists
// and is not older than the native sources it was built from (a stale prebuild would be tested in
// place of the code in the tree). The prebuild is CPU-only and BLAS-free so it loads on any x86-64
// Linux with a C++ runtime.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const dir = `prebuilds/${process.platform}-${process.arch}`;
const built = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node')).map((f) => statSync(join(dir, f)).mtimeMs) : [];

/** Newest modification time of the files a prebuild is made from. */
function newestSource(paths) {
  let t = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newestSource(readdirSync(p).map((f) => join(p, f))) : s.mtimeMs);
  }
  return t;
}

const stale = built.length > 0 && Math.min(...built) < newestSource(['native', 'binding.gyp', 'scripts/build/blas-gyp.mjs']);
if (built.length === 0 || stale) {
  console.error(`sae-match: ${stale ? 'the prebuild is older than native/' : `no prebuild in ${dir}`}; running npm run prebuild`);
  const r = spawnSync('npm', ['run', 'prebuild'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
