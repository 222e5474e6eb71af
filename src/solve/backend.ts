// Where a pair's cost matrix and assignment are computed. One interface, one implementation per
// device (FAISS-style): the CPU backend (BLAS/built-in GEMM + native JV) is always there; the CUDA
// backend (nativeCudaBackend) is used when the addon was built with nvcc and a device is usable; a
// caller with a backend of its own passes it as MatchOptions.backend. The caller is told which
// backend ran and why the others did not.
import { SaeMatchDeviceError, SaeMatchInputError } from '../errors.js';
import { costMatrix, type CostMetric, type CostResult, type FeatureMatrix } from './cost.js';
import { allocFloat32 } from '../io/buffers.js';
import { checkCertificate, InfeasibleError, solveAssignment, type Assignment, type Certificate, type CostMatrix } from './lap.js';
import { callNative, nativeInfo, type NativeCudaPair, type NativeWarmStart, type SolverStats } from '../binding/addon.js';
import { ENGINE_DEFAULTS, resolveEngine, type Engine, type EngineOptions } from './engine.js';

export type DeviceChoice = 'auto' | 'cpu' | 'cuda';
export const DEVICES: readonly DeviceChoice[] = ['auto', 'cpu', 'cuda'];

export interface MatchBackend {
  readonly device: 'cpu' | 'cuda';
  /** e.g. "cpu (openblas, 2 threads)". */
  readonly description: string;
  /**
   * The matrix is computed on a device while the host is free: a suite run starts the next pair's
   * costMatrix as soon as the current matrix is ready, overlapping it with the current solve.
   */
  readonly pipelined?: boolean;
  costMatrix(a: FeatureMatrix, b: FeatureMatrix, metric: CostMetric, out?: Float32Array, signal?: AbortSignal): Promise<CostResult>;
  solveAssignment(cost: CostMatrix, signal?: AbortSignal): Promise<Assignment>;
  /** The dual optimality check of the assignment just found, on the same cost matrix. */
  checkCertificate(cost: CostMatrix, solution: Assignment, signal?: AbortSignal): Promise<Certificate>;
}

// The CPU backend's solver initialises with solveAssignment's init 'auto' (lap.ts,
// CPU_PARALLEL_INIT_MIN): the data-parallel phases within the sequential one's scan budget for large
// square pairs; engine option cpuInit 'jv' keeps the sequential JV.
export { CPU_PARALLEL_INIT_MIN, PARALLEL_INIT_ROUNDS } from './lap.js';

/** The CPU backend; `engine` (see engine.ts) is resolved once, here, for every pair it computes. */
export function cpuBackend(engine?: EngineOptions): MatchBackend {
  const info = nativeInfo();
  const eng = resolveEngine(engine);
  return {
    device: 'cpu',
    description: `cpu (${info.haveBlas ? info.blas.split(' ')[0] : 'built-in GEMM'}, ${info.threads} threads)`,
    costMatrix: (a, b, metric, out, signal) => costMatrix(a, b, { metric, out, signal, engine: eng }),
    solveAssignment: (cost, signal) =>
      solveAssignment(cost, { signal, init: 'auto', engine: eng }),
    checkCertificate: (cost, sol, signal) => checkCertificate(cost, sol, { signal }),
  };
}

/**
 * Bidding rounds of the device's parallel initialisation before phase 4 (they stop early when the
 * free count stalls, lap.hpp). More rounds leave fewer rows for phase 4, and a round with few free
 * rows costs only a few launches (the host reference's counts are in BENCHMARKS.md). The CUDA
 * backend's default; engine option cudaRounds overrides it.
 */
export const CUDA_INIT_ROUNDS: number = ENGINE_DEFAULTS.cudaRounds;

/**
 * The built-in CUDA backend (native/cuda/gpu.hpp): cost matrix and JV (phases 1-3, then phase 4 unless
 * engine option cudaPhase4 is false) on the device; the matrix and the device's state copied back,
 * checked as a warm start (and completed where it falls short) and certified on the host. With
 * `fallback` (--device auto) a CUDA failure (out of memory, a CUDA error) warns once and the pair is
 * computed on the CPU instead; without it, it is a SaeMatchDeviceError. `engine` (see engine.ts) is
 * resolved once, here, and also given to the CPU backend used for the host's part and the fallback.
 */
