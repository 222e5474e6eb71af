// The one place that decides which native binary runs (build/Release from `npm install`, else a
// prebuild in prebuilds/<platform>-<arch>/) and that turns native rejections into this package's
// error classes. Everything heavy goes through here as a Promise resolved by a native AsyncWorker.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SaeMatchDeviceError, SaeMatchInputError, SaeMatchInternalError, throwIfAborted } from '../errors.js';

const require = createRequire(import.meta.url);
/** Package root: this file lives in src/binding/ (tests) or dist/binding/ (installed). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface NativeSolveResult {
  feasible: boolean;
  rowToCol?: Int32Array;
  colToRow?: Int32Array;
  u?: Float64Array;
  v?: Float64Array;
  totalCost?: number;
  stats: SolverStats;
}

/** Counters from the JV phases (native/core/lap/lap.hpp, LapStats). */
export interface SolverStats {
  freeAfterColumnReduction: number;
  freeAfterArr: number;
  arrRowScans: number;
  augmentations: number;
  dijkstraSteps: number;
  secondsInit: number;
  secondsAugment: number;
  /** Bidding rounds of the parallel initialisation (0 for the sequential JV). */
  parallelRounds: number;
  /** Warm-start rows freed because their column was not a row minimum (0 without a warm start). */
  warmStartRejected: number;
  /**
   * Relaxations of phase 4 whose upper half of the columns the helper thread did (0 when phase 4 ran
   * on one thread: lapThreads 1, a matrix under 4096 columns, fewer than 4 rows left, one core).
   */
  helperSteps: number;
  /**
   * Relaxations of a two-thread phase 4 whose upper half the solving thread did itself because the
   * helper had not claimed it yet (descheduled, or sharing a core): the solver never waits for a
   * helper that is not running. helperSteps + stepsTakenOver is every split relaxation.
   */
  stepsTakenOver: number;
}

export interface NativeCertificate {
  ok: boolean;
  assignmentValid: boolean;
  maxViolation: number;
  minReducedCost: number;
  maxAssignedGap: number;
  tolerance: number;
  message: string;
}

export interface CudaDevice {
  index: number;
  name: string;
  computeCapability: string;
  totalMemory: number;
  multiprocessors: number;
}

export interface NativeInfo {
  blas: string;
  haveBlas: boolean;
  /** Threads a parallel pass uses: the least of the CPUs, the affinity mask, the cgroup quota and SLURM_CPUS_PER_TASK. */
  threads: number;
  /** What each of those sources said (native/core/threads.hpp), and a choice made with setThreads. */
  threadsReason: string;
  /** What the machine gave this process, whatever setThreads chose. */
  threadBudget: number;
  avx2: boolean;
  buildSystem?: string;
  cuda: {
    compiled: boolean;
    runtimeVersion: number;
    driverVersion: number;
    deviceCount: number;
    error: string;
    devices: CudaDevice[];
  };
}

/** What the native fork-join passes did since the process started (native/core/parallel.hpp). */
export interface ParallelCounters {
  /** Passes that started worker threads. */
  passes: number;
  /** Parts the calling thread ran itself (all of them when no worker got a CPU in time). */
  partsByCaller: number;
  partsByWorkers: number;
  /** Workers that started after every part was claimed, and exited. */
  workersIdle: number;
  /** Thread starts the system refused; the caller did their work. */
  spawnFailures: number;
}

interface CancelToken {
  cancel(): void;
  /** Where the call is (native/binding/worker.hpp CallProgress): phase '' until the call sets one. */
  progress(): NativeProgress;
}

export interface NativeProgress {
  phase: string;
  done: number;
  /** 0 when the phase has no known end. */
  total: number;
}

/** A warm start for JV phase 4 (native/core/lap/lap.hpp WarmStart). */
export interface NativeWarmStart {
  infeasible: boolean;
  rowToCol?: Int32Array;
  colToRow?: Int32Array;
  v?: Float64Array;
  stats: SolverStats;
}

/** What the CUDA pair op returns (native/cuda/gpu.hpp). */
export interface NativeCudaPair {
  device: string;
  timings: { upload: number; norms: number; gemm: number; init: number; download: number; total: number };
  warmStart?: NativeWarmStart;
}

/**
 * The addon's exports, one options type per call. Every asynchronous export is
 * `fn(options, token)`: the options cross as one object read by name on the C++ side
 * (native/binding/args.hpp; the export's twin is the file of native/binding/ named in its comment),
 * so adding a parameter is a field here and one read there. Values are validated by the callers
 * (src/solve/, src/io/, src/sae/, src/analysis/) before they get here; the binding only converts.
 */
