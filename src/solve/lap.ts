// Linear assignment: validation of the inputs at the boundary, then the native JV solver
// (native/core/lap/) and its dual certificate. The cost matrix is passed zero-copy.
import { SaeMatchInputError } from '../errors.js';
import { callNative, type NativeCertificate, type SolverStats } from '../binding/addon.js';
import { resolveEngine, type EngineOptions } from './engine.js';

export type { SolverStats } from '../binding/addon.js';

/**
 * The CPU backend's ('auto') initialisation of a square float32 matrix of at least this many rows,
 * minimised: JV's phases 1-3 in data-parallel form on all cores, within the sequential phase 3's scan
 * budget, then phase 4. Measured against the sequential JV (BENCHMARKS.md, "The parallel
 * initialisation's budget"): SAE-like 8192 0.31 -> 0.17 s, 16384 2.4 -> 0.82 s; uniform 8192 0.85
 * -> 0.64 s; integer and 2-D geometric costs on a par (int 4096 0.13 -> 0.16 s). The general-purpose
 * default stays 'jv': a solver that uses both cores quiet loses more when a core is taken (issue 11's
 * "one core free" target: 1.53x the quiet median with it, within 1.3x without).
 */
export const CPU_PARALLEL_INIT_MIN = 4096;
/** Bidding rounds of that initialisation (they stop earlier at a stall or at the scan budget). */
export const PARALLEL_INIT_ROUNDS = 2048;

/** A dense row-major cost matrix. float32 or float64; nothing is copied on the way to C++. */
export interface CostMatrix {
  data: Float32Array | Float64Array;
  nRows: number;
  nCols: number;
}

export interface SolveOptions {
  /** Maximise the total instead of minimising it (forbidden pairs are then -Infinity, as in scipy). */
  maximize?: boolean;
  signal?: AbortSignal;
  /**
   * How JV's phases 1-3 run; the optimum is the same whichever.
   * - 'jv' (default): the sequential phases of the paper.
   * - 'auto': what the CPU backend runs for a pair: 'parallel' within the sequential phase 3's scan
   *   budget for a square float32 matrix, minimised, of at least CPU_PARALLEL_INIT_MIN rows (unless
   *   the engine's cpuInit is 'jv'), else 'jv'.
   * - 'parallel': the data-parallel form the CUDA solver runs (see native/core/lap/lap.hpp,
   *   parallelInitReference), on the CPU, then phase 4 from that warm start, with no budget: the GPU
   *   path's reference. Square float32 matrices, minimised.
   */
  init?: 'auto' | 'jv' | 'parallel';
  /** Bidding rounds of the parallel initialisation (default 32; 'auto' takes PARALLEL_INIT_ROUNDS). */
  parallelRounds?: number;
  /**
   * Start phase 4 from this state (square float32, minimised), e.g. a device's initialisation. It is
   * checked, not trusted: inconsistent x/y or non-finite v are input errors, and an assigned row whose
   * column is not a row minimum of c_ij - v_j is freed (stats.warmStartRejected) and augmented.
   */
  warmStart?: { rowToCol: Int32Array; colToRow: Int32Array; v: Float64Array };
  /** How the solver runs (lapThreads; see engine.ts), over the environment's settings and the defaults. */
  engine?: EngineOptions;
}

export interface Assignment {
  /** rowToCol[i] = column of row i, or -1 (only when nRows > nCols). */
  rowToCol: Int32Array;
  /** colToRow[j] = row of column j, or -1 (only when nCols > nRows). */
  colToRow: Int32Array;
  /** Sum of the costs on the assignment, accumulated in float64. */
  totalCost: number;
  /**
   * Dual variables of the problem as posed: minimising, c_ij - u_i - v_j >= 0 everywhere and = 0 on
   * the assignment; maximising, u_i + v_j - c_ij >= 0.
   */
  u: Float64Array;
  v: Float64Array;
  stats: SolverStats;
  /** Wall time of the native solve. */
  seconds: number;
}

export interface Certificate extends NativeCertificate {
  seconds: number;
}

