// The assignment solver against scipy.optimize.linear_sum_assignment on the fixtures written by
// scripts/fixtures/make-lap-fixtures.py (test/fixtures/lap/manifest.json holds scipy's totals, its
// assignments up to n = 128, and whether that optimum is unique).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { checkCertificate, InfeasibleError, solveAssignment, type CostMatrix } from '../src/solve/lap.js';
import { readNpy } from '../src/io/npy.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'lap');

interface FixtureCase {
  name: string;
  file: string;
  family: string;
  shape: [number, number];
  dtype: 'float32' | 'float64';
  maximize: boolean;
  total?: number;
  rowToCol?: number[];
  unique?: boolean;
  secondBestGap?: number | null;
  infeasible?: boolean;
}

const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as { cases: FixtureCase[] };

async function load(c: FixtureCase): Promise<CostMatrix> {
  const arr = await readNpy(join(DIR, c.file));
  expect(arr.dtype).toBe(c.dtype);
  expect(arr.shape).toEqual(c.shape);
  expect(arr.data).toBeInstanceOf(c.dtype === 'float32' ? Float32Array : Float64Array);
  return { data: arr.data as Float32Array | Float64Array, nRows: c.shape[0], nCols: c.shape[1] };
}

describe('manifest', () => {
  test('covers every family, size, rectangular, maximize, forbidden and infeasible case', () => {
    const names = new Set(manifest.cases.map((c) => c.name));
    for (const family of ['uniform', 'int', 'geometric', 'sae', 'machol-wien'])
      for (const n of [16, 128, 512]) expect(names.has(`${family}-${n}`), `${family}-${n}`).toBe(true);
    expect(manifest.cases.some((c) => c.shape[0] < c.shape[1])).toBe(true);
    expect(manifest.cases.some((c) => c.shape[0] > c.shape[1])).toBe(true);
    expect(manifest.cases.some((c) => c.maximize && c.shape[0] !== c.shape[1])).toBe(true);
    expect(manifest.cases.some((c) => c.family === 'forbidden' && c.maximize)).toBe(true);
    expect(manifest.cases.some((c) => c.family === 'forbidden' && c.dtype === 'float32')).toBe(true);
    expect(manifest.cases.some((c) => c.infeasible)).toBe(true);
  });
});

describe('scipy fixtures', () => {
  for (const c of manifest.cases) {
    test(`${c.name} (${c.shape.join('x')} ${c.dtype}${c.maximize ? ', maximize' : ''})`, async () => {
      const m = await load(c);
      if (c.infeasible) {
        await expect(solveAssignment(m, { maximize: c.maximize })).rejects.toBeInstanceOf(InfeasibleError);
        return;
      }
      const r = await solveAssignment(m, { maximize: c.maximize });
      const expected = c.total!;
      // scipy's total was summed in float64 from the matrix as stored, as is ours.
      expect(Math.abs(r.totalCost - expected), `total ${r.totalCost}, scipy ${expected}`).toBeLessThanOrEqual(
        1e-9 * Math.max(1, Math.abs(expected)),
      );

      // The reported total is the sum over the reported assignment, which is one-to-one and allowed.
      const { nRows, nCols, data } = m;
      const seen = new Uint8Array(nCols);
      let sum = 0;
      let assigned = 0;
      for (let i = 0; i < nRows; i++) {
        const j = r.rowToCol[i]!;
        if (j < 0) continue;
        expect(seen[j], `column ${j} used twice`).toBe(0);
        seen[j] = 1;
        expect(r.colToRow[j]).toBe(i);
        expect(Number.isFinite(data[i * nCols + j]!), `forbidden pair (${i}, ${j}) used`).toBe(true);
        sum += data[i * nCols + j]!;
        assigned++;
      }
      expect(assigned).toBe(Math.min(nRows, nCols));
      expect(Math.abs(sum - r.totalCost)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));

      const cert = await checkCertificate(m, r, { maximize: c.maximize });
      expect(cert.ok, cert.message).toBe(true);

      // Where scipy's optimum is provably unique (second best worse by > 1e-9 relative; this
      // excludes the tie-heavy int family), the assignment itself must be scipy's.
      if (c.rowToCol && c.unique) expect(Array.from(r.rowToCol)).toEqual(c.rowToCol);
    });
  }

  test('the int family really has ties (so its assignment is not compared) and the continuous ones do not', () => {
    for (const c of manifest.cases) {
      if (c.unique === undefined) continue;
      if (c.family === 'int') expect(c.unique, c.name).toBe(false);
      if (['uniform', 'geometric', 'sae'].includes(c.family)) expect(c.unique, c.name).toBe(true);
    }
  });
});
