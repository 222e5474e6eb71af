// Benchmark and test instance families for the assignment solver. Deterministic for a given seed so
// a benchmark can hand the very same matrix to every peer (scipy reads it from a .npy file).
import { costMatrix, type FeatureMatrix } from '../solve/cost.js';
import { SaeMatchInputError } from '../errors.js';
import type { CostMatrix } from '../solve/lap.js';

export const FAMILIES = ['uniform', 'int', 'geometric', 'sae', 'machol-wien'] as const;
export type Family = (typeof FAMILIES)[number];

/** xoshiro128** (Blackman & Vigna): fast, 32-bit, good enough for instances; seeded by splitmix32. */
export class Rng {
  private s = new Uint32Array(4);
  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }
  nextU32(): number {
    const s = this.s;
    const r = Math.imul(((Math.imul(s[1]!, 5) << 7) | (Math.imul(s[1]!, 5) >>> 25)), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = (s[3]! << 11) | (s[3]! >>> 21);
    return r;
  }
  /** Uniform in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextU32() / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box-Muller; the second value is dropped for simplicity). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  shuffle(a: Int32Array): Int32Array {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }
}

export interface InstanceOptions {
  dtype?: 'float32' | 'float64';
  seed?: number;
  /** sae family: feature dimension (default 2304, Gemma 2 2B's d_model). */
  dim?: number;
  /** sae family: fraction of rows with a planted partner (default 0.8). */
  planted?: number;
}

export interface Instance extends CostMatrix {
  family: Family;
  /** sae family: planted[i] = partner column of row i, or -1. */
  planted?: Int32Array;
}

function alloc(dtype: 'float32' | 'float64', n: number): Float32Array | Float64Array {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

const SCALE_SPREAD = 0.5;

function unitRows(rows: number, dim: number, rng: Rng): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) {
      const g = rng.normal();
      out[i * dim + k] = g;
      s += g * g;
    }
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < dim; k++) out[i * dim + k]! *= inv;
  }
  return out;
}

/**
 * SAE-like instance: n unit vectors a_i; a shuffled second set b where a fraction `planted` of the a_i
 * has a noisy copy (noise level drawn per pair, so match costs spread like real feature drift) and
 * the rest are unrelated. Cost = squared Euclidean distance, computed by the native cost kernel.
 */
export function saeFeatures(n: number, dim: number, plantedFrac: number, rng: Rng) {
  const a = unitRows(n, dim, rng);
  // Folded SAE features have very different norms (the threshold scales them); a partner keeps its
  // feature's scale up to a small drift. Scale is what makes some columns cheap for every row.
  const scale = Float64Array.from({ length: n }, () => Math.exp(SCALE_SPREAD * rng.normal()));
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) a[i * dim + k]! *= scale[i]!;
  const b = new Float32Array(n * dim);
  const perm = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const planted = new Int32Array(n).fill(-1);
  // Which rows have a partner is random too: features are not sorted by how well they persist.
  const hasPartner = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const nPlanted = Math.round(plantedFrac * n);
  const g = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const j = perm[i]!;
    let s = 0;
    if (hasPartner[i]! < nPlanted) {
      planted[i] = j;
      const sigma = 0.3 + 0.9 * rng.next();
      for (let k = 0; k < dim; k++) {
        g[k] = a[i * dim + k]! / scale[i]! + (sigma / Math.sqrt(dim)) * rng.normal();
        s += g[k]! * g[k]!;
      }
      s /= (scale[i]! * Math.exp(0.1 * rng.normal())) ** 2;
    } else {
      for (let k = 0; k < dim; k++) {
        g[k] = rng.normal();
        s += g[k]! * g[k]!;
      }
      s /= Math.exp(SCALE_SPREAD * rng.normal()) ** 2;
    }
    const inv = 1 / Math.sqrt(s);
    for (let k = 0; k < dim; k++) b[j * dim + k] = g[k]! * inv;
  }
  return { a: { data: a, rows: n, dim } as FeatureMatrix, b: { data: b, rows: n, dim } as FeatureMatrix, planted };
}

export async function makeInstance(family: Family, n: number, opts: InstanceOptions = {}): Promise<Instance> {
  if (!Number.isInteger(n) || n <= 0) throw new SaeMatchInputError(`instance size must be a positive integer, got ${n}`);
  const dtype = opts.dtype ?? 'float32';
  const rng = new Rng(opts.seed ?? 1);
  const nn = n * n;
  switch (family) {
    case 'uniform': {
      const data = alloc(dtype, nn);
      for (let k = 0; k < nn; k++) data[k] = rng.next();
      return { family, data, nRows: n, nCols: n };
    }
    case 'int': {
      const data = alloc(dtype, nn);
      for (let k = 0; k < nn; k++) data[k] = rng.int(n + 1);
      return { family, data, nRows: n, nCols: n };
    }
    case 'geometric': {
      const p = Float64Array.from({ length: 4 * n }, () => rng.next());
      const data = alloc(dtype, nn);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const dx = p[2 * i]! - p[2 * n + 2 * j]!;
          const dy = p[2 * i + 1]! - p[2 * n + 2 * j + 1]!;
          data[i * n + j] = dx * dx + dy * dy;
        }
      return { family, data, nRows: n, nCols: n };
    }
    case 'machol-wien': {
      const data = alloc(dtype, nn);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = (i + 1) * (j + 1);
      return { family, data, nRows: n, nCols: n };
    }
    case 'sae': {
      const { a, b, planted } = saeFeatures(n, opts.dim ?? 2304, opts.planted ?? 0.8, rng);
      const c = await costMatrix(a, b);
      const data = dtype === 'float64' ? Float64Array.from(c.data) : c.data;
      return { family, data, nRows: n, nCols: n, planted };
    }
    default:
      throw new SaeMatchInputError(`unknown instance family '${String(family)}' (one of ${FAMILIES.join(', ')})`);
  }
}
