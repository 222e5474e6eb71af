// The one place that decides which native binary runs (build/Release from `npm install`, else a
// prebuild in prebuilds/<platform>-<arch>/) and that turns native rejections into this package's
// error classes. Everything heavy goes through here as a Promise resolved by a native AsyncWorker.
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
  threads: number;
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

interface CancelToken {
  cancel(): void;
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

interface NativeAddon {
  CancelToken: new () => CancelToken;
  parallelInit(cost: Float32Array, n: number, rounds: number, token: CancelToken): Promise<NativeWarmStart>;
  cudaInitMatrix(cost: Float32Array, n: number, rounds: number, device: number, token: CancelToken): Promise<NativeCudaPair>;
  cudaMatchPair(a: Float32Array, nA: number, b: Float32Array, nB: number, k: number, metric: string, rounds: number,
    device: number, out: Float32Array, token: CancelToken): Promise<NativeCudaPair>;
  solveAssignment(cost: Float32Array | Float64Array, nRows: number, nCols: number, maximize: boolean,
    token: CancelToken, parallelRounds?: number,
    warmStart?: { rowToCol: Int32Array; colToRow: Int32Array; v: Float64Array }): Promise<NativeSolveResult>;
  checkCertificate(cost: Float32Array | Float64Array, nRows: number, nCols: number, maximize: boolean,
    rowToCol: Int32Array, u: Float64Array, v: Float64Array, tol: number, token: CancelToken): Promise<NativeCertificate>;
  costMatrix(a: Float32Array, nA: number, b: Float32Array, nB: number, k: number, metric: string,
    kernel: string, threads: number, out: Float32Array, token: CancelToken): Promise<{ kernel: string; threads: number; seconds: number }>;
  info(): NativeInfo;
  readRange(path: string, offset: number, length: number, dst: Uint8Array, threads: number, crc: boolean,
    token: CancelToken): Promise<{ bytesRead: number; crc32: number; seconds: number }>;
  scanValues(x: Float32Array, threads: number, token: CancelToken): Promise<ValueScan>;
  buildFeatures(W_enc: Float32Array, W_dec: Float32Array, b_enc: Float32Array, threshold: Float32Array | null,
    dModel: number, dSae: number, dec: boolean, enc: boolean, biasWeight: number, fold: boolean,
    out: Float32Array, threads: number, token: CancelToken): Promise<{ dim: number }>;
  foldThreshold(W_enc: Float32Array, W_dec: Float32Array, b_enc: Float32Array, threshold: Float32Array,
    dModel: number, dSae: number, outWenc: Float32Array, outWdec: Float32Array, outBenc: Float32Array,
    threads: number, token: CancelToken): Promise<void>;
  halfToFloat(src: Uint16Array, bfloat16: boolean, out: Float32Array, threads: number, token: CancelToken): Promise<void>;
  topkRows(cost: Float32Array, nRows: number, nCols: number, k: number, idx: Int32Array, out: Float32Array,
    threads: number, token: CancelToken): Promise<void>;
  evaluateSae(args: EvalEncodeArgs, token: CancelToken): Promise<SparseCodes>;
  evaluateSae(args: EvalPairArgs, token: CancelToken): Promise<NativePairEval>;
  allocLarge(bytes: number): ArrayBuffer;
  crc32(bytes: Uint8Array, crc: number): number;
  crc32Combine(crcA: number, crcB: number, lengthB: number): number;
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
): Promise<T> {
  throwIfAborted(signal);
  const { addon } = loadAddon();
  const token = new addon.CancelToken();
  const onAbort = () => token.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn(addon, token);
  } catch (e) {
    throw mapNativeError(e);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export function nativeInfo(): NativeInfo & { addonPath: string } {
  const { addon, path } = loadAddon();
  return { ...addon.info(), addonPath: path };
}