interface NativeAddon {
  CancelToken: new () => CancelToken;
  // native/binding/lap.cpp
  solveAssignment(o: SolveArgs, token: CancelToken): Promise<NativeSolveResult>;
  checkCertificate(o: CertificateArgs, token: CancelToken): Promise<NativeCertificate>;
  parallelInit(o: ParallelInitArgs, token: CancelToken): Promise<NativeWarmStart>;
  // native/binding/cost.cpp
  costMatrix(o: CostArgs, token: CancelToken): Promise<{ kernel: string; threads: number; seconds: number }>;
  topkRows(o: TopkArgs, token: CancelToken): Promise<void>;
  /** Rows of the (a, b) cost matrix, or of its transpose, through the sparse method's cost panels (tests). */
  costRows(o: Omit<CostArgs, 'costPanelRows' | 'out'> & { rows: Int32Array; transposed: boolean; out: Float32Array }, token: CancelToken): Promise<{ kernel: string }>;
  // native/binding/cuda.cpp
  cudaMatchPair(o: CudaPairArgs, token: CancelToken): Promise<NativeCudaPair>;
  cudaInitMatrix(o: CudaInitArgs, token: CancelToken): Promise<NativeCudaPair>;
  // native/binding/io.cpp
  readRange(o: ReadRangeArgs, token: CancelToken): Promise<{ bytesRead: number; crc32: number; seconds: number }>;
  allocLarge(o: { bytes: number }): ArrayBuffer;
  releaseLarge(o: { buffer: ArrayBuffer }): void;
  crc32(o: { bytes: Uint8Array; crc: number }): number;
  crc32Combine(o: { crcA: number; crcB: number; lengthB: number }): number;
  // native/binding/sae.cpp
  scanValues(o: { x: Float32Array; threads: number }, token: CancelToken): Promise<ValueScan>;
  buildFeatures(o: FeaturesArgs, token: CancelToken): Promise<{ dim: number }>;
  foldThreshold(o: FoldArgs, token: CancelToken): Promise<void>;
  halfToFloat(o: HalfArgs, token: CancelToken): Promise<void>;
  rowNorms(o: { x: Float32Array; rows: number; cols: number; out: Float64Array; threads: number }, token: CancelToken): Promise<void>;
  transpose(o: { src: Float32Array; rows: number; cols: number; out: Float32Array; threads: number }, token: CancelToken): Promise<void>;
  scaleMatrix(o: { x: Float32Array; rows: number; cols: number; rowScale?: Float64Array; colScale?: Float64Array; scalar: number; threads: number }, token: CancelToken): Promise<void>;
  // native/binding/eval.cpp
  evaluateSae(o: EvalEncodeArgs, token: CancelToken): Promise<SparseCodes>;
  evaluateSae(o: EvalPairArgs, token: CancelToken): Promise<NativePairEval>;
  // native/binding/sparse.cpp
  sparseMatch(o: SparseArgs, token: CancelToken): Promise<NativeSparseResult>;
  // native/binding/info.cpp
  info(): NativeInfo;
  setThreads(threads: number): number;
  parallelCounters(testWorkerDelayUs?: number): ParallelCounters;
  blasRules(k: number): BlasRules;
}

/** A dense row-major cost matrix as the solver takes it. */
interface MatrixArgs {
  cost: Float32Array | Float64Array;
  nRows: number;
  nCols: number;
  maximize: boolean;
}

export interface SolveArgs extends MatrixArgs {
  /** Threads of phase 4 (EngineOptions.lapThreads). */
  lapThreads: 1 | 2;
  /** Present: the data-parallel initialisation with this many rounds, then phase 4 (square float32, minimised). */
  parallelRounds?: number;
  /** true: those rounds also stop at the sequential phase 3's scan bound (lap.hpp sequentialArrScans). */
  parallelBudget?: boolean;
  /** Present: phase 4 from this state, checked first (square float32, minimised). */
  warmStart?: { rowToCol: Int32Array; colToRow: Int32Array; v: Float64Array };
}

export interface CertificateArgs extends MatrixArgs {
  rowToCol: Int32Array;
  u: Float64Array;
  v: Float64Array;
  /** <= 0: 1e-9 * (1 + max |finite cost|). */
  tolerance: number;
}

export interface ParallelInitArgs {
  cost: Float32Array;
  n: number;
  rounds: number;
}

