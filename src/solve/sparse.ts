// The sparse exact method (native/core/sparse/): the cost matrix streamed panel by panel and never
// stored, the assignment solved on the candidate graph (k per row and per column), and a certificate
// over all n_a x n_b pairs from the candidates' bounds and the duals, with the pairs no bound covers
// evaluated exactly. Validated here; computed natively.
import { SaeMatchInputError, SaeMatchInternalError } from '../errors.js';
import { callNative, nativeInfo, type NativeSparseResult, type SparseArgs, type SparsePricing } from '../binding/addon.js';
import { checkFeatures, type CostMetric, type FeatureMatrix, type GemmKernel } from './cost.js';
import { resolveEngine, type EngineOptions } from './engine.js';
import { ensureMemory } from '../io/memory.js';

/** Candidates per column by default, twice as many per row in the graph (BENCHMARKS.md, "The sparse method"). */
export const DEFAULT_CANDIDATES = 16;

/** The sparse method's k, checked: an integer in [1, 4096]. */
export function checkCandidates(k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > 4096) throw new SaeMatchInputError(`candidates must be an integer in [1, 4096], got ${k}`);
  return k;
}

export interface SparseOptions {
  metric?: CostMetric;
  kernel?: GemmKernel;
  /** Candidates kept per row and per column (default DEFAULT_CANDIDATES). */
  candidates?: number;
  /** Certificate tolerance; default 1e-9 * (1 + the largest cost seen), as the dense certificate's. */
  tolerance?: number;
  /** Entries each row keeps in its longer lists (default max(256, 8 candidates)); smaller lists mean more rows recomputed while pricing. */
  keep?: number;
  /**
   * Whether the answer carries the candidate lists (topkIndices, topkCosts, topkColIndices,
   * topkColCosts; default true). Without them (a pair matched without --topk) the answer is 16 MiB
   * lighter at 8192 features, 50 ms of copying.
   */
  lists?: boolean;
  engine?: EngineOptions;
  signal?: AbortSignal;
  /** Where a long pair is, in words: "stream 12288/65536 rows", "solve", "pricing round 3". */
  onStep?: (what: string) => void;
}

/**
 * What the sparse method holds besides the features (native/core/sparse/): one panel (and, for C^T,
 * its block of C), every row's two longer lists (max(256, 8k) entries each) and their union by
 * column, the graph's row lists (2k) and column lists (k, with their heaps while streaming), the
 * graph itself, the duals, and what pricing keeps of the rows it recomputes.
 */
export function sparseBytes(nRows: number, nCols: number, k: number, panelRows: number, keepAsked = 0, threads = nativeInfo().threads): number {
  // The longer lists' length, as native/core/sparse/pricing.cpp sets it (keepAsked: the `keep` option).
  const keep = Math.min(nCols, keepAsked > 0 ? Math.max(keepAsked, k) : Math.max(256, 8 * k));
  // ... and, for a row pricing recomputes, keep / 2 more entries (every row, after a full pass), and
  // what rows evaluated on their open pairs keep of them (nRows keep entries over the whole pricing).
  const rowLists = nRows * keep * 2 * 8 * 2 + nRows * 2 * (2 * k) * 8 + nRows * (keep / 2) * 8 + nRows * keep * 8;
  const colLists = nCols * k * 2 * (8 + 16);
  // ... with k kept entries a row that join before the solve, plus the rows pricing may add whole:
  // at most keep nRows edges (native/core/sparse/pricing.cpp). An edge is 8 bytes in the graph, and
  // beside it either 16 in the paths' arcs (its key with it) while they run or 8 in the graph's copy
  // while it grows.
  const graph = (nRows * 2 * (2 * k) + nCols * k * 2 + nRows * k + nRows * keep) * (8 + 16);
  // The duals v of the rounds that recompute rows (a few dozen rounds at most) and a row's scratch.
  // ... and, while open pairs are evaluated, each thread's heaps for 2048 rows of 4 keep entries.
  // ... and, on a BLAS whose rows keep their entries only in their tile slot, a chunk of slotted rows (64 MiB).
  const pricing = 32 * nCols * 8 + nCols * 16 + threads * 2048 * 4 * keep * 16 + 64 * 2 ** 20;
  return 8 * panelRows * nCols + rowLists + colLists + graph + pricing + 64 * (nRows + nCols);
}

export type SparseAssignment = Omit<NativeSparseResult, 'pricing'> & { pricing: SparsePricing; candidates: number };

/**
 * The exact assignment of the pair (a, b) without the dense matrix: perm, duals (u, v) over all
 * pairs, the assigned costs, and what pricing proved. The smaller side is fully assigned: with more
 * rows in a than in b the method runs on this matrix's transpose (the same entries), and the answer
 * is turned back (rowToCol -1 for a's unassigned features, u over a and v over b, topk still a's
 * candidates among b's). Refuses (never returns) an answer whose certificate failed.
 */