/** Raised when no assignment avoids the forbidden pairs. */
export class InfeasibleError extends SaeMatchInputError {
  constructor(message = 'cost matrix is infeasible: no assignment avoids the forbidden (infinite) pairs') {
    super(message);
    this.name = 'InfeasibleError';
  }
}

function checkDim(name: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
    throw new SaeMatchInputError(`${name} must be a non-negative integer, got ${String(n)}`);
  if (n > 0x7fffffff) throw new SaeMatchInputError(`${name} = ${n} exceeds 2^31-1`);
  return n;
}

/**
 * Accepts a CostMatrix or a 2-D array of numbers (converted to float64) and checks its shape.
 * Value checks (NaN, wrong-sign infinity) happen in the native solver's first pass over the matrix:
 * a separate JavaScript pass over a 1 GiB matrix would cost more than the solve itself.
 */
export function toCostMatrix(cost: CostMatrix | ArrayLike<ArrayLike<number>>): CostMatrix {
  if (Array.isArray(cost)) {
    const nRows = cost.length;
    const nCols = nRows === 0 ? 0 : (cost[0] as ArrayLike<number>).length;
    const data = new Float64Array(nRows * nCols);
    for (let i = 0; i < nRows; i++) {
      const row = cost[i] as ArrayLike<number>;
      if (!row || row.length !== nCols)
        throw new SaeMatchInputError(`cost matrix must be rectangular: row ${i} has ${row?.length} entries, row 0 has ${nCols}`);
      for (let j = 0; j < nCols; j++) {
        const x = row[j];
        if (typeof x !== 'number') throw new SaeMatchInputError(`cost[${i}][${j}] is not a number`);
        data[i * nCols + j] = x;
      }
    }
    return { data, nRows, nCols };
  }
  const m = cost as CostMatrix;
  if (!(m?.data instanceof Float32Array || m?.data instanceof Float64Array))
    throw new SaeMatchInputError('cost matrix data must be a Float32Array or Float64Array (row-major)');
  const nRows = checkDim('nRows', m.nRows);
  const nCols = checkDim('nCols', m.nCols);
  if (m.data.length !== nRows * nCols)
    throw new SaeMatchInputError(`cost matrix data has ${m.data.length} entries, expected nRows*nCols = ${nRows}*${nCols} = ${nRows * nCols}`);
  return m;
}

/**
 * Solves the linear assignment problem exactly (Jonker-Volgenant). The smaller side is fully
 * assigned, as in scipy.optimize.linear_sum_assignment.
 */
export async function solveAssignment(
  cost: CostMatrix | ArrayLike<ArrayLike<number>>,
  opts: SolveOptions = {},
): Promise<Assignment> {
  const m = toCostMatrix(cost);
  const maximize = opts.maximize ?? false;
  const engine = resolveEngine(opts.engine);
  let rounds: number | undefined;
  let budget = false;
  const init = opts.init ?? 'jv';
  const checkRounds = (r: number) => {
    if (!Number.isInteger(r) || r < 0 || r > 1e6) throw new SaeMatchInputError(`parallelRounds must be an integer in [0, 1e6], got ${r}`);
    return r;
  };
  if (init === 'auto') {
    if (engine.cpuInit !== 'jv' && m.data instanceof Float32Array && !maximize && m.nRows === m.nCols && m.nRows >= CPU_PARALLEL_INIT_MIN && !opts.warmStart)
      rounds = checkRounds(opts.parallelRounds ?? PARALLEL_INIT_ROUNDS), budget = true;
  } else if (init === 'parallel') {
    rounds = checkRounds(opts.parallelRounds ?? 32);
    if (!(m.data instanceof Float32Array) || maximize || m.nRows !== m.nCols)
      throw new SaeMatchInputError("init 'parallel' takes square float32 matrices, minimised");
  } else if (init !== 'jv') throw new SaeMatchInputError(`unknown init '${String(opts.init)}' (auto, jv or parallel)`);
  const w = opts.warmStart;
  if (w) {
    if (!(m.data instanceof Float32Array) || maximize || m.nRows !== m.nCols)
      throw new SaeMatchInputError('a warm start takes square float32 matrices, minimised');
    if (!(w.rowToCol instanceof Int32Array) || !(w.colToRow instanceof Int32Array) || !(w.v instanceof Float64Array))
      throw new SaeMatchInputError('warmStart needs rowToCol and colToRow as Int32Array and v as Float64Array');
  }
  const { lapThreads } = engine;
  const t0 = performance.now();
  const r = await callNative((a, token) => a.solveAssignment({
    cost: m.data, nRows: m.nRows, nCols: m.nCols, maximize, lapThreads, parallelRounds: rounds, parallelBudget: budget, warmStart: w,
  }, token), opts.signal);
  const seconds = (performance.now() - t0) / 1000;
  if (!r.feasible) throw new InfeasibleError();
  return {
    rowToCol: r.rowToCol!,
    colToRow: r.colToRow!,
    totalCost: r.totalCost!,
    u: r.u!,
    v: r.v!,
    stats: r.stats,
    seconds,
  };
}

