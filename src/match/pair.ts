// SAE Match for one pair of layers: the permutation minimising the summed squared distance of
// folded parameters (paper eq. 3), solved exactly and proved optimal by its duals. matchFeatures is
// the step a suite repeats (cost matrix, assignment, certificate, summary); matchPair loads and folds
// two SAEs first; matchPairToFolder also writes the result as an output folder, resuming.
import { resolve } from 'node:path';
import { selectBackend, type DeviceChoice, type MatchBackend } from '../solve/backend.js';
import type { EngineOptions } from '../solve/engine.js';
import type { SparsePricing } from '../binding/addon.js';
import type { CostResult, FeatureMatrix } from '../solve/cost.js';
import { SaeMatchInputError } from '../errors.js';
import { allocFloat32, releaseBuffer } from '../io/buffers.js';
import { ensureMemory } from '../io/memory.js';
import { layerFeatures, metricParts, type MatchMetric } from '../sae/fold.js';
import { costFile, dualFile, pairName, permFile, toolVersion, topkFile, type ManifestPair } from './contract.js';
import { assembleManifest, claimOutDir, finishedPairs, writePairResult } from './folder.js';
import { pairIsDone, pairKey, resumeSettings } from './resume.js';
import type { ProgressListener } from '../progress.js';
import { detectSaeFormat, loadSae, type Sae } from '../sae/load.js';
import { topkCandidates, type TopK } from '../solve/topk.js';
import { decideMethod, type MethodChoice } from '../solve/method.js';
import { DEFAULT_CANDIDATES, sparseAssignment } from '../solve/sparse.js';

export interface MatchOptions {
  metric?: MatchMetric;
  biasWeight?: number;
  /** Default true; false matches unfolded parameters. */
  fold?: boolean;
  device?: DeviceChoice;
  /** How the engine computes (threads, kernels; src/solve/engine.ts), for the backend `device` selects. */
  engine?: EngineOptions;
  /** A backend of the caller's own (another device, an instrumented one); overrides `device`. */
  backend?: MatchBackend;
  /** > 0: also the k lowest-cost candidates of every feature (many-to-one), from the same cost matrix. */
  topk?: number;
  /** 'auto' (default): dense while the matrix fits and is small enough to be the faster (solve/method.ts). */
  method?: MethodChoice;
  /** The sparse method's candidates per column, twice as many per row (default solve/sparse.ts DEFAULT_CANDIDATES). */
  candidates?: number;
  /** Where a long pair is, in words (the sparse method's stream, solve and pricing rounds). */
  onStep?: (what: string) => void;
  /** Keep the duals (u, v) in the result, and write them (u_{l}_{m}.npy, v_{l}_{m}.npy) into an output folder. */
  duals?: boolean;
  signal?: AbortSignal;
}

export interface PairResult {
  nFrom: number;
  nTo: number;
  /** perm[i] = j: feature i of the first SAE <-> feature j of the second; -1 if unassigned. */
  perm: Int32Array;
  /** costs[i] = C[i, perm[i]] (NaN where unassigned). */
  costs: Float32Array;
  totalCost: number;
  meanCost: number;
  medianCost: number;
  unassigned: number;
  device: string;
  certificate: { ok: boolean; maxViolation: number; tolerance: number; pricing?: SparsePricing };
  /** 'dense' or 'sparse', with the candidates per row and column of the sparse method and why it was chosen. */
  method: 'dense' | 'sparse';
  candidates?: number;
  methodReason?: string;
  /** The duals (u over the first SAE's features, v over the second's): with them anyone can re-verify optimality. */
  duals?: { u: Float64Array; v: Float64Array };
  /** Seconds per step: features (load+fold, when done here), cost, solve, certificate. */
  timings: Record<string, number>;
  seconds: number;
  topk?: TopK;
}

/** The per-feature costs and their summary, from the cost matrix and the assignment. */
function summarise(C: Float32Array, nTo: number, perm: Int32Array) {
  const costs = new Float32Array(perm.length);
  for (let i = 0; i < perm.length; i++) costs[i] = perm[i]! < 0 ? NaN : C[i * nTo + perm[i]!]!;
  return summariseCosts(costs, perm);
}

