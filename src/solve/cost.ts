// The SAE Match cost matrix (paper eq. 3) between two sets of feature vectors: validated here, computed
// by native/core/cost/cost.cpp (BLAS sgemm when the build found one, the built-in kernel otherwise).
import { SaeMatchInputError } from '../errors.js';
import { callNative } from '../binding/addon.js';
import { resolveEngine, type EngineOptions } from './engine.js';
import type { CostMatrix } from './lap.js';

/** n row vectors of dimension dim, row-major float32. */
export interface FeatureMatrix {
  data: Float32Array;
  rows: number;
  dim: number;
}

export type CostMetric = 'sqeuclidean' | 'cosine';
export type GemmKernel = 'auto' | 'blas' | 'builtin';

export interface CostOptions {
  /** sqeuclidean: ||a_i - b_j||^2 (default); cosine: 1 - cos(a_i, b_j). */
  metric?: CostMetric;
  /** auto: BLAS when the build has one. 'blas' fails on builds without it. */
  kernel?: GemmKernel;
  /** Threads for the built-in kernel and BLAS; default: all cores. */
  threads?: number;
  /** Write into this array (length a.rows * b.rows) instead of allocating one. */
  out?: Float32Array;
  signal?: AbortSignal;
  /** How the matrix is computed (costPanelRows; see engine.ts), over the environment's settings and the defaults. */
  engine?: EngineOptions;
}

export interface CostResult extends CostMatrix {
  data: Float32Array;
  kernel: string;
  threads: number;
  seconds: number;
}

export function checkFeatures(name: string, m: FeatureMatrix): void {
  if (!(m?.data instanceof Float32Array)) throw new SaeMatchInputError(`${name}.data must be a Float32Array`);
  for (const k of ['rows', 'dim'] as const)
    if (!Number.isInteger(m[k]) || m[k] < 0) throw new SaeMatchInputError(`${name}.${k} must be a non-negative integer, got ${m[k]}`);
  if (m.data.length !== m.rows * m.dim)
    throw new SaeMatchInputError(`${name}.data has ${m.data.length} entries, expected rows*dim = ${m.rows}*${m.dim}`);
}

/** C[i,j] = ||a_i||^2 + ||b_j||^2 - 2 a_i.b_j (float32, clamped at 0), or the cosine distance. */
export async function costMatrix(a: FeatureMatrix, b: FeatureMatrix, opts: CostOptions = {}): Promise<CostResult> {
  checkFeatures('a', a);
  checkFeatures('b', b);
  if (a.dim !== b.dim) throw new SaeMatchInputError(`feature dimensions differ: a has ${a.dim}, b has ${b.dim}`);
  const metric = opts.metric ?? 'sqeuclidean';
  if (metric !== 'sqeuclidean' && metric !== 'cosine') throw new SaeMatchInputError(`unknown metric '${metric}' (sqeuclidean or cosine)`);
  const kernel = opts.kernel ?? 'auto';
  if (!['auto', 'blas', 'builtin'].includes(kernel)) throw new SaeMatchInputError(`unknown kernel '${kernel}' (auto, blas or builtin)`);
  const threads = opts.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0) throw new SaeMatchInputError(`threads must be a non-negative integer, got ${threads}`);
  const n = a.rows * b.rows;
  const out = opts.out ?? new Float32Array(n);
  if (out.length !== n) throw new SaeMatchInputError(`out has ${out.length} entries, expected ${a.rows}*${b.rows}`);
  const { costPanelRows } = resolveEngine(opts.engine);
  const info = await callNative(
    (addon, token) => addon.costMatrix({ a: a.data, nA: a.rows, b: b.data, nB: b.rows, k: a.dim, metric, kernel, threads, costPanelRows, out }, token),
    opts.signal,
  );
  return { data: out, nRows: a.rows, nCols: b.rows, ...info };
}
