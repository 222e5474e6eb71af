// The assignment solver against exhaustive enumeration on every small shape (1..7 x 1..7): the
// oracle is a depth-first search over all injections of the smaller side into the larger one, run
// on exactly the values the solver sees (float32 inputs are enumerated after float32 rounding).
// Each solution is also checked against LP duality directly in this file (reduced costs, the
// rectangular dual condition) and with checkCertificate.
import { describe, expect, test } from 'vitest';
import { SaeMatchInputError } from '../src/errors.js';
import { checkCertificate, InfeasibleError, solveAssignment, type Assignment, type CostMatrix } from '../src/solve/lap.js';
import { prng } from './helpers.js';


type Kind = 'continuous' | 'wide-range' | 'ties' | 'forbidden' | 'forbidden-ties' | 'forbidden-dense';
const KINDS: Kind[] = ['continuous', 'wide-range', 'ties', 'forbidden', 'forbidden-ties', 'forbidden-dense'];
const SEEDS_PER_SHAPE = 20;
const MAX_N = 7;

function makeCost(rng: () => number, nRows: number, nCols: number, kind: Kind, maximize: boolean, f32: boolean): CostMatrix {
  const data = f32 ? new Float32Array(nRows * nCols) : new Float64Array(nRows * nCols);
  const forbidden = maximize ? -Infinity : Infinity;
  const pForbid = kind === 'forbidden' ? 0.3 : kind === 'forbidden-ties' ? 0.45 : kind === 'forbidden-dense' ? 0.7 : 0;
  for (let k = 0; k < data.length; k++) {
    let x: number;
    switch (kind) {
      case 'continuous':
        x = rng() * 10 - 5;
        break;
      case 'wide-range': // magnitudes over six decades, both signs, plus a large common offset
        x = (rng() < 0.5 ? -1 : 1) * 10 ** (rng() * 6 - 3) + 1e4;
        break;
      case 'ties':
      case 'forbidden-ties':
        x = Math.floor(rng() * 4); // integers in [0, 3]
        break;
      default:
        x = rng();
    }
    data[k] = rng() < pForbid ? forbidden : x;
  }
  return { data, nRows, nCols };
}

interface Brute {
  /** Optimal total, or null when no assignment avoids the forbidden pairs. */
  best: number | null;
  /** Best total among the other assignments (null if there is none). */
  second: number | null;
  rowToCol: Int32Array | null;
}

/** Enumerates every injection of the smaller side into the larger one, summing in float64. */
function bruteForce(m: CostMatrix, maximize: boolean): Brute {
  const { data, nRows, nCols } = m;
  const wide = nRows <= nCols;
  const nSmall = wide ? nRows : nCols;
  const nLarge = wide ? nCols : nRows;
  const at = (s: number, l: number) => (wide ? data[s * nCols + l] : data[l * nCols + s]) as number;
  const better = (a: number, b: number) => (maximize ? a > b : a < b);
  const used = new Uint8Array(nLarge);
  const pick = new Int32Array(nSmall);
  let best: number | null = null;
  let second: number | null = null;
  let bestPick: Int32Array | null = null;
  const dfs = (s: number, sum: number) => {
    if (s === nSmall) {
      if (best === null || better(sum, best)) {
        second = best;
        best = sum;
        bestPick = pick.slice();
      } else if (second === null || better(sum, second)) {
        second = sum;
      }
      return;
    }
    for (let l = 0; l < nLarge; l++) {
      if (used[l]) continue;
      const c = at(s, l);
      if (!Number.isFinite(c)) continue;
      used[l] = 1;
      pick[s] = l;
      dfs(s + 1, sum + c);
      used[l] = 0;
    }
  };
  dfs(0, 0);
  let rowToCol: Int32Array | null = null;
  if (bestPick) {
    const bp: Int32Array = bestPick;
    rowToCol = new Int32Array(nRows).fill(-1);
    for (let s = 0; s < nSmall; s++) {
      if (wide) rowToCol[s] = bp[s]!;
      else rowToCol[bp[s]!] = s;
    }
  }
  return { best, second, rowToCol };
}