/** Two row-major float32 feature matrices, a (nA x k) and b (nB x k). */
interface FeaturePairArgs {
  a: Float32Array;
  nA: number;
  b: Float32Array;
  nB: number;
  k: number;
  metric: 'sqeuclidean' | 'cosine';
  /** nA x nB, written. */
  out: Float32Array;
}

interface SparseCommon {
  threads: number;
  costPanelRows: number;
  candidates: number;
  /** <= 0: 1e-9 * (1 + the largest cost seen). */
  tolerance: number;
  fullPassShare: number;
  /** The stream alone, no assignment (scripts/bench/stream.mjs: the pass against the dense kernel). */
  streamOnly?: boolean;
  /** Entries a row keeps in its longer lists (0 or absent: max(256, 8 k)). */
  keep?: number;
  /** false: the candidate lists are not returned (topkIndices and the rest come back empty). */
  lists?: boolean;
  /** Graph edges a row takes from each of its lists (0 or absent: 2 k). */
  rowCandidates?: number;
}

/** Two feature matrices (the cost computed panel by panel), or a stored float32 matrix. */
export type SparseArgs =
  | (Omit<FeaturePairArgs, 'out'> & SparseCommon & { kernel: 'auto' | 'blas' | 'builtin' })
  | (SparseCommon & { cost: Float32Array; nRows: number; nCols: number });

/** What native/core/sparse/pricing.cpp proved over all pairs (native/core/sparse/sparse.hpp Pricing). */
export interface SparsePricing {
  ok: boolean;
  pairs: number;
  inGraph: number;
  provenByRowBound: number;
  provenByColumnBound: number;
  evaluated: number;
  rowsEvaluated: number;
  /** Rows evaluated on their open pairs only, over all rounds (the rest were recomputed whole). */
  rowsPartial: number;
  /** With SAE_MATCH_SPARSE_CHECK set (tests): pricing's counts and kept bounds checked the slow way, and how many checks failed. */
  selfChecks: number;
  selfCheckFailures: number;
  rounds: number;
  violationsAdded: number;
  rowsCompleted: number;
  /** Rounds of a pair with more columns than rows solved again from the cold start. */
  coldRestarts: number;
  maxViolation: number;
  tolerance: number;
  message: string;
}

export interface NativeSparseResult {
  rowToCol: Int32Array;
  u: Float64Array;
  v: Float64Array;
  costs: Float32Array;
  totalCost: number;
  graphEdges: number;
  kRow: number;
  topkIndices: Int32Array;
  topkCosts: Float32Array;
  kCol: number;
  topkColIndices: Int32Array;
  topkColCosts: Float32Array;
  kernel: string;
  /** freeAfterCold: rows the column minima left free; freeAfterInit: still free after the augmenting row reduction (arrScans row scans). */
  stats: { freeAfterCold: number; freeAfterInit: number; arrScans: number; augmentations: number; heapPops: number; edgeScans: number };
  pricing: SparsePricing;
  seconds: { stream: number; solve: number; pricing: number };
}

export interface CostArgs extends FeaturePairArgs {
  kernel: 'auto' | 'blas' | 'builtin';
  /** 0: all cores. */
  threads: number;
  /** EngineOptions.costPanelRows. */
  costPanelRows: number;
}

export interface TopkArgs {
  cost: Float32Array;
  nRows: number;
  nCols: number;
  k: number;
  /** nRows x k, written. */
  indices: Int32Array;
  /** nRows x k, written. */
  costs: Float32Array;
  threads: number;
}

export interface CudaPairArgs extends FeaturePairArgs {
  /** >= 0 with nA === nB: also JV on the device, with this many bidding rounds; -1: the matrix only. */
  rounds: number;
  device: number;
  /** EngineOptions.cudaPhase4 and cudaKernel. */
  cudaPhase4: boolean;
  cudaKernel: 'pipelined' | 'simple';
}

export interface CudaInitArgs {
  cost: Float32Array;
  n: number;
  rounds: number;
  device: number;
  cudaPhase4: boolean;
}

export interface ReadRangeArgs {
  path: string;
  offset: number;
  length: number;
  /** At least `length` bytes, written. */
  dst: Uint8Array;
  threads: number;
  crc: boolean;
}

