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

// What OpenBLAS keeps bit for bit across call shapes depends on its kernels (native/core/cost/
// blas_rules.cpp): its SkylakeX kernels keep a row's entries in any 16-row call and over any subset of
// the columns; its Haswell kernels (every AVX2 CPU without AVX-512) only in the slot of a 12-row tile
// the row had, and never over a subset of the columns. The sparse method recomputes rows and must get
// the entries the stream saw: checked under both, in processes of their own.
describe('the cost panels follow what the BLAS keeps bit for bit', () => {
  const run = (core: string) => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, 'blas-shapes.child.mjs')], { encoding: 'utf8', env: { ...base, OPENBLAS_CORETYPE: core } });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as {
      rules: { rowTile: number; slotted: boolean; columnSubsets: boolean };
      pairs: { na: number; nb: number; kernel: string; assigned: number; mismatched: number; rowsEvaluated: number; rowsPartial: number }[];
      rows: { transposed: boolean; kernel: string; mismatched: number }[];
    };
  };
  const avx512 = ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((f) => flags.has(f));
  it.skipIf(!openblas || !(flags.has('avx2') && flags.has('fma')))('Haswell kernels: rows in the slot of their index in 12-row tiles, rows recomputed whole, C^T as the (b, a) matrix', () => {
    const r = run('Haswell');
    expect(r.rules).toEqual({ rowTile: 12, slotted: true, columnSubsets: false });
    expect(r.rows).toEqual([{ transposed: false, kernel: 'blas', mismatched: 0 }, { transposed: true, kernel: 'blas', mismatched: 0 }]);
    for (const p of r.pairs) {
      expect(p.kernel).toBe('blas');
      expect(p.assigned).toBe(Math.min(p.na, p.nb));
      expect(p.rowsPartial).toBe(0);
      expect(p.mismatched, `${p.na} x ${p.nb}`).toBe(0);
    }
  }, 60_000);
  it.skipIf(!openblas || !avx512)('SkylakeX kernels: any 16-row call, any subset of the columns', () => {
    const r = run('SkylakeX');
    expect(r.rules).toEqual({ rowTile: 16, slotted: false, columnSubsets: true });
    expect(r.rows).toEqual([{ transposed: false, kernel: 'blas', mismatched: 0 }, { transposed: true, kernel: 'blas', mismatched: 0 }]);
    expect(r.pairs[0]!.rowsEvaluated).toBeGreaterThan(0);
    for (const p of r.pairs) {
      expect(p.kernel).toBe('blas');
      expect(p.mismatched, `${p.na} x ${p.nb}`).toBe(0);
    }
  }, 60_000);
});
