// The sparse exact method against the dense path on the same float32 matrix: the same optimal total
// (1e-9 relative), assigned costs bit-identical to the dense matrix's entries, and duals that pass the
// dense certificate over every pair (an independent check of "optimal over all n^2 pairs"). Small k
// forces the paths that larger k rarely needs: pricing rounds that add violating pairs, and rows the
// candidate graph cannot match (completed whole).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from '../src/io/npy.js';
import { SaeMatchInputError } from '../src/errors.js';
import { costMatrix, type FeatureMatrix } from '../src/solve/cost.js';
import { checkCertificate, solveAssignment } from '../src/solve/lap.js';
import { sparseAssignment, sparseSolve } from '../src/solve/sparse.js';
import { blasRules } from '../src/binding/addon.js';
import { decideMethod, SPARSE_FROM } from '../src/solve/method.js';
import { numpyTestsRun, prng } from './helpers.js';
import { saeLikeFeatures } from './instances.js';

const cli = join(resolve(import.meta.dirname, '..'), 'dist', 'cli', 'main.js');

function gaussian(n: number, dim: number, seed: number): FeatureMatrix {
  const r = prng(seed);
  const data = new Float32Array(n * dim);
  for (let k = 0; k < data.length; k += 2) {
    const u = Math.max(r(), 1e-12), v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    data[k] = m * Math.cos(2 * Math.PI * v);
    if (k + 1 < data.length) data[k + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return { data, rows: n, dim };
}

/** Rows that all sit near one point: their candidates crowd onto the same few columns. */
function crowded(n: number, dim: number, seed: number): { a: FeatureMatrix; b: FeatureMatrix } {
  const a = gaussian(n, dim, seed), b = gaussian(n, dim, seed + 1);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) a.data[i * dim + d] = a.data[i * dim + d]! * 0.01 + 5;
  return { a, b };
}

/** The matrix the sparse method's entries are for a pair (a, b): the (a, b) one, or, for more features in a on a BLAS that gives column subsets other values, the (b, a) one transposed. */
async function compareMatrix(a: FeatureMatrix, b: FeatureMatrix): Promise<{ data: Float32Array; kernel: string }> {
  const ab = await costMatrix(a, b);
  if (a.rows <= b.rows || ab.kernel !== 'blas' || blasRules(a.dim).columnSubsets) return ab;
  const ba = await costMatrix(b, a);
  const t = new Float32Array(a.rows * b.rows);
  for (let j = 0; j < b.rows; j++) for (let i = 0; i < a.rows; i++) t[i * b.rows + j] = ba.data[j * a.rows + i]!;
  return { data: t, kernel: ba.kernel };
}

/**
 * compare() for a pair with more features in a than in b: the method runs on C^T, whose entries are
 * the (a, b) matrix's, or the (b, a) matrix's on a BLAS that gives a subset of the columns other
 * values (blasRules; it then computes C^T as a product of its own).
 */
async function compareTall(a: FeatureMatrix, b: FeatureMatrix, candidates: number) {
  return compare(a, b, candidates, 'sqeuclidean', await compareMatrix(a, b));
}

/** Whether pricing may evaluate open pairs alone with the BLAS at inner dimension d (blasRules). */
const partialBlas = (d: number) => {
  const r = blasRules(d);
  return r.rowTile > 0 && r.columnSubsets && !r.slotted;
};

/** The sparse method against the dense one on the (a, b) matrix (or `dense`, the matrix its entries are). */
async function compare(a: FeatureMatrix, b: FeatureMatrix, candidates: number, metric: 'sqeuclidean' | 'cosine' = 'sqeuclidean',
  given?: { data: Float32Array; kernel: string }) {
  const dense = given ?? await costMatrix(a, b, { metric });
  const m = { data: dense.data, nRows: a.rows, nCols: b.rows };
  const ref = await solveAssignment(m);
  const sp = await sparseAssignment(a, b, { candidates, metric });
  expect(sp.pricing.ok).toBe(true);
  expect(Math.abs(sp.totalCost - ref.totalCost)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(ref.totalCost)));
  // Assigned costs are the dense matrix's entries, bit for bit.
  for (let i = 0; i < a.rows; i++) if (sp.rowToCol[i]! >= 0) expect(sp.costs[i]).toBe(dense.data[i * b.rows + sp.rowToCol[i]!]);
  // The duals prove optimality over every pair of the dense matrix (the dense certificate, its own code).
  const cert = await checkCertificate(m, { rowToCol: sp.rowToCol, u: sp.u, v: sp.v });
  expect(cert.ok, cert.message).toBe(true);
  // Every pair is accounted for: in the graph, proven by a bound, or evaluated.
  const p = sp.pricing;
  expect(p.pairs).toBe(a.rows * b.rows);
  expect(p.inGraph + p.provenByRowBound + p.provenByColumnBound + p.evaluated).toBe(p.pairs);
  return sp;
}