export function nativeCudaBackend(
  opts: { device?: number; fallback?: boolean; warn?: (message: string) => void; engine?: EngineOptions } = {},
): MatchBackend {
  const info = nativeInfo().cuda;
  const index = opts.device ?? 0;
  const dev = info.devices.find((d) => d.index === index);
  const name = dev ? `${dev.name}, sm_${dev.computeCapability.replace('.', '')}` : `device ${index}`;
  const eng = resolveEngine(opts.engine);
  const cpu = cpuBackend(eng);
  const rounds = eng.cudaRounds;
  // The device's warm start for a matrix it produced, keyed by the matrix buffer, for the solve that follows.
  const warm = new WeakMap<Float32Array, NativeWarmStart>();
  let failed = false; // after a device failure under fallback, the rest of the run stays on the CPU
  const warn = opts.warn ?? ((m: string) => process.emitWarning(m, 'SaeMatchWarning'));
  return {
    device: 'cuda',
    description: `cuda (${name}; checked and certified on the cpu)`,
    pipelined: true,
    async costMatrix(a, b, metric, out, signal) {
      if (failed) return cpu.costMatrix(a, b, metric, out, signal);
      if (a.dim !== b.dim) throw new SaeMatchInputError(`feature dimensions differ: a has ${a.dim}, b has ${b.dim}`);
      const data = out && out.length === a.rows * b.rows ? out : allocFloat32(a.rows * b.rows, 'cost matrix');
      const t0 = performance.now();
      let r: NativeCudaPair;
      try {
        r = await callNative((x, token) => x.cudaMatchPair({
          a: a.data, nA: a.rows, b: b.data, nB: b.rows, k: a.dim, metric, rounds: a.rows === b.rows ? rounds : -1,
          device: index, out: data, cudaPhase4: eng.cudaPhase4, cudaKernel: eng.cudaKernel,
        }, token), signal);
        const bad = spotCheck(a, b, metric, data);
        if (bad) throw new SaeMatchDeviceError(`the CUDA cost matrix failed its spot check (${bad})`);
      } catch (e) {
        if (!(e instanceof SaeMatchDeviceError) || !opts.fallback) throw e;
        failed = true;
        warn(`sae-match: CUDA failed (${e.message}); continuing on the CPU`);
        return cpu.costMatrix(a, b, metric, data, signal);
      }
      if (r.warmStart && !r.warmStart.infeasible) warm.set(data, r.warmStart);
      const result: CostResult & { deviceTimings: NativeCudaPair['timings'] } =
        { data, nRows: a.rows, nCols: b.rows, kernel: 'cuda', threads: 0, seconds: (performance.now() - t0) / 1000, deviceTimings: r.timings };
      return result;
    },
    async solveAssignment(cost, signal) {
      const w = cost.data instanceof Float32Array ? warm.get(cost.data) : undefined;
      if (!w) return cpu.solveAssignment(cost, signal);
      warm.delete(cost.data as Float32Array);
      return finishOnHost(cost, w, eng, signal);
    },
    checkCertificate: (cost, sol, signal) => cpu.checkCertificate(cost, sol, signal),
  };
}

/**
 * The solver's counters when the device ran phases 1-3 (and, unless cudaPhase4 is false, phase 4)
 * and the host checked the result and augmented what was left: freeAfterArr is the rows phase 4
 * started from, augmentations / Dijkstra steps / seconds are the device's and the host's together,
 * and warmStartRejected counts device rows the host had to redo (0 when the device was right).
 */
function mergeDeviceStats(device: SolverStats, host: SolverStats): SolverStats {
  return {
    ...host,
    freeAfterColumnReduction: device.freeAfterColumnReduction,
    freeAfterArr: device.freeAfterArr,
    parallelRounds: device.parallelRounds,
    augmentations: device.augmentations + host.augmentations,
    dijkstraSteps: device.dijkstraSteps + host.dijkstraSteps,
    secondsInit: device.secondsInit + host.secondsInit,
    secondsAugment: device.secondsAugment + host.secondsAugment,
  };
}

/** The device's result checked (and, where wrong or unfinished, completed) on the host as a warm start. */
async function finishOnHost(cost: CostMatrix, w: NativeWarmStart, engine: Engine, signal?: AbortSignal): Promise<Assignment> {
  const sol = await solveAssignment(cost, { signal, engine, warmStart: { rowToCol: w.rowToCol!, colToRow: w.colToRow!, v: w.v! } });
  sol.stats = mergeDeviceStats(w.stats, sol.stats);
  return sol;
}

/**
 * The exact GPU solver on a given matrix (square float32, minimised): JV on the device (phases 1-3
 * and phase 4), checked and completed on the host as a warm start. Same contract as solveAssignment
 * (assignment, total, duals); stats carry the device rounds and the rows left for phase 4, timings
 * the device's part. This is how the GPU solver is checked against the CPU one on every benchmark
 * family. `rounds` defaults to CUDA_INIT_ROUNDS; of `engine`, cudaPhase4 and (for the host's part)
 * lapThreads apply.
 */