/** The summary of per-feature costs (NaN where unassigned). */
function summariseCosts(costs: Float32Array, perm: Int32Array) {
  const assigned: number[] = [];
  let total = 0;
  for (let i = 0; i < perm.length; i++) {
    if (perm[i]! < 0) continue;
    total += costs[i]!;
    assigned.push(costs[i]!);
  }
  assigned.sort((a, b) => a - b);
  const n = assigned.length;
  const median = n === 0 ? NaN : n % 2 ? assigned[(n - 1) / 2]! : (assigned[n / 2 - 1]! + assigned[n / 2]!) / 2;
  return { costs, totalCost: total, meanCost: n ? total / n : NaN, medianCost: median, unassigned: perm.length - n };
}

/**
 * A fresh buffer for the dense cost matrix of an nFrom × nTo pair, refused up front (exit 2, with the
 * sizes) when the process cannot get that much memory.
 */
export function costBuffer(nFrom: number, nTo: number): Float32Array {
  ensureMemory(4 * nFrom * nTo, `the dense float32 cost matrix of a ${nFrom} × ${nTo} pair`,
    'the whole matrix is held in host memory (with a GPU too), so match this pair on a machine with more memory, or a smaller width');
  return allocFloat32(nFrom * nTo, 'cost matrix');
}

/** Cost matrix, exact assignment and its certificate for two layers' feature vectors. */
export async function matchFeatures(
  a: FeatureMatrix, b: FeatureMatrix, backend: MatchBackend,
  opts: {
    metric?: MatchMetric; costBuffer?: Float32Array; topk?: number; signal?: AbortSignal;
    /** The cost matrix, already being computed (a pipelined suite starts it during the previous pair). */
    precomputed?: Promise<CostResult>;
    /** Called once the cost matrix is ready, before the solve (a pipelined suite starts the next pair's device work here). */
    onCostReady?: () => void;
    method?: MethodChoice;
    candidates?: number;
    engine?: EngineOptions;
    onStep?: (what: string) => void;
  } = {},
): Promise<PairResult & { cost?: Float32Array }> {
  if (a.dim !== b.dim) throw new SaeMatchInputError(`feature dimensions differ (${a.dim} vs ${b.dim}): d_model differs between the layers`);
  const t0 = performance.now();
  const { cost: metric } = metricParts({ metric: opts.metric });
  const decision = opts.precomputed ? { method: 'dense' as const, candidates: 0, reason: 'pipelined' } : decideMethod(a.rows, b.rows, opts.method, Math.max(opts.candidates ?? DEFAULT_CANDIDATES, opts.topk ?? 0));
  if (decision.method === 'sparse') {
    // The sparse method runs on the host (native/core/sparse/); the device backends do not have it yet.
    const sp = await sparseAssignment(a, b, { metric, candidates: decision.candidates, lists: Boolean(opts.topk), engine: opts.engine, signal: opts.signal, onStep: opts.onStep });
    const t1 = performance.now();
    const k = opts.topk ? Math.min(opts.topk, sp.kRow) : 0;
    let topk: TopK | undefined;
    if (k) {
      const indices = new Int32Array(a.rows * k), costs = new Float32Array(a.rows * k);
      for (let i = 0; i < a.rows; i++) {
        indices.set(sp.topkIndices.subarray(i * sp.kRow, i * sp.kRow + k), i * k);
        costs.set(sp.topkCosts.subarray(i * sp.kRow, i * sp.kRow + k), i * k);
      }
      topk = { k, indices, costs };
    }
    const p = sp.pricing;
    return {
      nFrom: a.rows, nTo: b.rows, perm: sp.rowToCol, ...summariseCosts(sp.costs, sp.rowToCol),
      device: `cpu sparse (${sp.kernel}, k = ${sp.candidates})`,
      certificate: { ok: p.ok, maxViolation: p.maxViolation, tolerance: p.tolerance, pricing: p },
      method: 'sparse', candidates: sp.candidates, methodReason: decision.reason, duals: { u: sp.u, v: sp.v },
      timings: { cost: sp.seconds.stream, solve: sp.seconds.solve, certificate: sp.seconds.pricing },
      seconds: (t1 - t0) / 1000, ...(topk ? { topk } : {}),
    };
  }
  const n = a.rows * b.rows;
  const C = opts.precomputed
    ? await opts.precomputed
    : await backend.costMatrix(a, b, metric, opts.costBuffer && opts.costBuffer.length === n ? opts.costBuffer : costBuffer(a.rows, b.rows), opts.signal);
  if (C.nRows !== a.rows || C.nCols !== b.rows) throw new Error(`internal: a precomputed cost matrix of ${C.nRows}×${C.nCols} for a ${a.rows}×${b.rows} pair`);
  opts.onCostReady?.();
  const t1 = performance.now();
  const m = { data: C.data, nRows: a.rows, nCols: b.rows };
  const sol = await backend.solveAssignment(m, opts.signal);
  const t2 = performance.now();
  const cert = await backend.checkCertificate(m, sol, opts.signal);
  const t3 = performance.now();
  const topk = opts.topk ? await topkCandidates({ data: C.data, nRows: a.rows, nCols: b.rows }, Math.min(opts.topk, b.rows), opts.signal) : undefined;
  if (!cert.ok) throw new Error(`internal: the assignment failed its optimality certificate (${cert.message})`);
  const s = summarise(C.data, b.rows, sol.rowToCol);
  return {
    nFrom: a.rows, nTo: b.rows, perm: sol.rowToCol, ...s, device: backend.description,
    certificate: { ok: cert.ok, maxViolation: cert.maxViolation, tolerance: cert.tolerance },
    method: 'dense', methodReason: decision.reason, duals: { u: sol.u, v: sol.v },
    timings: { cost: (t1 - t0) / 1000, solve: (t2 - t1) / 1000, certificate: (t3 - t2) / 1000 },
    seconds: (t3 - t0) / 1000, cost: C.data, ...(topk ? { topk } : {}),
  };
}

