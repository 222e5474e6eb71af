// costMatrix against a float64 reference computed here with plain loops: sum_p (a_ip - b_jp)^2 for
// sqeuclidean (directly, not through the norm expansion the native code uses) and
// 1 - a.b / (|a| |b|) for cosine (0 similarity, so cost 1, when either vector is zero). Shapes are
// chosen to cross the built-in GEMM's blocking (MR = 6, NR = 16, KC = 384, MC = 96, NC = 3072) and
// the 2048-row panels of the norm epilogue, with dims that are not multiples of 8 or 16.
import { describe, expect, test } from 'vitest';
import { costMatrix, type CostMetric, type FeatureMatrix, type GemmKernel } from '../src/solve/cost.js';
import { SaeMatchInputError } from '../src/errors.js';
import { nativeInfo } from '../src/binding/addon.js';
import { prng } from './helpers.js';


function features(seed: number, rows: number, dim: number, lo = -1, hi = 1): FeatureMatrix {
  const rng = prng(seed);
  const data = new Float32Array(rows * dim);
  for (let k = 0; k < data.length; k++) data[k] = lo + (hi - lo) * rng();
  return { data, rows, dim };
}

/** float64 references, from the float32 inputs exactly as stored. */
function reference(a: FeatureMatrix, b: FeatureMatrix): { sq: Float64Array; cos: Float64Array } {
  const k = a.dim;
  const A = Float64Array.from(a.data);
  const B = Float64Array.from(b.data);
  const na = new Float64Array(a.rows);
  const nb = new Float64Array(b.rows);
  for (let i = 0; i < a.rows; i++) for (let p = 0; p < k; p++) na[i] += A[i * k + p]! ** 2;
  for (let j = 0; j < b.rows; j++) for (let p = 0; p < k; p++) nb[j] += B[j * k + p]! ** 2;
  const sq = new Float64Array(a.rows * b.rows);
  const cos = new Float64Array(a.rows * b.rows);
  for (let i = 0; i < a.rows; i++) {
    const ai = i * k;
    for (let j = 0; j < b.rows; j++) {
      const bj = j * k;
      let s = 0;
      let d = 0;
      for (let p = 0; p < k; p++) {
        const x = A[ai + p]!;
        const y = B[bj + p]!;
        s += (x - y) * (x - y);
        d += x * y;
      }
      sq[i * b.rows + j] = s;
      cos[i * b.rows + j] = na[i] === 0 || nb[j] === 0 ? 1 : 1 - d / Math.sqrt(na[i]! * nb[j]!);
    }
  }
  return { sq, cos };
}

/** Largest |got - ref| relative to the mean |ref| (the typical cost). */
function relError(got: Float32Array, ref: Float64Array): { err: number; typical: number; worstAt: number } {
  let typical = 0;
  for (const x of ref) typical += Math.abs(x);
  typical /= Math.max(1, ref.length);
  let worst = 0;
  let worstAt = -1;
  for (let k = 0; k < ref.length; k++) {
    const e = Math.abs(got[k]! - ref[k]!);
    if (!(e <= worst)) [worst, worstAt] = [e, k];
  }
  return { err: typical > 0 ? worst / typical : worst, typical, worstAt };
}

const info = nativeInfo();
const kernels: GemmKernel[] = info.haveBlas ? ['builtin', 'blas', 'auto'] : ['builtin', 'auto'];

const SHAPES: Array<[nA: number, nB: number, k: number, label?: string]> = [
  [1, 1, 1],
  [5, 3, 8],
  [37, 53, 19],
  [64, 64, 64],
  [97, 17, 385, 'just over one MC block and one KC slab'],
  [130, 70, 300],
  [9, 3100, 20, 'crosses the NC = 3072 column slab'],
  [600, 520, 1000, 'two KC slabs'],
  [2100, 40, 36, 'crosses the 2048-row panel of the norm epilogue (native/core cost.cpp)'],
];