export async function solveAssignmentCuda(
  cost: CostMatrix, opts: { rounds?: number; device?: number; signal?: AbortSignal; engine?: EngineOptions } = {},
): Promise<Assignment & { device: string; deviceTimings: NativeCudaPair['timings'] }> {
  if (!(cost.data instanceof Float32Array) || cost.nRows !== cost.nCols)
    throw new SaeMatchInputError('the GPU solver takes square float32 matrices');
  const rounds = opts.rounds ?? CUDA_INIT_ROUNDS;
  if (!Number.isInteger(rounds) || rounds < 0) throw new SaeMatchInputError(`rounds must be an integer >= 0, got ${rounds}`);
  const eng = resolveEngine(opts.engine);
  const t0 = performance.now();
  const r = await callNative((x, token) => x.cudaInitMatrix({
    cost: cost.data as Float32Array, n: cost.nRows, rounds, device: opts.device ?? 0, cudaPhase4: eng.cudaPhase4,
  }, token), opts.signal);
  const w = r.warmStart!;
  if (w.infeasible) throw new InfeasibleError();
  const sol = await finishOnHost(cost, w, eng, opts.signal);
  return { ...sol, seconds: (performance.now() - t0) / 1000, device: r.device, deviceTimings: r.timings };
}

/**
 * A device's matrix, checked on SPOT_CHECKS entries recomputed in float64 (fixed pseudo-random
 * positions, the first and last entry among them): a wrong index or a broken kernel on some other
 * GPU shows up as a clear device error, not as a certified optimum of the wrong matrix. Float32
 * products differ from float64 by ~1e-6 of the costs; the bound is 1e-3 of the largest cost checked.
 * Returns what failed, or undefined. About a millisecond at k = 4608.
 */
const SPOT_CHECKS = 256;
export function spotCheck(a: FeatureMatrix, b: FeatureMatrix, metric: CostMetric, C: Float32Array): string | undefined {
  const k = a.dim, got: number[] = [], want: number[] = [], where: Array<[number, number]> = [];
  let s = 0x9e3779b9;
  const next = (n: number) => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s % n;
  };
  for (let t = 0; t < SPOT_CHECKS; t++) {
    const i = t === 0 ? 0 : t === 1 ? a.rows - 1 : next(a.rows), j = t === 0 ? 0 : t === 1 ? b.rows - 1 : next(b.rows);
    let dot = 0, na = 0, nb = 0;
    for (let p = 0; p < k; p++) {
      const x = a.data[i * k + p]!, y = b.data[j * k + p]!;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    want.push(metric === 'cosine' ? 1 - (na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0) : Math.max(0, na + nb - 2 * dot));
    got.push(C[i * b.rows + j]!);
    where.push([i, j]);
  }
  const scale = Math.max(...want.map(Math.abs), 1e-30);
  for (let t = 0; t < SPOT_CHECKS; t++)
    if (!(Math.abs(got[t]! - want[t]!) <= 1e-3 * scale))
      return `C[${where[t]![0]}, ${where[t]![1]}] = ${got[t]}, float64 gives ${want[t]}`;
  return undefined;
}

function cudaBackend(fallback: boolean, engine: Engine): MatchBackend | { unavailable: string } {
  const info = nativeInfo().cuda;
  if (!info.compiled) return { unavailable: `this build has no CUDA (${info.error})` };
  if (info.deviceCount === 0) return { unavailable: `no usable CUDA device (${info.error})` };
  return nativeCudaBackend({ fallback, engine });
}

/**
 * auto: CUDA when it can run, else CPU; cuda: CUDA or a clear error; cpu: CPU. `engine` (see
 * engine.ts) goes to the backend chosen.
 */
export function selectBackend(choice: DeviceChoice = 'auto', engine?: EngineOptions): { backend: MatchBackend; reason: string } {
  if (!DEVICES.includes(choice)) throw new SaeMatchInputError(`unknown device '${choice}' (auto, cpu or cuda)`);
  const eng = resolveEngine(engine);
  if (choice === 'cpu') return { backend: cpuBackend(eng), reason: 'requested' };
  const cuda = cudaBackend(choice === 'auto', eng);
  if ('unavailable' in cuda) {
    if (choice === 'cuda') throw new SaeMatchInputError(`--device cuda: ${cuda.unavailable}`);
    return { backend: cpuBackend(eng), reason: `CUDA not used: ${cuda.unavailable}` };
  }
  return { backend: cuda, reason: choice === 'cuda' ? 'requested' : 'CUDA device found' };
}
