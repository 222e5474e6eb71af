// OpenBLAS's kernels follow the CPU's feature flags (src/binding/addon.ts chooseBlasCore): an OpenBLAS
// older than the CPU would otherwise fall back to its slowest x86-64 kernels (Prescott), 5-7x slower
// sgemm on this project's VMs. A core type the user sets is left alone.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = join(resolve(import.meta.dirname, '..'), 'dist', 'cli', 'main.js');
const info = (env: NodeJS.ProcessEnv) => {
  const r = spawnSync(process.execPath, [cli, 'info', '--json'], { encoding: 'utf8', env });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { blas: string; haveBlas: boolean };
};
const flags = (() => {
  try {
    return new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
  } catch {
    return new Set<string>();
  }
})();
const base = { ...process.env };
delete base.OPENBLAS_CORETYPE;
const openblas = info(base).blas.startsWith('openblas');

describe('OpenBLAS core type', () => {
  it.skipIf(!openblas || !(flags.has('avx2') && flags.has('fma')))('follows the CPU: SkylakeX with AVX-512, Haswell with AVX2, never the Prescott fallback', () => {
    const want = ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f)) ? 'SkylakeX' : 'Haswell';
    expect(info(base).blas).toContain(` ${want} `);
  });
  it.skipIf(!openblas)('a core type the user set is kept', () => {
    expect(info({ ...base, OPENBLAS_CORETYPE: 'Prescott' }).blas).toContain(' Prescott ');
  });
});