function maxAbsFinite(m: CostMatrix): number {
  let s = 0;
  for (const x of m.data) if (Number.isFinite(x)) s = Math.max(s, Math.abs(x));
  return s;
}

function describeCase(m: CostMatrix, maximize: boolean): string {
  const rows: string[] = [];
  for (let i = 0; i < m.nRows; i++) rows.push(`[${Array.from(m.data.subarray(i * m.nCols, (i + 1) * m.nCols)).join(', ')}]`);
  return `${m.data instanceof Float32Array ? 'float32' : 'float64'} ${m.nRows}x${m.nCols} maximize=${maximize}\n[${rows.join(',\n ')}]`;
}

/**
 * The assignment is a one-to-one matching of the smaller side, consistent in both directions, using
 * no forbidden pair. Returns the problems found (checked with plain code, one expect per case:
 * thousands of cases run here).
 */
function matchingProblems(m: CostMatrix, r: Assignment): string[] {
  const { nRows, nCols, data } = m;
  const out: string[] = [];
  if (!(r.rowToCol instanceof Int32Array) || !(r.colToRow instanceof Int32Array)) return ['rowToCol/colToRow are not Int32Arrays'];
  if (r.rowToCol.length !== nRows || r.colToRow.length !== nCols) return [`lengths ${r.rowToCol.length}/${r.colToRow.length}`];
  let assigned = 0;
  for (let i = 0; i < nRows; i++) {
    const j = r.rowToCol[i]!;
    if (j === -1) {
      if (nRows <= nCols) out.push(`row ${i} unassigned in a matrix that is not tall`);
      continue;
    }
    if (!(j >= 0 && j < nCols)) out.push(`row ${i} -> column ${j} outside the matrix`);
    else {
      if (r.colToRow[j] !== i) out.push(`rowToCol[${i}] = ${j} but colToRow[${j}] = ${r.colToRow[j]}`);
      if (!Number.isFinite(data[i * nCols + j]!)) out.push(`row ${i} uses forbidden pair (${i}, ${j})`);
      assigned++;
    }
  }
  if (assigned !== Math.min(nRows, nCols)) out.push(`${assigned} rows assigned, expected ${Math.min(nRows, nCols)}`);
  let assignedCols = 0;
  for (let j = 0; j < nCols; j++) {
    const i = r.colToRow[j]!;
    if (i === -1) {
      if (nCols <= nRows) out.push(`column ${j} unassigned in a matrix that is not wide`);
      continue;
    }
    if (r.rowToCol[i] !== j) out.push(`colToRow[${j}] = ${i} but rowToCol[${i}] = ${r.rowToCol[i]}`);
    assignedCols++;
  }
  if (assignedCols !== assigned) out.push(`${assignedCols} columns assigned but ${assigned} rows`);
  return out;
}

/**
 * LP duality checked here, independently of checkCertificate: with s = +1 (min) or -1 (max), the
 * reduced costs s(c_ij - u_i - v_j) are >= 0 on allowed pairs and 0 on the assignment, and the duals
 * of the unassigned side of a rectangular problem (in minimisation terms) are equal and maximal.
 */
function dualProblems(m: CostMatrix, r: Assignment, maximize: boolean, tol: number): string[] {
  const { nRows, nCols, data } = m;
  const s = maximize ? -1 : 1;
  const out: string[] = [];
  if (r.u.length !== nRows || r.v.length !== nCols) return [`dual lengths ${r.u.length}/${r.v.length}`];
  for (let i = 0; i < nRows; i++)
    for (let j = 0; j < nCols; j++) {
      const c = data[i * nCols + j]!;
      if (!Number.isFinite(c)) continue;
      const red = s * (c - r.u[i]! - r.v[j]!);
      if (!(red >= -tol)) out.push(`reduced cost (${i}, ${j}) = ${red}`);
      if (r.rowToCol[i] === j && !(Math.abs(red) <= tol)) out.push(`assigned reduced cost (${i}, ${j}) = ${red}`);
    }
  const sideCheck = (w: Float64Array, isFree: (k: number) => boolean, side: string) => {
    let maxAll = -Infinity;
    const free: number[] = [];
    w.forEach((x, k) => {
      maxAll = Math.max(maxAll, s * x);
      if (isFree(k)) free.push(s * x);
    });
    if (free.length === 0) return;
    const lo = Math.min(...free);
    if (!(Math.max(...free) - lo <= tol)) out.push(`free ${side} duals differ: ${free}`);
    if (!(maxAll - lo <= tol)) out.push(`free ${side} duals ${free} not maximal (max ${maxAll})`);
  };
  if (nRows < nCols) sideCheck(r.v, (j) => r.colToRow[j] === -1, 'column');
  if (nRows > nCols) sideCheck(r.u, (i) => r.rowToCol[i] === -1, 'row');
  return out;
}