/**
 * The state JV's phases 1-3 leave in the data-parallel form the GPU runs (native/core/lap/lap.hpp,
 * parallelInitReference): x, y and column duals v in which every assigned row holds a row minimum,
 * usable as solveAssignment's `warmStart`. Square float32 matrices; null when infeasible.
 */
export async function parallelInitReference(
  cost: CostMatrix, opts: { rounds?: number; signal?: AbortSignal } = {},
): Promise<{ rowToCol: Int32Array; colToRow: Int32Array; v: Float64Array; stats: SolverStats } | null> {
  const m = toCostMatrix(cost);
  const rounds = opts.rounds ?? 32;
  if (!Number.isInteger(rounds) || rounds < 0 || rounds > 1e6) throw new SaeMatchInputError(`rounds must be an integer in [0, 1e6], got ${rounds}`);
  if (!(m.data instanceof Float32Array) || m.nRows !== m.nCols) throw new SaeMatchInputError('the parallel initialisation takes square float32 matrices');
  const w = await callNative((a, token) => a.parallelInit({ cost: m.data as Float32Array, n: m.nRows, rounds }, token), opts.signal);
  return w.infeasible ? null : { rowToCol: w.rowToCol!, colToRow: w.colToRow!, v: w.v!, stats: w.stats };
}

export interface CertificateOptions {
  maximize?: boolean;
  /** Allowed violation; default 1e-9 * (1 + max |finite cost|). */
  tolerance?: number;
  signal?: AbortSignal;
}

/**
 * Proves (or refutes) optimality of an assignment from dual variables alone: every reduced cost
 * >= -tol, the assigned ones within tol of 0, and for rectangular problems the unassigned side's
 * duals equal and dominant. Independent of how the assignment was found.
 */
export async function checkCertificate(
  cost: CostMatrix | ArrayLike<ArrayLike<number>>,
  solution: { rowToCol: Int32Array; u: Float64Array; v: Float64Array },
  opts: CertificateOptions = {},
): Promise<Certificate> {
  const m = toCostMatrix(cost);
  const { rowToCol, u, v } = solution;
  if (!(rowToCol instanceof Int32Array) || rowToCol.length !== m.nRows)
    throw new SaeMatchInputError(`rowToCol must be an Int32Array of length nRows = ${m.nRows}`);
  if (!(u instanceof Float64Array) || u.length !== m.nRows)
    throw new SaeMatchInputError(`u must be a Float64Array of length nRows = ${m.nRows}`);
  if (!(v instanceof Float64Array) || v.length !== m.nCols)
    throw new SaeMatchInputError(`v must be a Float64Array of length nCols = ${m.nCols}`);
  const tol = opts.tolerance ?? 0;
  if (!(tol >= 0)) throw new SaeMatchInputError(`tolerance must be >= 0, got ${tol}`);
  const t0 = performance.now();
  const cert = await callNative(
    (a, token) => a.checkCertificate({ cost: m.data, nRows: m.nRows, nCols: m.nCols, maximize: opts.maximize ?? false, rowToCol, u, v, tolerance: tol }, token),
    opts.signal,
  );
  return { ...cert, seconds: (performance.now() - t0) / 1000 };
}