function pricingRecord(p: SparsePricing) {
  return {
    pairs: p.pairs, in_graph: p.inGraph, proven_by_row_bound: p.provenByRowBound, proven_by_column_bound: p.provenByColumnBound,
    evaluated: p.evaluated, pricing_rounds: p.rounds, violations_added: p.violationsAdded, rows_completed: p.rowsCompleted,
  };
}

/** A pair's entry in manifest.json (the files it names are written by writePairFiles). */
export function manifestPair(r: PairResult, from: number, to: number, settings: string, saeFrom: string, saeTo: string,
  labels?: readonly [string, string]): ManifestPair {
  const [f, t] = labels ?? [from, to];
  return {
    from, to, ...(labels ? { from_label: labels[0], to_label: labels[1] } : {}),
    n_from: r.nFrom, n_to: r.nTo, perm: permFile(f, t), costs: costFile(f, t),
    total_cost: r.totalCost, mean_cost: r.meanCost, median_cost: r.medianCost, unassigned: r.unassigned,
    device: r.device, seconds: r.seconds, timings: r.timings,
    certificate: {
      ok: r.certificate.ok, max_violation: r.certificate.maxViolation, tolerance: r.certificate.tolerance,
      ...(r.certificate.pricing ? pricingRecord(r.certificate.pricing) : {}),
    },
    ...(r.method === 'sparse' ? { method: 'sparse' as const, candidates: r.candidates } : { method: 'dense' as const }),
    ...(r.methodReason ? { method_reason: r.methodReason } : {}),
    settings, sae_from: saeFrom, sae_to: saeTo,
    ...(r.topk ? { topk: { k: r.topk.k, indices: topkFile('idx', f, t), costs: topkFile('cost', f, t) } } : {}),
    ...(r.duals ? { duals: { u: dualFile('u', f, t), v: dualFile('v', f, t) } } : {}),
  };
}