const counts = { feasible: 0, infeasible: 0, uniqueChecked: 0 };

async function runCase(m: CostMatrix, maximize: boolean): Promise<void> {
  const where = describeCase(m, maximize);
  const bf = bruteForce(m, maximize);
  if (bf.best === null) {
    counts.infeasible++;
    const err = await solveAssignment(m, { maximize }).then(
      (r) => new Error(`${where}\nexpected InfeasibleError, got totalCost ${r.totalCost}`),
      (e: unknown) => e,
    );
    expect(err, where).toBeInstanceOf(InfeasibleError);
    expect(err, where).toBeInstanceOf(SaeMatchInputError);
    expect((err as Error).message, where).toContain('infeasible');
    return;
  }
  counts.feasible++;
  const r = await solveAssignment(m, { maximize });
  const bad = matchingProblems(m, r);
  expect(bad, where).toEqual([]);
  const scale = 1 + maxAbsFinite(m) * Math.min(m.nRows, m.nCols);
  const tol = 1e-9 * scale;
  let recomputed = 0;
  for (let i = 0; i < m.nRows; i++) if (r.rowToCol[i]! >= 0) recomputed += m.data[i * m.nCols + r.rowToCol[i]!]!;
  expect(Math.abs(recomputed - r.totalCost), `${where}\ntotalCost ${r.totalCost} != sum over rowToCol ${recomputed}`).toBeLessThanOrEqual(tol);
  expect(Math.abs(r.totalCost - bf.best), `${where}\nexpected optimum ${bf.best}, got ${r.totalCost}`).toBeLessThanOrEqual(tol);
  if (bf.second === null || Math.abs(bf.second - bf.best) > tol) {
    counts.uniqueChecked++;
    expect(Array.from(r.rowToCol), `${where}\nunique optimum`).toEqual(Array.from(bf.rowToCol!));
  }
  expect(dualProblems(m, r, maximize, tol), `${where}\nu = ${Array.from(r.u)}\nv = ${Array.from(r.v)}`).toEqual([]);
  const cert = await checkCertificate(m, r, { maximize });
  expect(cert.ok, `${where}\n${cert.message}`).toBe(true);
  expect(cert.assignmentValid, where).toBe(true);
}

for (const kind of KINDS) {
  describe(`brute force: ${kind}`, () => {
    for (const f32 of [false, true])
      for (const maximize of [false, true]) {
        const label = `${f32 ? 'float32' : 'float64'}${maximize ? ', maximize' : ''}`;
        for (let nRows = 1; nRows <= MAX_N; nRows++) {
          test(`${label}: ${nRows} x 1..${MAX_N}`, async () => {
            for (let nCols = 1; nCols <= MAX_N; nCols++) {
              for (let seed = 0; seed < SEEDS_PER_SHAPE; seed++) {
                const rng = prng(((KINDS.indexOf(kind) * 4 + (f32 ? 2 : 0) + (maximize ? 1 : 0)) * 1000 + nRows * 10 + nCols) * 1000 + seed);
                await runCase(makeCost(rng, nRows, nCols, kind, maximize, f32), maximize);
              }
            }
          });
        }
      }
  });
}