describe('sparse exact method = dense optimum, certified over all pairs', () => {
  it('SAE-like features at k = 32 and k = 4', async () => {
    for (const [n, seed] of [[512, 1], [1000, 2]] as const) {
      const { a, b } = saeLikeFeatures(n, 64, seed);
      const wide = await compare(a, b, 32);
      // The bounds and the stream's longer row lists do the proving: few rows are recomputed.
      expect(wide.pricing.rowsEvaluated).toBeLessThan(0.1 * n);
      // The lists are each row's lowest entries of the dense matrix (ascending), and an answer asked
      // without them is the same answer.
      const dense = (await costMatrix(a, b)).data;
      for (const i of [0, n - 1]) {
        const row = Array.from(dense.subarray(i * n, (i + 1) * n)).sort((x, y) => x - y);
        const got = Array.from(wide.topkCosts.subarray(i * wide.kRow, i * wide.kRow + 8));
        expect(got).toEqual(row.slice(0, 8));
      }
      const bare = await sparseAssignment(a, b, { candidates: 32, lists: false });
      expect(bare.topkIndices.length + bare.topkCosts.length + bare.topkColIndices.length + bare.topkColCosts.length).toBe(0);
      expect(Array.from(bare.rowToCol)).toEqual(Array.from(wide.rowToCol));
      expect(bare.totalCost).toBe(wide.totalCost);
      await compare(a, b, 4);
    }
  });

  it('Gaussian features (bounds prune little) at several k, both metrics', async () => {
    let rounds = 0, added = 0;
    for (const [n, dim, k, seed] of [[200, 8, 1, 3], [300, 16, 2, 4], [257, 4, 3, 5], [400, 32, 8, 6], [128, 2, 1, 7]] as const) {
      const a = gaussian(n, dim, seed), b = gaussian(n, dim, seed + 100);
      const sp = await compare(a, b, k);
      rounds = Math.max(rounds, sp.pricing.rounds);
      added += sp.pricing.violationsAdded;
      await compare(a, b, k, 'cosine');
    }
    // The re-solve path ran: some round added violating pairs, and a later one found none.
    expect(added).toBeGreaterThan(0);
    expect(rounds).toBeGreaterThan(1);
  });

  it('rows crowded onto the same columns: the graph has no perfect matching and is enlarged, never infeasible', async () => {
    const { a, b } = crowded(300, 8, 11);
    const sp = await compare(a, b, 1);
    expect(sp.pricing.rowsCompleted + sp.pricing.violationsAdded).toBeGreaterThan(0);
  });

  it('tiny and degenerate shapes: n = 1, 2, k >= n, identical rows (ties)', async () => {
    for (const n of [1, 2, 3, 7]) {
      const a = gaussian(n, 3, n), b = gaussian(n, 3, n + 50);
      await compare(a, b, 1);
      await compare(a, b, 10);
    }
    const same = gaussian(50, 4, 9);
    const dup: FeatureMatrix = { data: new Float32Array(50 * 4), rows: 50, dim: 4 };
    for (let i = 0; i < 50; i++) dup.data.set(same.data.subarray(0, 4), i * 4); // every row identical
    await compare(dup, same, 2);
    await compare(same, dup, 2);
  });

  it('reports where a long pair is: the stream by rows, then the solve, then pricing rounds, ending at the last round', async () => {
    const { a, b } = saeLikeFeatures(3000, 32, 8);
    const steps: string[] = [];
    const sp = await sparseAssignment(a, b, { candidates: 8, engine: { costPanelRows: 64 }, onStep: (w) => steps.push(w) });
    expect(steps.length).toBeGreaterThan(0);
    // Whatever the polls caught, they come in phase order, the stream's rows never go back, and the
    // last report is the last pricing round (callNative reports the final state once more).
    const phase = (w: string) => (w.startsWith('stream') ? 0 : w === 'solve' ? 1 : w.startsWith('pricing') ? 2 : -1);
    expect(steps.map(phase)).toEqual([...steps.map(phase)].sort());
    expect(steps.map(phase)).not.toContain(-1);
    const rows = steps.filter((w) => w.startsWith('stream')).map((w) => Number(/stream (\d+)\/3000 rows/.exec(w)![1]));
    expect(rows).toEqual([...rows].sort((x, y) => x - y));
    expect(steps.at(-1)).toBe(`pricing round ${sp.pricing.rounds}`);
  });

  it('two widths: the smaller side fully assigned, in either orientation, the free side certified at a common dual', async () => {
    // The dense certificate's rectangular condition (the longer side's free duals equal and
    // highest) is checked in compare; unassigned features are -1 with NaN costs.
    let restarts = 0;
    for (const [na, nb, k, seed] of [[300, 1000, 4, 21], [1000, 300, 4, 22], [257, 258, 1, 23], [90, 40, 2, 24], [1, 5, 1, 25], [5, 1, 1, 26]] as const) {
      const a = gaussian(na, 8, seed), b = gaussian(nb, 8, seed + 100);
      const sp = await compare(a, b, k);
      restarts += sp.pricing.coldRestarts;
      const assigned = sp.rowToCol.filter((j) => j >= 0);
      expect(assigned.length).toBe(Math.min(na, nb));
      expect(new Set(assigned).size).toBe(assigned.length);
      for (let i = 0; i < na; i++) if (sp.rowToCol[i]! < 0) expect(sp.costs[i]).toBeNaN();
      // The candidates stay a's: each feature of a has its kRow lowest columns of b, ascending
      // (the longer row lists when a is the smaller side, the column lists when it is the larger).
      expect(sp.topkIndices.length).toBe(na * sp.kRow);
      expect(sp.kRow).toBe(na <= nb ? Math.min(Math.max(256, 8 * k), nb) : Math.min(k, nb));
      const D = await costMatrix(a, b, {});
      for (let i = 0; i < na; i += Math.max(1, Math.floor(na / 7))) {
        const row = Array.from(D.data.subarray(i * nb, (i + 1) * nb)).sort((x, y) => x - y);
        expect(Array.from(sp.topkCosts.subarray(i * sp.kRow, (i + 1) * sp.kRow))).toEqual(row.slice(0, sp.kRow));
      }
    }
    const { a, b } = saeLikeFeatures(1200, 64, 27);
    const wide: FeatureMatrix = { data: b.data, rows: 1200, dim: 64 };
    const narrow: FeatureMatrix = { data: a.data.subarray(0, 700 * 64), rows: 700, dim: 64 };
    await compare(narrow, wide, 8);
    await compare(wide, narrow, 8, 'cosine');
    // The warm state after pricing could not always be certified (a freed column left free): the
    // cold restart ran.
    expect(restarts).toBeGreaterThan(0);
  });

  it('on the transposed orientation the entries are the (a, b) matrix\'s, with BLAS in its large-matrix path too', async () => {
    // 12 x 2500 x 256 is past OpenBLAS's small-matrix kernels (native/core/cost/cost.cpp): C^T's
    // panels are column blocks of C, computed over all of a's rows; on a BLAS that gives a subset of
    // the columns other values (blasRules), they are the (b, a) matrix's rows.
    const a = gaussian(2600, 256, 31), b = gaussian(2500, 256, 32);
    await compareTall(a, b, 2);
  }, 60_000);

  it('the stream keeps each row\'s lowest entries exactly when a sampled threshold and the vectorised filter pick what the lists see', async () => {
    // keep = 16 puts the width (3000, and 2999 for an odd tail) far past the 8 keep from which a
    // row's threshold comes from a sample; brute force sorts every row of the dense matrix.
    for (const [nb, metric] of [[3000, 'sqeuclidean'], [2999, 'cosine']] as const) {
      const a = gaussian(120, 8, 61), b = gaussian(nb, 8, 62);
      // Rows whose entries rise along the columns: the case the sampled threshold exists for.
      const sorted = Array.from({ length: nb }, (_, j) => j).sort((x, y) => b.data[x * 8]! - b.data[y * 8]!);
      const bs: FeatureMatrix = { data: new Float32Array(nb * 8), rows: nb, dim: 8 };
      sorted.forEach((j, q) => bs.data.set(b.data.subarray(j * 8, j * 8 + 8), q * 8));
      for (const bb of [b, bs]) {
        const sp = await sparseAssignment(a, bb, { candidates: 2, keep: 16, metric });
        expect(sp.kRow).toBe(16);
        const D = await costMatrix(a, bb, { metric });
        for (let i = 0; i < a.rows; i++) {
          const row = Array.from(D.data.subarray(i * nb, (i + 1) * nb)).sort((x, y) => x - y);
          expect(Array.from(sp.topkCosts.subarray(i * 16, (i + 1) * 16)), `${metric} row ${i}`).toEqual(row.slice(0, 16));
          for (let q = 0; q < 16; q++) expect(D.data[i * nb + sp.topkIndices[i * 16 + q]!]).toBe(sp.topkCosts[i * 16 + q]);
        }
        const m = { data: D.data, nRows: a.rows, nCols: nb };
        expect(Math.abs(sp.totalCost - (await solveAssignment(m)).totalCost)).toBeLessThanOrEqual(1e-9 * Math.abs(sp.totalCost));
      }
    }
  });

  it('pricing\'s shortcuts hold when checked the slow way: open and evaluated pairs counted by searching each one, every kept bound against its row recomputed', async () => {
    // SAE_MATCH_SPARSE_CHECK makes pricing check, as it runs, what it otherwise takes on trust: the
    // counts of open pairs and of evaluated pairs (taken from a row's edges and kept entries, not by a
    // search per pair) and each bound a row keeps for later rounds (b3 of a row recomputed whole,
    // b3Open of a row evaluated on its open pairs), against the row recomputed whole. Features at
    // d = 2048 (the GEMM path), where rows are evaluated on their open pairs over several rounds, and
    // stored uniform costs with short lists (keep = 4), where rows are recomputed whole.
    const was = process.env.SAE_MATCH_SPARSE_CHECK;
    process.env.SAE_MATCH_SPARSE_CHECK = '1';
    try {
      const { a, b } = saeLikeFeatures(3000, 2048, 81);
      // Open pairs are evaluated alone only where the GEMM keeps entries over a subset of the columns
      // (OpenBLAS's Haswell kernels do not: blasRules); the built-in kernel always does.
      const kernel = partialBlas(2048) ? 'blas' : 'builtin';
      const dense = await costMatrix(a, b, { kernel });
      const m = { data: dense.data, nRows: a.rows, nCols: b.rows };
      // keep = 16: a row evaluated on its open pairs keeps 64 of them, so its b3Open bounds the rest.
      const sp = await sparseAssignment(a, b, { candidates: 2, kernel, keep: 16 });
      expect(sp.pricing.rowsPartial).toBeGreaterThan(0);
      expect(sp.pricing.selfChecks).toBeGreaterThan(1000);
      expect(sp.pricing.selfCheckFailures).toBe(0);
      expect(Math.abs(sp.totalCost - (await solveAssignment(m)).totalCost)).toBeLessThanOrEqual(1e-9 * Math.abs(sp.totalCost));
      // More features in a than in b: C^T's panels cannot compute open pairs alone, so a bound on their
      // rounding proves them where it can (CostPanels::lowerBounds), each bound checked against the
      // row recomputed whole.
      const tall = saeLikeFeatures(1200, 512, 83);
      const narrow = saeLikeFeatures(1000, 512, 84);
      const st = await sparseAssignment(tall.a, narrow.b, { candidates: 1, keep: 8 });
      expect(st.pricing.selfChecks).toBeGreaterThan(0);
      expect(st.pricing.selfCheckFailures).toBe(0);
      // The cosine distance's bound (1 - x.y / (|x| |y|)) too.
      const sc = await sparseAssignment(tall.a, narrow.b, { candidates: 1, keep: 8, metric: 'cosine' });
      expect(sc.pricing.selfChecks).toBeGreaterThan(0);
      expect(sc.pricing.selfCheckFailures).toBe(0);
      const stRef = await solveAssignment({ data: (await compareMatrix(tall.a, narrow.b)).data, nRows: tall.a.rows, nCols: narrow.b.rows });
      expect(Math.abs(st.totalCost - stRef.totalCost)).toBeLessThanOrEqual(1e-9 * Math.abs(st.totalCost));
      const rng = prng(7);
      const n = 2048;
      const u = { data: Float32Array.from({ length: n * n }, () => rng()), nRows: n, nCols: n };
      const su = await sparseSolve(u, { candidates: 1, keep: 4 });
      expect(su.pricing.selfChecks).toBeGreaterThan(1000);
      expect(su.pricing.selfCheckFailures).toBe(0);
      expect(Math.abs(su.totalCost - (await solveAssignment(u)).totalCost)).toBeLessThanOrEqual(1e-9 * Math.abs(su.totalCost));
      // Without the variable nothing is checked.
      delete process.env.SAE_MATCH_SPARSE_CHECK;
      expect((await sparseSolve(u, { candidates: 1, keep: 4 })).pricing.selfChecks).toBe(0);
    } finally {
      if (was === undefined) delete process.env.SAE_MATCH_SPARSE_CHECK;
      else process.env.SAE_MATCH_SPARSE_CHECK = was;
    }
  });

  it('open pairs evaluated alone (not their whole rows) are the dense matrix\'s entries, with either GEMM kernel', async () => {
    // d = 2048 puts a 16-row call over a few hundred columns past OpenBLAS's small-matrix kernels, so
    // pricing evaluates open pairs in blocks (native/core/cost/cost.cpp prefixBlock); k = 2 leaves
    // rows open (a few dozen here, each with a few hundred open pairs). Checked: the optimum, the
    // assigned costs bit for bit, the dense certificate on the sparse duals.
    const { a, b } = saeLikeFeatures(3000, 2048, 81);
    for (const kernel of ['blas', 'builtin'] as const) {
      const dense = await costMatrix(a, b, { kernel });
      const m = { data: dense.data, nRows: a.rows, nCols: b.rows };
      const ref = await solveAssignment(m);
      const sp = await sparseAssignment(a, b, { candidates: 2, kernel });
      // A BLAS that gives a subset of the columns other values (blasRules) has its rows recomputed whole.
      if (kernel === 'builtin' || partialBlas(2048)) expect(sp.pricing.rowsPartial, kernel).toBeGreaterThan(0);
      else expect(sp.pricing.rowsPartial, kernel).toBe(0);
      expect(Math.abs(sp.totalCost - ref.totalCost)).toBeLessThanOrEqual(1e-9 * Math.abs(ref.totalCost));
      for (let i = 0; i < a.rows; i++) expect(sp.costs[i]).toBe(dense.data[i * b.rows + sp.rowToCol[i]!]);
      const cert = await checkCertificate(m, { rowToCol: sp.rowToCol, u: sp.u, v: sp.v });
      expect(cert.ok, cert.message).toBe(true);
      const p = sp.pricing;
      expect(p.inGraph + p.provenByRowBound + p.provenByColumnBound + p.evaluated).toBe(p.pairs);
    }
    // More features in a than in b: the method runs on C^T, whose panels cannot evaluate chosen
    // pairs; its open rows are recomputed whole (this shape once failed with an internal error).
    const { a: wide } = saeLikeFeatures(2000, 2048, 91);
    const { b: narrow } = saeLikeFeatures(1400, 2048, 92);
    const sp = await compareTall(wide, narrow, 2);
    expect(sp.pricing.rowsPartial).toBe(0);
  }, 120_000);

  it('refuses bad options as input errors', async () => {
    await expect(sparseAssignment(gaussian(10, 4, 1), gaussian(10, 4, 3), { candidates: 0 })).rejects.toBeInstanceOf(SaeMatchInputError);
    await expect(sparseAssignment(gaussian(10, 4, 1), gaussian(10, 5, 3))).rejects.toBeInstanceOf(SaeMatchInputError);
  });
});