/** Matches two SAEs (paths or loaded SAEs): perm[i] = j means feature i of `a` is feature j of `b`. */
export async function matchPair(a: string | Sae, b: string | Sae, opts: MatchOptions = {}): Promise<PairResult> {
  const t0 = performance.now();
  const { backend } = opts.backend ? { backend: opts.backend } : selectBackend(opts.device, opts.engine);
  // One SAE at a time: loaded, folded into its feature vectors, and (when this call loaded it) its
  // tensors given back before the next is read, so at most one SAE's raw tensors are held beside the
  // features (2.4 of the 4.6 GiB a 65k pair at d_model 2304 peaked at when both were).
  const fo = { metric: opts.metric, biasWeight: opts.biasWeight, fold: opts.fold, signal: opts.signal };
  let tLoad = 0, tFold = 0;
  const side = async (x: string | Sae) => {
    const s0 = performance.now();
    const sae = typeof x === 'string' ? await loadSae(x, { signal: opts.signal }) : x;
    const s1 = performance.now();
    const f = await layerFeatures(sae, fo);
    tLoad += s1 - s0;
    tFold += performance.now() - s1;
    if (typeof x === 'string') for (const t of [sae.W_enc, sae.W_dec, sae.b_enc, sae.b_dec, sae.threshold]) if (t) releaseBuffer(t.buffer as ArrayBuffer);
    return { f, dModel: sae.dModel, dOut: sae.dOut, kind: sae.kind, source: sae.source };
  };
  const A = await side(a);
  const B = await side(b);
  if (A.dModel !== B.dModel) throw new SaeMatchInputError(`d_model differs: ${A.source} has ${A.dModel}, ${B.source} has ${B.dModel}`);
  if (A.dOut !== B.dOut)
    throw new SaeMatchInputError(`the decoders write different widths: ${A.source} (${A.kind}) writes ${A.dOut}, ${B.source} (${B.kind}) writes ${B.dOut}; match SAEs with SAEs and transcoders of one output site with each other`);
  const [fa, fb] = [A.f, B.f];
  const t1 = t0 + tLoad;
  const t2 = t1 + tFold;
  const r = await matchFeatures(fa, fb, backend, { metric: opts.metric, topk: opts.topk, signal: opts.signal, method: opts.method, candidates: opts.candidates, engine: opts.engine, onStep: opts.onStep });
  const { cost: _drop, ...result } = r;
  if (!opts.duals) delete result.duals;
  result.timings = { load: (t1 - t0) / 1000, features: (t2 - t1) / 1000, ...r.timings };
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

export interface PairToFolderOptions extends MatchOptions {
  out: string;
  /** The layer numbers the pair is recorded under (default 0 and 1). */
  from?: number;
  to?: number;
  /** The sides' names when the layers do not name the pair (two SAEs of one layer): files perm_{a}_{b}.npy. */
  labels?: readonly [string, string];
  /** Redo the pair even if the folder already has it with the same settings and files. */
  force?: boolean;
  onProgress?: ProgressListener;
}

/**
 * Matches the SAEs at paths `a` and `b` into the output folder `opts.out` (perm, costs, record,
 * manifest), unless the folder already holds this pair for the same settings and the same files.
 */
export async function matchPairToFolder(a: string, b: string, opts: PairToFolderOptions): Promise<{ out: string; entry: ManifestPair; skipped: boolean }> {
  const out = resolve(opts.out);
  const { from = 0, to = 1 } = opts;
  const [fa, fb] = await Promise.all([detectSaeFormat(resolve(a)), detectSaeFormat(resolve(b))]);
  const parts = metricParts(opts);
  const metric = opts.metric ?? 'enc-dec';
  const header = {
    tool: 'sae-match' as const, version: toolVersion, source_root: '', metric, bias_weight: parts.biasWeight, fold: parts.fold,
    layers: [{ layer: from, sae: fa.file, format: fa.format }, { layer: to, sae: fb.file, format: fb.format }],
  };
  await claimOutDir(out, header, { force: opts.force });
  const key = await pairKey(resumeSettings(metric, parts, opts),
    { format: fa.format, path: fa.file }, { format: fb.format, path: fb.file });
  const name = pairName({ from, to, from_label: opts.labels?.[0], to_label: opts.labels?.[1] });
  const old = opts.force ? undefined : (await finishedPairs(out, '')).find((p) => pairName(p) === name);
  let entry: ManifestPair;
  let skipped = false;
  if (old && (await pairIsDone(out, old, key, opts))) {
    entry = old;
    skipped = true;
  } else {
    opts.onProgress?.({ done: 0, total: 1, what: 'load, fold, cost, solve' });
    const r = await matchPair(a, b, { ...opts, onStep: (what) => opts.onProgress?.({ done: 0, total: 1, what }) });
    entry = manifestPair(r, from, to, key, fa.file, fb.file, opts.labels);
    await writePairResult(out, '', entry, r);
    opts.onProgress?.({ done: 1, total: 1, what: 'done' });
  }
  // A pair folder's manifest lists this pair alone, as `pair` has always written it.
  await assembleManifest(out, header, { keep: (p) => pairName(p) === name });
  return { out, entry, skipped };
}