/** An SAE's parameters as the per-layer arithmetic takes them (native/core/sae/fold.hpp). */
interface SaeArgs {
  W_enc: Float32Array;
  W_dec: Float32Array;
  b_enc: Float32Array;
  /** W_enc's rows (d_in). */
  dModel: number;
  /** W_dec's columns (d_out of a transcoder); dModel when absent. */
  dOut?: number;
  dSae: number;
  threads: number;
}

export interface FeaturesArgs extends SaeArgs {
  /** null only when fold is false. */
  threshold: Float32Array | null;
  dec: boolean;
  enc: boolean;
  biasWeight: number;
  fold: boolean;
  out: Float32Array;
}

export interface FoldArgs extends SaeArgs {
  threshold: Float32Array;
  outWenc: Float32Array;
  outWdec: Float32Array;
  outBenc: Float32Array;
}

export interface HalfArgs {
  /** F16 (or, with bfloat16, BF16) bits. */
  src: Uint16Array;
  bfloat16: boolean;
  out: Float32Array;
  threads: number;
}

/** Row-compressed JumpReLU codes [rows, cols] (native/core/eval/eval.hpp): row r is rowPtr[r]..rowPtr[r+1]. */
export interface SparseCodes {
  rowPtr: Float64Array;
  idx: Int32Array;
  val: Float32Array;
  cols: number;
}

export interface EvalEncodeArgs {
  op: 'encode';
  /** EngineOptions.evalKernel. */
  evalKernel: 'auto' | 'generic';
  X: Float32Array;
  n: number;
  dModel: number;
  W_enc: Float32Array;
  b_enc: Float32Array;
  threshold: Float32Array;
  dSae: number;
  threads: number;
}

export interface EvalPairArgs {
  op: 'pair';
  /** EngineOptions.evalKernel. */
  evalKernel: 'auto' | 'generic';
  X: Float32Array;
  n: number;
  dModel: number;
  ft: SparseCodes;
  fn: SparseCodes;
  W_dec_t: Float32Array;
  b_dec_t: Float32Array;
  W_dec_next: Float32Array;
  b_dec_next: Float32Array;
  perm: Int32Array;
  costs: Float32Array;
  thresholds: Float64Array;
  /** Both set: evaluate in folded coordinates (codes / θ_t, decoder rows · θ_{t+1}); null: raw. */
  theta_t: Float32Array | null;
  theta_next: Float32Array | null;
  threads: number;
}

/** native/core/eval/eval.cpp's explained variances of one pair (NaN: undefined). */
export interface NativePairEval {
  saeMatch: number;
  own: number;
  noPermutation: number;
  reusePrevious: number;
  hybrid: Float64Array;
  matchingScore: number;
  matchingActive: number;
}

/** What native/core/sae/fold.cpp's scanValues reports about a float32 array. */
export interface ValueScan {
  nonFinite: number;
  firstNonFinite: number;
  nonPositive: number;
  firstNonPositive: number;
  min: number;
  max: number;
}

let cached: { addon: NativeAddon; path: string } | undefined;

/** Loads the addon once. SAE_MATCH_ADDON=/path/to/file.node overrides the search. */
/**
 * OpenBLAS picks its kernels from the CPU model at load time, and a release that predates the CPU
 * falls back to its oldest x86-64 kernels: Debian's 0.3.21 names this project's Xeon VMs "Prescott"
 * and runs sgemm at 35-49 GFLOP/s, where its SkylakeX kernels reach 254 (numpy's own OpenBLAS: 267;
 * BENCHMARKS.md). Unless the user set OPENBLAS_CORETYPE, it is set from the CPU's own feature flags
 * before the addon (and so OpenBLAS) loads: SkylakeX with AVX-512 F/BW/DQ/VL, Haswell with AVX2 and
 * FMA, nothing otherwise. Both are kernels every such CPU runs; `info` shows the core in use.
 */
function chooseBlasCore(): void {
  if (process.env.OPENBLAS_CORETYPE !== undefined || process.platform !== 'linux' || process.arch !== 'x64') return;
  let flags: Set<string>;
  try {
    const line = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    if (!line) return;
    flags = new Set(line.trim().split(/\s+/));
  } catch {
    return;
  }
  const has = (...f: string[]) => f.every((x) => flags.has(x));
  if (has('avx512f', 'avx512bw', 'avx512dq', 'avx512vl')) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  else if (has('avx2', 'fma')) process.env.OPENBLAS_CORETYPE = 'Haswell';
}

