// `npm run prebuild`: a portable CPU-only, BLAS-free prebuild in prebuilds/<platform>-<arch>/.
// prebuildify compiles in ./build, which would overwrite the (CUDA/BLAS) addon that `npm install`
// built there, so it runs in a scratch copy of the sources and only prebuilds/ is copied back.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'sae-match-prebuild-'));
try {
  for (const p of ['package.json', 'binding.gyp', 'native', 'scripts/build/blas-gyp.mjs'])
    cpSync(join(root, p), join(work, p), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'));
  const bin = join(root, 'node_modules', 'prebuildify', 'bin.js');
  const r = spawnSync(process.execPath, [bin, '--napi', '--strip'], {
    cwd: work, stdio: 'inherit', env: { ...process.env, SAE_MATCH_BLAS: '0' },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
  cpSync(join(work, 'prebuilds'), join(root, 'prebuilds'), { recursive: true });
  console.error(`sae-match: prebuild written to ${join(root, 'prebuilds')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
