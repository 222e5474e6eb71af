// LAP instances for the solver tests, generated here from the tests' own PRNG (helpers.ts) rather
// than by the package's benchmark families (src/tools/instances.ts), so no test input comes from the
// code under test. The families are the classic ones: uniform and integer costs, squared distances
// of random points in the plane, Machol–Wien (c_ij = (i+1)(j+1)), and SAE-like squared distances of
// feature vectors with planted noisy partners, computed here in float64.
import { prng } from './helpers.js';

export const TEST_FAMILIES = ['uniform', 'int', 'geometric', 'sae', 'machol-wien'] as const;
export type TestFamily = (typeof TEST_FAMILIES)[number];

export interface TestInstance {
  family: TestFamily;
  data: Float32Array | Float64Array;
  nRows: number;
  nCols: number;
}

function normal(r: () => number): number {
  let u = r();
  while (u === 0) u = r();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/**
 * n feature vectors a_i with log-normal scales and a shuffled set b in which 80 % of them have a
 * noisy copy (the rest unrelated): the shape of two layers' folded SAE features.
 */
export function saeLikeFeatures(n: number, dim: number, seed: number): { a: { data: Float32Array; rows: number; dim: number }; b: { data: Float32Array; rows: number; dim: number } } {
  const r = prng(seed);
  const a = new Float32Array(n * dim), b = new Float32Array(n * dim);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  for (let i = 0; i < n; i++) {
    const scale = Math.exp(0.5 * normal(r));
    for (let k = 0; k < dim; k++) a[i * dim + k] = (scale * normal(r)) / Math.sqrt(dim);
    const j = perm[i]!;
    const partner = r() < 0.8, sigma = 0.3 + 0.9 * r();
    for (let k = 0; k < dim; k++)
      b[j * dim + k] = partner ? a[i * dim + k]! + (scale * sigma * normal(r)) / Math.sqrt(dim) : (Math.exp(0.5 * normal(r)) * normal(r)) / Math.sqrt(dim);
  }
  return { a: { data: a, rows: n, dim }, b: { data: b, rows: n, dim } };
}

/** Squared distances of saeLikeFeatures, in float64 (the SAE Match cost of the planted suite). */
function saeLike(n: number, dim: number, seed: number, out: Float32Array | Float64Array): void {
  const { a: { data: a }, b: { data: b } } = saeLikeFeatures(n, dim, seed);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) {
        const d = a[i * dim + k]! - b[j * dim + k]!;
        s += d * d;
      }
      out[i * n + j] = s;
    }
}

export function testInstance(family: TestFamily, n: number, opts: { seed?: number; dtype?: 'float32' | 'float64'; dim?: number } = {}): TestInstance {
  const r = prng(opts.seed ?? 1);
  const data = opts.dtype === 'float64' ? new Float64Array(n * n) : new Float32Array(n * n);
  switch (family) {
    case 'uniform':
      for (let k = 0; k < n * n; k++) data[k] = r();
      break;
    case 'int':
      for (let k = 0; k < n * n; k++) data[k] = Math.floor(r() * (n + 1));
      break;
    case 'geometric': {
      const p = Float64Array.from({ length: 4 * n }, () => r());
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const dx = p[2 * i]! - p[2 * n + 2 * j]!, dy = p[2 * i + 1]! - p[2 * n + 2 * j + 1]!;
          data[i * n + j] = dx * dx + dy * dy;
        }
      break;
    }
    case 'machol-wien':
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = (i + 1) * (j + 1);
      break;
    case 'sae':
      saeLike(n, opts.dim ?? 32, opts.seed ?? 1, data);
      break;
  }
  return { family, data, nRows: n, nCols: n };
}