export async function sparseAssignment(a: FeatureMatrix, b: FeatureMatrix, opts: SparseOptions = {}): Promise<SparseAssignment> {
  checkFeatures('a', a);
  checkFeatures('b', b);
  if (a.dim !== b.dim) throw new SaeMatchInputError(`feature dimensions differ: a has ${a.dim}, b has ${b.dim}`);
  const metric = opts.metric ?? 'sqeuclidean';
  const kernel = opts.kernel ?? 'auto';
  return runSparse(a.rows, b.rows, opts, `a ${a.rows} × ${b.rows} pair`, 'use fewer --candidates, or a machine with more memory',
    (common) => ({ a: a.data, nA: a.rows, b: b.data, nB: b.rows, k: a.dim, metric, kernel, ...common }));
}

type SparseCommonArgs = { threads: number; costPanelRows: number; candidates: number; tolerance: number; fullPassShare: number; keep: number; lists: boolean };

/**
 * What both entry points share: the options checked, the panel height, the memory asked for up front,
 * the native call (which takes the smaller side as rows: C^T's panels when there are more rows), the
 * certificate required, and a C^T answer turned back.
 */
async function runSparse(nA: number, nB: number, opts: SparseSolveOptions & { onStep?: (what: string) => void }, what: string, wayOut: string,
  args: (common: SparseCommonArgs) => SparseArgs): Promise<SparseAssignment> {
  const candidates = checkCandidates(opts.candidates ?? DEFAULT_CANDIDATES);
  const tolerance = opts.tolerance ?? 0;
  if (!(tolerance >= 0)) throw new SaeMatchInputError(`tolerance must be >= 0, got ${tolerance}`);
  const keep = opts.keep ?? 0;
  if (!Number.isInteger(keep) || keep < 0) throw new SaeMatchInputError(`keep must be a non-negative integer, got ${keep}`);
  const swap = nA > nB;
  const [nRows, nCols] = swap ? [nB, nA] : [nA, nB];
  // One panel of rows is held at a time: at most 512 MiB of it (2048 rows of a 65k pair, 512 of a 262k one).
  const { costPanelRows: tall } = resolveEngine(opts.engine);
  const costPanelRows = Math.min(tall, Math.max(64, Math.floor(2 ** 29 / (4 * Math.max(1, nCols)))));
  ensureMemory(sparseBytes(nRows, nCols, candidates, costPanelRows, keep), `the sparse method on ${what} (k = ${candidates})`, wayOut);
  const r = await callNative(
    (addon, token) => addon.sparseMatch(args({ threads: 0, costPanelRows, candidates, tolerance, fullPassShare: 0.25, keep, lists: opts.lists ?? true }), token),
    opts.signal,
    opts.onStep && ((p) => opts.onStep!(p.phase === 'stream' ? `stream ${p.done}/${p.total} rows` : p.phase === 'pricing' ? `pricing round ${p.done}` : p.phase)),
  );
  if (!r.pricing.ok) throw new SaeMatchInternalError(`the sparse assignment failed its certificate over all pairs: ${r.pricing.message}`);
  return { ...(swap ? turnBack(r, nA) : r), candidates };
}

/** A C^T answer as the (a, b) one: b's features were the rows, a's (n_a of them) the columns. */
function turnBack(r: NativeSparseResult, nA: number): NativeSparseResult {
  const rowToCol = new Int32Array(nA).fill(-1);
  const costs = new Float32Array(nA).fill(NaN);
  r.rowToCol.forEach((i, j) => {
    if (i >= 0) rowToCol[i] = j, costs[i] = r.costs[j]!;
  });
  return {
    ...r, rowToCol, costs, u: r.v, v: r.u,
    kRow: r.kCol, topkIndices: r.topkColIndices, topkCosts: r.topkColCosts,
    kCol: r.kRow, topkColIndices: r.topkIndices, topkColCosts: r.topkCosts,
  };
}

export interface SparseSolveOptions {
  candidates?: number;
  tolerance?: number;
  keep?: number;
  lists?: boolean;
  engine?: EngineOptions;
  signal?: AbortSignal;
}

/**
 * The sparse method on a stored float32 cost matrix (`solve --method sparse`, the benchmark
 * families): the same stream, solve and pricing, its rows read from the matrix. Exact like the dense
 * solver; it exists to test and measure the method on any matrix, since a stored matrix already
 * holds what the method saves.
 */
export async function sparseSolve(m: { data: Float32Array | Float64Array; nRows: number; nCols: number }, opts: SparseSolveOptions = {}): Promise<SparseAssignment> {
  if (!(m.data instanceof Float32Array)) throw new SaeMatchInputError('the sparse method takes a float32 cost matrix (this one is float64); use --method dense');
  if (m.data.length !== m.nRows * m.nCols || m.nRows < 1 || m.nCols < 1) throw new SaeMatchInputError(`cost matrix of ${m.data.length} entries is not ${m.nRows} x ${m.nCols}`);
  for (let i = 0; i < m.data.length; i++)
    if (!Number.isFinite(m.data[i]!)) throw new SaeMatchInputError(`the sparse method takes finite costs; entry (${Math.floor(i / m.nCols)}, ${i % m.nCols}) is ${m.data[i]} (use --method dense)`);
  const cost = m.data;
  return runSparse(m.nRows, m.nCols, opts, `a ${m.nRows} × ${m.nCols} matrix`, 'use fewer --candidates',
    (common) => ({ cost, nRows: m.nRows, nCols: m.nCols, ...common }));
}