describe.each(SHAPES)('costMatrix %i x %i, dim %i', (nA, nB, k) => {
  const a = features(nA * 7919 + k, nA, k);
  const b = features(nB * 104729 + k + 1, nB, k);
  let ref: { sq: Float64Array; cos: Float64Array } | undefined;
  const getRef = () => (ref ??= reference(a, b));

  for (const kernel of kernels)
    for (const metric of ['sqeuclidean', 'cosine'] as CostMetric[]) {
      test(`${metric}, kernel ${kernel}`, async () => {
        const r = await costMatrix(a, b, { metric, kernel });
        expect(r.nRows).toBe(nA);
        expect(r.nCols).toBe(nB);
        expect(r.data).toBeInstanceOf(Float32Array);
        expect(r.data.length).toBe(nA * nB);
        expect(r.kernel).toBe(kernel === 'auto' ? (info.haveBlas ? 'blas' : 'builtin') : kernel);
        const want = metric === 'sqeuclidean' ? getRef().sq : getRef().cos;
        const { err, typical, worstAt } = relError(r.data, want);
        expect(
          err,
          `worst at (${Math.floor(worstAt / nB)}, ${worstAt % nB}): got ${r.data[worstAt]}, want ${want[worstAt]} (typical ${typical})`,
        ).toBeLessThanOrEqual(1e-5);
        if (metric === 'sqeuclidean') {
          let min = Infinity;
          for (const x of r.data) min = Math.min(min, x);
          expect(min).toBeGreaterThanOrEqual(0);
        }
      });
    }
});

describe('threads', () => {
  test('1, 2 and 3 threads all match the reference (uneven row splits included)', async () => {
    const a = features(1, 203, 45);
    const b = features(2, 99, 45);
    const ref = reference(a, b);
    for (const kernel of kernels)
      for (const threads of [1, 2, 3]) {
        const r = await costMatrix(a, b, { kernel, threads });
        expect(r.threads).toBe(threads);
        expect(relError(r.data, ref.sq).err, `kernel ${kernel}, ${threads} threads`).toBeLessThanOrEqual(1e-5);
      }
  });

  test('threads = 0 or omitted means all cores', async () => {
    const a = features(3, 10, 5);
    expect((await costMatrix(a, a)).threads).toBe(info.threads);
    expect((await costMatrix(a, a, { threads: 0 })).threads).toBe(info.threads);
  });
});

describe('special values', () => {
  test('identical integer-valued rows give exactly 0 (everything exact in float32), never -0 or negative', async () => {
    const rng = prng(5);
    for (const k of [1, 7, 19, 64, 300]) {
      const data = new Float32Array(40 * k).map(() => Math.floor(rng() * 9) - 4);
      const a = { data, rows: 40, dim: k };
      for (const kernel of kernels) {
        const r = await costMatrix(a, a, { kernel });
        for (let i = 0; i < 40; i++) expect(Object.is(r.data[i * 40 + i], 0), `k=${k} ${kernel} c[${i},${i}] = ${r.data[i * 40 + i]}`).toBe(true);
      }
    }
  });

  test('identical and near-identical float rows: never negative, and within 1e-5 of the typical cost', async () => {
    // Positive, SAE-like data: large norms relative to the distances, the worst case for the
    // ||a||^2 + ||b||^2 - 2 a.b expansion, which the clamp at 0 must keep non-negative.
    const a = features(6, 150, 257, 0, 1);
    const rng = prng(7);
    const near = { data: Float32Array.from(a.data, (x) => x * (1 + 1e-6 * (rng() - 0.5))), rows: a.rows, dim: a.dim };
    for (const b of [a, near]) {
      const ref = reference(a, b);
      for (const kernel of kernels) {
        const r = await costMatrix(a, b, { kernel });
        let min = Infinity;
        for (const x of r.data) min = Math.min(min, x);
        expect(min, kernel).toBeGreaterThanOrEqual(0);
        const { err, typical } = relError(r.data, ref.sq);
        expect(err, kernel).toBeLessThanOrEqual(1e-5);
        for (let i = 0; i < a.rows; i++) expect(r.data[i * a.rows + i]).toBeLessThanOrEqual(1e-5 * typical);
      }
    }
  });

  test('zero vectors: cosine cost 1 (similarity 0), squared distance the other norm', async () => {
    const a = features(8, 6, 33);
    const b = features(9, 5, 33);
    a.data.fill(0, 2 * 33, 3 * 33); // a row 2 = 0
    b.data.fill(0, 4 * 33, 5 * 33); // b row 4 = 0
    const ref = reference(a, b);
    for (const kernel of kernels) {
      const c = await costMatrix(a, b, { kernel, metric: 'cosine' });
      for (let j = 0; j < 5; j++) expect(c.data[2 * 5 + j]).toBe(1);
      for (let i = 0; i < 6; i++) expect(c.data[i * 5 + 4]).toBe(1);
      expect(relError(c.data, ref.cos).err).toBeLessThanOrEqual(1e-5);
      const s = await costMatrix(a, b, { kernel });
      expect(relError(s.data, ref.sq).err).toBeLessThanOrEqual(1e-5);
      expect(s.data[2 * 5 + 4]).toBe(0);
    }
  });

  test('cosine is scale-invariant and in [0, 2] up to rounding; parallel and antiparallel rows give 0 and 2', async () => {
    const a = features(10, 20, 50);
    const b = { data: new Float32Array(40 * 50), rows: 40, dim: 50 };
    for (let i = 0; i < 20; i++)
      for (let p = 0; p < 50; p++) {
        b.data[i * 50 + p] = 4 * a.data[i * 50 + p]!; // parallel (exact scaling by a power of 2)
        b.data[(20 + i) * 50 + p] = -0.5 * a.data[i * 50 + p]!; // antiparallel
      }
    for (const kernel of kernels) {
      const c = await costMatrix(a, b, { kernel, metric: 'cosine' });
      for (let i = 0; i < 20; i++) {
        expect(Math.abs(c.data[i * 40 + i]!)).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(c.data[i * 40 + 20 + i]! - 2)).toBeLessThanOrEqual(1e-6);
      }
      expect(Math.min(...c.data)).toBeGreaterThanOrEqual(-1e-6);
      expect(Math.max(...c.data)).toBeLessThanOrEqual(2 + 1e-6);
    }
  });

  test('empty inputs give an empty matrix', async () => {
    const a = features(11, 0, 8);
    const b = features(12, 5, 8);
    const r = await costMatrix(a, b);
    expect(r.nRows).toBe(0);
    expect(r.nCols).toBe(5);
    expect(r.data.length).toBe(0);
  });

  test('out: writes into the given array', async () => {
    const a = features(13, 7, 9);
    const b = features(14, 11, 9);
    const out = new Float32Array(77).fill(-123);
    const r = await costMatrix(a, b, { out });
    expect(r.data).toBe(out);
    expect(relError(out, reference(a, b).sq).err).toBeLessThanOrEqual(1e-5);
  });
});