export function loadAddon(): { addon: NativeAddon; path: string } {
  if (cached) return cached;
  const override = process.env.SAE_MATCH_ADDON;
  let path: string;
  try {
    path = override ?? (require('node-gyp-build') as { resolve(dir: string): string }).resolve(packageRoot);
  } catch (e) {
    throw new SaeMatchInternalError(
      `sae-match: no native addon found. Looked in ${packageRoot}/build/Release and ` +
        `${packageRoot}/prebuilds/${process.platform}-${process.arch}/ (node-gyp-build). ` +
        `Build it with \`npm run build:native\` (needs cmake or node-gyp and a C++17 compiler), ` +
        `or \`npm run prebuild\`. Cause: ${(e as Error).message}`,
      { cause: e },
    );
  }
  chooseBlasCore();
  try {
    cached = { addon: require(path) as NativeAddon, path };
  } catch (e) {
    throw new SaeMatchInternalError(
      `sae-match: the native addon at ${path} failed to load: ${(e as Error).message}. ` +
        'Rebuild it with `npm run build:native`.',
      { cause: e },
    );
  }
  return cached;
}

function mapNativeError(e: unknown): unknown {
  const err = e as Error & { code?: string };
  if (err?.code === 'ERR_SAE_MATCH_INPUT') return new SaeMatchInputError(err.message, { cause: e });
  if (err?.code === 'ERR_SAE_MATCH_INTERNAL')
    return new SaeMatchInternalError(`native addon: ${err.message}`, { cause: e });
  if (err?.code === 'ERR_SAE_MATCH_DEVICE') return new SaeMatchDeviceError(err.message, { cause: e });
  return e;
}

/**
 * Runs one native call off the event loop. An AbortSignal cancels it: the worker checks the token
 * between phases and rejects with an AbortError.
 */
export async function callNative<T>(
  fn: (addon: NativeAddon, token: CancelToken) => Promise<T>,
  signal?: AbortSignal,
  onProgress?: (p: NativeProgress) => void,
): Promise<T> {
  throwIfAborted(signal);
  const { addon } = loadAddon();
  const token = new addon.CancelToken();
  const onAbort = () => token.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  // Progress is polled from the token (the worker only writes atomics): each change is reported, and
  // the state at the end once more, so a listener always hears where the call finished.
  let last = '';
  const poll = () => {
    const p = token.progress();
    const key = `${p.phase}:${p.done}:${p.total}`;
    if (p.phase && key !== last) (last = key), onProgress!(p);
  };
  const timer = onProgress ? setInterval(poll, 250) : undefined;
  try {
    const r = await fn(addon, token);
    if (onProgress) poll();
    return r;
  } catch (e) {
    throw mapNativeError(e);
  } finally {
    if (timer) clearInterval(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

export function nativeInfo(): NativeInfo & { addonPath: string } {
  const { addon, path } = loadAddon();
  return { ...addon.info(), addonPath: path };
}

/**
 * Sets the threads every native parallel pass uses from now on, process-wide (`--threads`): an
 * integer >= 1, or 0 to return to what the machine gave this process (nativeInfo().threadBudget).
 * Phase 4's helper thread is used only when this is at least 2. Returns the count now in effect.
 */
export function setThreads(threads: number): number {
  if (!Number.isInteger(threads) || threads < 0 || threads > 4096)
    throw new SaeMatchInputError(`threads must be an integer in [1, 4096] (or 0 for what the machine gives), got ${String(threads)}`);
  return loadAddon().addon.setThreads(threads);
}

/** Counters of the native fork-join passes (tests assert on them; see native/core/parallel.hpp). */
export function parallelCounters(testWorkerDelayUs?: number): ParallelCounters {
  return loadAddon().addon.parallelCounters(testWorkerDelayUs);
}

/**
 * What this process's BLAS keeps bit for bit across GEMM call shapes at inner dimension k, measured
 * once per k (native/core/cost/blas_rules.cpp): the row tile its calls are made of (0: none keeps the
 * entries, so the cost panels compute with the built-in kernel), whether a row keeps its entries only
 * in the slot of its index (mod rowTile: OpenBLAS's Haswell kernels), and whether a subset of the
 * columns keeps them (if not, pricing recomputes rows whole and a pair with more features in a than
 * in b streams the (b, a) matrix).
 */
export interface BlasRules {
  rowTile: number;
  slotted: boolean;
  columnSubsets: boolean;
}
export function blasRules(k: number): BlasRules {
  if (!Number.isInteger(k) || k < 1) throw new SaeMatchInputError(`blasRules: k must be a positive integer, got ${k}`);
  return loadAddon().addon.blasRules(k);
}