describe('the sparse method on a stored matrix (solve --method sparse, the benchmark families)', () => {
  it('every test family, square and rectangular, small k: the dense optimum, the sparse duals passing the dense certificate', async () => {
    const { testInstance, TEST_FAMILIES } = await import('./instances.js');
    for (const family of TEST_FAMILIES) {
      for (const [n, k] of [[300, 2], [257, 8]] as const) {
        const inst = testInstance(family, n, { seed: 41, dtype: 'float32' });
        const m = { data: inst.data as Float32Array, nRows: inst.nRows, nCols: inst.nCols };
        const ref = await solveAssignment(m);
        const sp = await sparseSolve(m, { candidates: k });
        expect(Math.abs(sp.totalCost - ref.totalCost), `${family} ${n}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(ref.totalCost)));
        const cert = await checkCertificate(m, { rowToCol: sp.rowToCol, u: sp.u, v: sp.v });
        expect(cert.ok, `${family}: ${cert.message}`).toBe(true);
        // The first 200 rows against all columns, and the transpose: rectangular both ways.
        const rows = { data: m.data.subarray(0, 200 * m.nCols), nRows: 200, nCols: m.nCols };
        const cols = { data: new Float32Array(m.nCols * 200), nRows: m.nCols, nCols: 200 };
        for (let i = 0; i < 200; i++) for (let j = 0; j < m.nCols; j++) cols.data[j * 200 + i] = m.data[i * m.nCols + j]!;
        for (const r of [rows, cols]) {
          const d = await solveAssignment(r);
          const q = await sparseSolve(r, { candidates: k });
          expect(Math.abs(q.totalCost - d.totalCost)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(d.totalCost)));
          expect((await checkCertificate(r, { rowToCol: q.rowToCol, u: q.u, v: q.v })).ok).toBe(true);
        }
      }
    }
  }, 60_000);

  it('short kept lists (keep = 8): rows recomputed round after round, each proven by its last evaluation only while that bound holds', async () => {
    const { testInstance, TEST_FAMILIES } = await import('./instances.js');
    for (const family of TEST_FAMILIES) {
      const inst = testInstance(family, 400, { seed: 7, dtype: 'float32' });
      const m = { data: inst.data as Float32Array, nRows: inst.nRows, nCols: inst.nCols };
      // Square, and 150 of its rows against all 400 columns (where a cold restart resets v, and v
      // then rises above what earlier evaluations saw).
      for (const r of [m, { data: m.data.subarray(0, 150 * m.nCols), nRows: 150, nCols: m.nCols }]) {
        const ref = await solveAssignment(r);
        const sp = await sparseSolve(r, { candidates: 2, keep: 8 });
        expect(Math.abs(sp.totalCost - ref.totalCost), `${family} ${r.nRows}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(ref.totalCost)));
        const cert = await checkCertificate(r, { rowToCol: sp.rowToCol, u: sp.u, v: sp.v });
        expect(cert.ok, `${family} ${r.nRows}: ${cert.message}`).toBe(true);
      }
    }
    await expect(sparseSolve({ data: new Float32Array(4), nRows: 2, nCols: 2 }, { keep: -1 })).rejects.toBeInstanceOf(SaeMatchInputError);
  }, 60_000);

  it('solve --method sparse from the CLI: the optimum, the certificate over all pairs; float64, infinite entries and --maximize refused with exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-match-sparse-solve-'));
    try {
      const n = 120;
      const r = prng(5);
      const data = new Float32Array(n * n).map(() => Math.floor(r() * 1000) / 8);
      const file = join(dir, 'c.npy');
      writeFileSync(file, encodeNpy({ dtype: 'float32', shape: [n, n], data }));
      const dense = spawnSync(process.execPath, [cli, 'solve', file, '--json'], { encoding: 'utf8' });
      const sparse = spawnSync(process.execPath, [cli, 'solve', file, '--method', 'sparse', '--candidates', '2', '--json'], { encoding: 'utf8' });
      expect(sparse.status, sparse.stderr).toBe(0);
      const [d, s] = [JSON.parse(dense.stdout), JSON.parse(sparse.stdout)];
      expect(s.totalCost).toBe(d.totalCost);  // sums of multiples of 1/8: exact in both
      expect(s.certificate.ok).toBe(true);
      expect(s.certificate.pricing.pairs).toBe(n * n);
      writeFileSync(join(dir, 'd.npy'), encodeNpy({ dtype: 'float64', shape: [2, 2], data: new Float64Array([1, 2, 3, 4]) }));
      writeFileSync(join(dir, 'i.npy'), encodeNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array([1, Infinity, 3, 4]) }));
      for (const [f, extra, msg] of [['d.npy', [], /float64/], ['i.npy', [], /finite/], ['c.npy', ['--maximize'], /minimises/]] as const) {
        const bad = spawnSync(process.execPath, [cli, 'solve', join(dir, f), '--method', 'sparse', ...extra], { encoding: 'utf8' });
        expect(bad.status).toBe(2);
        expect(bad.stderr).toMatch(msg);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sae-match suite --method sparse', () => {
  it('the same optimum as the dense suite, with the certificate figures and the duals written; resume keys on the method', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-match-sparse-'));
    try {
      const run = (...args: string[]) => {
        const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
        expect(r.status, r.stderr).toBe(0);
        return JSON.parse(r.stdout);
      };
      run('synth', join(dir, 's'), '--layers', '3', '--width', '1024', '--d-model', '48', '--json');
      const dense = run('suite', join(dir, 's'), '--out', join(dir, 'dense'), '--method', 'dense', '--json');
      const sparse = run('suite', join(dir, 's'), '--out', join(dir, 'sparse'), '--method', 'sparse', '--candidates', '16', '--duals', '--json');
      for (let p = 0; p < 2; p++) {
        const d = dense.pairs[p], s = sparse.pairs[p];
        expect(s.method).toBe('sparse');
        expect(s.candidates).toBe(16);
        expect(Math.abs(s.total_cost - d.total_cost)).toBeLessThanOrEqual(1e-9 * d.total_cost);
        const c = s.certificate;
        expect(c.ok).toBe(true);
        expect(c.in_graph + c.proven_by_row_bound + c.proven_by_column_bound + c.evaluated).toBe(1024 * 1024);
        // The duals, read back with the package's own reader, have the shapes the manifest promises.
        const u = decodeNpy(readFileSync(join(dir, 'sparse', s.duals.u)));
        const v = decodeNpy(readFileSync(join(dir, 'sparse', s.duals.v)));
        expect([u.dtype, u.shape, v.dtype, v.shape]).toEqual(['float64', [1024], 'float64', [1024]]);
        // Complementary slackness on the assignment: u_i + v_{perm[i]} = costs[i].
        const perm = decodeNpy(readFileSync(join(dir, 'sparse', s.perm))).data as Int32Array;
        const costs = decodeNpy(readFileSync(join(dir, 'sparse', s.costs))).data as Float32Array;
        for (let i = 0; i < 1024; i += 97) expect(Math.abs(u.data[i]! + v.data[perm[i]!]! - costs[i]!)).toBeLessThan(1e-6);
      }
      // The output contract, read by numpy (scripts/check/check_outputs.py), duals included.
      if (numpyTestsRun()) {
        const chk = spawnSync('python3', [join(resolve(import.meta.dirname, '..'), 'scripts', 'check', 'check_outputs.py'), join(dir, 'sparse')], { encoding: 'utf8' });
        expect(chk.status, chk.stdout + chk.stderr).toBe(0);
        expect(chk.stdout.match(/duals tight on the assignment/g)?.length).toBe(2);
      }
      expect(run('suite', join(dir, 's'), '--out', join(dir, 'sparse'), '--method', 'sparse', '--candidates', '16', '--duals', '--json').skipped).toBe(2);
      expect(run('suite', join(dir, 's'), '--out', join(dir, 'sparse'), '--method', 'dense', '--json').computed).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('sae-match pair across widths (two SAEs of one layer)', () => {
  it('the smaller side fully assigned, sparse and dense alike, top-k many-to-one, files named by layer and width', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sae-match-xwidth-'));
    try {
      const run = (...args: string[]) => {
        const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
        return { status: r.status, stderr: r.stderr, json: r.status === 0 && r.stdout.startsWith('{') ? JSON.parse(r.stdout) : undefined };
      };
      expect(run('synth', join(dir, 'a'), '--layers', '1', '--width', '600', '--d-model', '32', '--l0-variants', '1', '--json').status).toBe(0);
      expect(run('synth', join(dir, 'b'), '--layers', '1', '--width', '1000', '--d-model', '32', '--l0-variants', '1', '--seed', '5', '--json').status).toBe(0);
      const A = join(dir, 'a', 'layer_0', 'width_600'), B = join(dir, 'b', 'layer_0', 'width_1000');
      const [fa, fb] = [A, B].map((w) => join(w, readdirSync(w)[0]!, 'params.npz'));
      const out = join(dir, 'out');
      const narrowFirst = run('pair', fa!, fb!, '--out', out, '--method', 'sparse', '--candidates', '4', '--topk', '3', '--duals', '--json').json;
      const wideFirst = run('pair', fb!, fa!, '--out', out, '--method', 'dense', '--topk', '3', '--json').json;
      expect([narrowFirst.from, narrowFirst.to, narrowFirst.from_label, narrowFirst.to_label]).toEqual([0, 0, '0w600', '0w1000']);
      expect([wideFirst.from_label, wideFirst.to_label, wideFirst.unassigned]).toEqual(['0w1000', '0w600', 400]);
      // Both pairs' files sit side by side in one folder.
      for (const f of ['perm_0w600_0w1000.npy', 'topk_idx_0w600_0w1000.npy', 'u_0w600_0w1000.npy', 'perm_0w1000_0w600.npy', 'topk_cost_0w1000_0w600.npy', join('pairs', '0w600_0w1000.json')])
        expect(existsSync(join(out, f)), f).toBe(true);
      const read = (f: string) => decodeNpy(readFileSync(join(out, f)));
      const pa = read('perm_0w600_0w1000.npy').data as Int32Array, pb = read('perm_0w1000_0w600.npy').data as Int32Array;
      // The two orientations are one matching: every narrow feature assigned, 400 wide ones left.
      expect(pa.every((j, i) => j >= 0 && pb[j] === i)).toBe(true);
      expect(pb.filter((i) => i < 0).length).toBe(400);
      expect(read('topk_idx_0w600_0w1000.npy').shape).toEqual([600, 3]);
      expect(read('topk_idx_0w1000_0w600.npy').shape).toEqual([1000, 3]);
      expect(Math.abs(narrowFirst.total_cost - wideFirst.total_cost)).toBeLessThanOrEqual(1e-9 * wideFirst.total_cost);
      // The numpy + scipy pipeline (linear_sum_assignment takes rectangular matrices) agrees.
      if (numpyTestsRun()) {
        const peer = spawnSync('python3', [join(resolve(import.meta.dirname, '..'), 'scripts', 'bench', 'peer_pipeline.py'), '--a', fa!, '--b', fb!, '--json'], { encoding: 'utf8' });
        expect(peer.status, peer.stderr).toBe(0);
        expect(Math.abs(JSON.parse(peer.stdout).total_cost - narrowFirst.total_cost)).toBeLessThanOrEqual(1e-6 * narrowFirst.total_cost);
      }
      // A rerun resumes by name; analysis, which follows layers, refuses the folder and says why.
      expect(run('pair', fa!, fb!, '--out', out, '--method', 'sparse', '--candidates', '4', '--topk', '3', '--duals', '--json').json.skipped).toBe(true);
      const an = run('analyze', out);
      expect(an.status).toBe(2);
      expect(an.stderr).toMatch(/cross-width pair .*not a chain of layers/);
      // --from L --to L names a same-width pair nothing: refused.
      expect(run('pair', fa!, fa!, '--out', join(dir, 'o2'), '--from', '3', '--to', '3').status).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('which method auto picks', () => {
  it('dense below SPARSE_FROM² pairs, sparse from it (two widths by area); explicit choices kept; bad ones refused', () => {
    expect(decideMethod(16384, 16384).method).toBe('dense');
    expect(decideMethod(SPARSE_FROM, SPARSE_FROM).method).toBe('sparse');
    // Two widths compare by area: 16k x 65k holds a quarter of a 65k square pair, 16k x 262k as much.
    expect(decideMethod(16384, 65536).method).toBe('dense');
    expect(decideMethod(16384, 262144).method).toBe('sparse');
    expect(decideMethod(131072, 65536).method).toBe('sparse');
    expect(decideMethod(100, 100, 'sparse').method).toBe('sparse');
    expect(decideMethod(10, 12, 'sparse').method).toBe('sparse');
    expect(decideMethod(2 ** 20, 2 ** 20, 'dense').method).toBe('dense');
    expect(() => decideMethod(10, 10, 'fast' as never)).toThrow(SaeMatchInputError);
    expect(() => decideMethod(10, 10, 'auto', 0)).toThrow(SaeMatchInputError);
    // A pair whose dense matrix exceeds this machine's memory goes sparse, and says why.
    const huge = decideMethod(2 ** 21, 2 ** 21);
    expect(huge.method).toBe('sparse');
    expect(huge.reason).toMatch(/does not fit/);
  });
});
