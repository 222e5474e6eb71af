// The CUDA solver's data-parallel initialisation (JV phases 1-3 in Jacobi form) and the warm-start
// phase 4 it hands over to, both on the host: whatever the number of bidding rounds, the optimum must
// equal the sequential JV's on every benchmark family, with a passing dual certificate; a warm start
// is checked rather than trusted (bad rows are freed, malformed ones refused).
import { describe, expect, test } from 'vitest';
import { SaeMatchInputError } from '../src/errors.js';
import { TEST_FAMILIES as FAMILIES, testInstance } from './instances.js';
import { checkCertificate, parallelInitReference, solveAssignment } from '../src/solve/lap.js';
import { prng } from './helpers.js';

describe('parallel initialisation + warm-start phase 4', () => {
  for (const family of FAMILIES)
    test(`${family}: same optimum as JV for 0, 1, 4 and 64 rounds`, async () => {
      for (const n of [7, 200, 700]) {
        const inst = testInstance(family, n, { seed: 11 + n, dtype: 'float32', dim: 64 });
        const jv = await solveAssignment(inst);
        let lastFree = Infinity;
        for (const rounds of [0, 1, 4, 64]) {
          const p = await solveAssignment(inst, { init: 'parallel', parallelRounds: rounds });
          expect(p.totalCost).toBeCloseTo(jv.totalCost, 3);
          expect(Math.abs(p.totalCost - jv.totalCost)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(jv.totalCost)) * n);
          const cert = await checkCertificate(inst, p);
          expect(cert.ok, cert.message).toBe(true);
          expect(p.stats.parallelRounds).toBeLessThanOrEqual(rounds);
          // The invariant holds after every round: the state, checked as a warm start, keeps every row.
          const ws = await parallelInitReference(inst, { rounds });
          const checked = await solveAssignment(inst, { warmStart: ws! });
          expect(checked.stats.warmStartRejected).toBe(0);
          expect(checked.stats.freeAfterArr).toBe(p.stats.freeAfterArr);
          expect(checked.totalCost).toBe(p.totalCost);
          // More rounds never leave more rows for phase 4 on these instances.
          expect(p.stats.freeAfterArr).toBeLessThanOrEqual(lastFree);
          lastFree = p.stats.freeAfterArr;
          // Every row is assigned, each column once.
          expect(new Set(p.rowToCol).size).toBe(n);
        }
      }
    });

  test('the CPU backend takes the parallel initialisation for square pairs from 4096 features, engine option cpuInit jv the sequential one', async () => {
    const { cpuBackend, CPU_PARALLEL_INIT_MIN } = await import('../src/solve/backend.js');
    const inst = testInstance('sae', CPU_PARALLEL_INIT_MIN, { seed: 21, dim: 32 });
    const jv = await solveAssignment(inst);
    const be = cpuBackend();
    const p = await be.solveAssignment(inst);
    expect(p.stats.parallelRounds).toBeGreaterThan(0);
    expect(p.totalCost).toBeCloseTo(jv.totalCost, 3);
    expect((await be.checkCertificate(inst, p)).ok).toBe(true);
    const s = await cpuBackend({ cpuInit: 'jv' }).solveAssignment(inst);
    expect(s.stats.parallelRounds).toBe(0);
    expect(s.stats.arrRowScans).toBeGreaterThan(0);
    const small = testInstance('sae', 100, { seed: 2, dim: 16 });
    expect((await be.solveAssignment(small)).stats.parallelRounds).toBe(0);
  });

  test("init 'auto' (the CPU backend's): the rounds stop at the sequential phase 3's scan budget and at n / 4 scans without progress; the optimum is JV's", async () => {
    const { CPU_PARALLEL_INIT_MIN: n, PARALLEL_INIT_ROUNDS } = await import('../src/solve/lap.js');
    const budget = 2 * (4 * n + 1024);
    // 2-D geometric costs: prices move by tiny steps and the unbudgeted rounds scan far past the
    // budget; integer costs: ties trade columns, the free count stalls and the rounds idle.
    for (const [family, seed] of [['geometric', 3], ['int', 4]] as const) {
      const inst = testInstance(family, n, { seed, dtype: 'float32' });
      const jv = await solveAssignment(inst, { init: 'jv' });
      const free = await solveAssignment(inst, { init: 'parallel', parallelRounds: PARALLEL_INIT_ROUNDS });
      const auto = await solveAssignment(inst, { init: 'auto' });
      for (const r of [free, auto]) {
        expect(Math.abs(r.totalCost - jv.totalCost)).toBeLessThanOrEqual(1e-9 * Math.abs(jv.totalCost) * n);
        expect((await checkCertificate(inst, r)).ok).toBe(true);
      }
      expect(auto.stats.parallelRounds).toBeGreaterThan(0);
      expect(auto.stats.arrRowScans).toBeLessThanOrEqual(budget);
      expect(auto.stats.parallelRounds).toBeLessThan(free.stats.parallelRounds);
      if (family === 'geometric') expect(free.stats.arrRowScans).toBeGreaterThan(budget);
    }
    // Below the size, or with the engine's cpuInit 'jv', 'auto' is the sequential JV.
    const small = testInstance('sae', 200, { seed: 2, dim: 16 });
    expect((await solveAssignment(small, { init: 'auto' })).stats.parallelRounds).toBe(0);
    const big = testInstance('sae', n, { seed: 21, dim: 32 });
    expect((await solveAssignment(big, { init: 'auto', engine: { cpuInit: 'jv' } })).stats.parallelRounds).toBe(0);
  });

  test('forbidden pairs (+inf) and an infeasible matrix', async () => {
    const n = 50, rnd = prng(5);
    const data = new Float32Array(n * n).map(() => (rnd() < 0.3 ? Infinity : rnd()));
    for (let i = 0; i < n; i++) data[i * n + ((i * 7) % n)] = rnd(); // keeps a perfect matching
    const jv = await solveAssignment({ data, nRows: n, nCols: n });
    const p = await solveAssignment({ data, nRows: n, nCols: n }, { init: 'parallel', parallelRounds: 8 });
    expect(p.totalCost).toBeCloseTo(jv.totalCost, 4);
    expect((await checkCertificate({ data, nRows: n, nCols: n }, p)).ok).toBe(true);
    const bad = new Float32Array(9).fill(1);
    bad[0] = bad[3] = bad[6] = Infinity; // column 0 has no allowed row
    await expect(solveAssignment({ data: bad, nRows: 3, nCols: 3 }, { init: 'parallel' })).rejects.toThrow(/infeasible/i);
  });

  test('a warm start is checked: rows off their row minimum are freed and augmented; malformed ones are refused', async () => {
    const inst = testInstance('uniform', 300, { seed: 3, dtype: 'float32' });
    const jv = await solveAssignment(inst);
    // The optimum itself is a valid warm start: nothing left to do.
    const same = await solveAssignment(inst, { warmStart: { rowToCol: jv.rowToCol, colToRow: jv.colToRow, v: jv.v } });
    expect(same.stats.augmentations).toBe(0);
    expect(same.stats.warmStartRejected).toBe(0);
    expect(same.totalCost).toBeCloseTo(jv.totalCost, 6);
    // A shuffled assignment with v = 0: most rows are not at a row minimum and must be freed.
    const n = 300, x = new Int32Array(n), y = new Int32Array(n);
    for (let i = 0; i < n; i++) x[i] = (i * 37) % n;
    for (let i = 0; i < n; i++) y[x[i]!] = i;
    const fixed = await solveAssignment(inst, { warmStart: { rowToCol: x, colToRow: y, v: new Float64Array(n) } });
    expect(fixed.stats.warmStartRejected).toBeGreaterThan(n / 2);
    expect(fixed.totalCost).toBeCloseTo(jv.totalCost, 4);
    expect((await checkCertificate(inst, fixed)).ok).toBe(true);
    // Malformed: x and y disagree; v not finite; wrong lengths; wrong matrix kind.
    const y2 = y.slice();
    [y2[0], y2[1]] = [y2[1]!, y2[0]!];
    await expect(solveAssignment(inst, { warmStart: { rowToCol: x, colToRow: y2, v: new Float64Array(n) } })).rejects.toThrow(/not one assignment/);
    const v = new Float64Array(n);
    v[5] = NaN;
    await expect(solveAssignment(inst, { warmStart: { rowToCol: x, colToRow: y, v } })).rejects.toThrow(/v\[5\]/);
    await expect(solveAssignment(inst, { warmStart: { rowToCol: x.subarray(1), colToRow: y, v: new Float64Array(n) } })).rejects.toThrow(/one entry per row/);
    await expect(solveAssignment(inst, { maximize: true, warmStart: { rowToCol: x, colToRow: y, v: new Float64Array(n) } })).rejects.toBeInstanceOf(SaeMatchInputError);
    await expect(solveAssignment(inst, { init: 'parallel', maximize: true })).rejects.toBeInstanceOf(SaeMatchInputError);
    await expect(solveAssignment(inst, { init: 'parallel', parallelRounds: -1 })).rejects.toBeInstanceOf(SaeMatchInputError);
  });
});