describe('kernel availability', () => {
  test.runIf(!info.haveBlas)("kernel 'blas' rejects with SaeMatchInputError on a build without BLAS", async () => {
    const a = features(15, 4, 4);
    const err = await costMatrix(a, a, { kernel: 'blas' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SaeMatchInputError);
    expect((err as Error).message).toMatch(/BLAS/i);
  });

  test.runIf(info.haveBlas)("kernel 'blas' is used when the build has BLAS", async () => {
    const a = features(15, 4, 4);
    expect((await costMatrix(a, a, { kernel: 'blas' })).kernel).toBe('blas');
  });
});

describe('validation', () => {
  const a = features(16, 4, 6);
  const b = features(17, 3, 6);
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['dimension mismatch', () => costMatrix(a, features(18, 3, 5))],
    ['a.data too short', () => costMatrix({ data: new Float32Array(23), rows: 4, dim: 6 }, b)],
    ['b.data too long', () => costMatrix(a, { data: new Float32Array(19), rows: 3, dim: 6 })],
    ['Float64Array data', () => costMatrix({ data: new Float64Array(24) as unknown as Float32Array, rows: 4, dim: 6 }, b)],
    ['plain array data', () => costMatrix(a, { data: Array.from(b.data) as unknown as Float32Array, rows: 3, dim: 6 })],
    ['missing data', () => costMatrix({ rows: 4, dim: 6 } as unknown as FeatureMatrix, b)],
    ['negative rows', () => costMatrix({ data: new Float32Array(0), rows: -1, dim: 0 }, b)],
    ['fractional dim', () => costMatrix({ data: a.data, rows: 4, dim: 6.5 }, b)],
    ['unknown metric', () => costMatrix(a, b, { metric: 'l1' as CostMetric })],
    ['unknown kernel', () => costMatrix(a, b, { kernel: 'cuda' as GemmKernel })],
    ['negative threads', () => costMatrix(a, b, { threads: -1 })],
    ['fractional threads', () => costMatrix(a, b, { threads: 1.5 })],
    ['wrong out length', () => costMatrix(a, b, { out: new Float32Array(11) })],
  ];
  test.each(cases)('%s is SaeMatchInputError', async (_label, call) => {
    await expect(call()).rejects.toBeInstanceOf(SaeMatchInputError);
  });
});