describe('brute force: structured cases', () => {
  test('constant matrices (every assignment optimal)', async () => {
    for (let nRows = 1; nRows <= MAX_N; nRows++)
      for (let nCols = 1; nCols <= MAX_N; nCols++)
        for (const maximize of [false, true])
          for (const value of [0, 1, -2.5]) {
            const m = { data: new Float64Array(nRows * nCols).fill(value), nRows, nCols };
            await runCase(m, maximize);
          }
  });

  test('exactly one allowed assignment (a random permutation, everything else forbidden)', async () => {
    const rng = prng(4242);
    for (let n = 1; n <= MAX_N; n++)
      for (let rep = 0; rep < 10; rep++)
        for (const maximize of [false, true]) {
          const perm = Array.from({ length: n }, (_, i) => i);
          for (let i = n - 1; i > 0; i--) {
            const k = Math.floor(rng() * (i + 1));
            [perm[i], perm[k]] = [perm[k]!, perm[i]!];
          }
          const data = new Float64Array(n * n).fill(maximize ? -Infinity : Infinity);
          for (let i = 0; i < n; i++) data[i * n + perm[i]!] = rng();
          const m = { data, nRows: n, nCols: n };
          await runCase(m, maximize);
          const r = await solveAssignment(m, { maximize });
          expect(Array.from(r.rowToCol)).toEqual(perm);
        }
  });

  test('Hall violations: k rows restricted to k-1 columns are infeasible', async () => {
    for (let n = 2; n <= MAX_N; n++)
      for (let k = 2; k <= n; k++)
        for (const maximize of [false, true]) {
          const data = new Float64Array(n * n).map((_, idx) => (idx % 7) / 7);
          for (let i = 0; i < k; i++) for (let j = k - 1; j < n; j++) data[i * n + j] = maximize ? -Infinity : Infinity;
          await expect(solveAssignment({ data, nRows: n, nCols: n }, { maximize })).rejects.toBeInstanceOf(InfeasibleError);
          expect(bruteForce({ data, nRows: n, nCols: n }, maximize).best).toBeNull();
        }
  });

  test('a row or a column with every pair forbidden is infeasible (square and rectangular)', async () => {
    for (const [nRows, nCols] of [[1, 1], [3, 3], [3, 5], [5, 3], [7, 7]] as const) {
      for (const maximize of [false, true]) {
        const bad = maximize ? -Infinity : Infinity;
        const byRow = new Float32Array(nRows * nCols).fill(1);
        byRow.fill(bad, 0, nCols); // row 0
        const byCol = new Float32Array(nRows * nCols).fill(1);
        for (let i = 0; i < nRows; i++) byCol[i * nCols] = bad; // column 0
        // A full row is only fatal when rows are the smaller (or equal) side, a full column when
        // columns are; otherwise the brute force finds an assignment and runCase checks it.
        await runCase({ data: byRow, nRows, nCols }, maximize);
        await runCase({ data: byCol, nRows, nCols }, maximize);
      }
    }
  });

  test('number[][] input agrees with the typed-array input', async () => {
    const rng = prng(77);
    for (let n = 1; n <= MAX_N; n++) {
      const rows = Array.from({ length: n }, () => Array.from({ length: n + 1 }, () => Math.floor(rng() * 10)));
      const data = Float64Array.from(rows.flat());
      const bf = bruteForce({ data, nRows: n, nCols: n + 1 }, false);
      const r = await solveAssignment(rows);
      expect(r.totalCost).toBe(bf.best);
      const cert = await checkCertificate(rows, r);
      expect(cert.ok, cert.message).toBe(true);
    }
  });

  test('empty matrices: nothing to assign, total 0', async () => {
    for (const [nRows, nCols] of [[0, 0], [0, 4], [4, 0]] as const) {
      const r = await solveAssignment({ data: new Float64Array(0), nRows, nCols });
      expect(r.totalCost).toBe(0);
      expect(Array.from(r.rowToCol)).toEqual(new Array(nRows).fill(-1));
      expect(Array.from(r.colToRow)).toEqual(new Array(nCols).fill(-1));
    }
  });

  test('coverage of the random cases: feasible, infeasible and unique-optimum cases all occurred', () => {
    // Runs after the random suites above (tests in a file run in order).
    expect(counts.feasible).toBeGreaterThan(10000);
    expect(counts.infeasible).toBeGreaterThan(500);
    expect(counts.uniqueChecked).toBeGreaterThan(5000);
  });
});
