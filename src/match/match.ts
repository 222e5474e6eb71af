// SAE Match itself: for a pair of layers, the permutation minimising the summed squared distance of
// folded parameters (paper eq. 3), solved exactly and proved optimal by its duals; for a suite, every
// adjacent pair, with layer l+1 loaded while pair (l-1, l) is being solved, results written as the
// output contract in outputs.ts says, and finished pairs skipped on a rerun.
import { resolve } from 'node:path';
import { selectBackend, type DeviceChoice, type MatchBackend } from '../solve/backend.js';
import type { CostResult, FeatureMatrix } from '../solve/cost.js';
import { SaeMatchInputError, throwIfAborted } from '../errors.js';
import { allocFloat32, recycleBuffer } from '../io/files.js';
import { layerFeatures, metricParts, type MatchMetric } from '../sae/fold.js';
import {
  costFile, topkFile, fileIdentity, pairIsDone, permFile, prepareOutDir, readManifest, settingsKey, toolVersion,
  writeManifest, writePairFiles, type Manifest, type ManifestLayer, type ManifestPair,
} from './contract.js';
import type { ProgressListener } from '../progress.js';
import { loadSae, type Sae } from '../sae/load.js';
import { topkCandidates, type TopK } from '../solve/topk.js';
import { adjacentPairs, discoverSuite, type DiscoverOptions, type SuiteLayer } from '../sae/discover.js';

export interface MatchOptions {
  metric?: MatchMetric;
  biasWeight?: number;
  /** Default true; false matches unfolded parameters. */
  fold?: boolean;
  device?: DeviceChoice;
  /** A backend of the caller's own (another device, an instrumented one); overrides `device`. */
  backend?: MatchBackend;
  /** > 0: also the k lowest-cost candidates of every feature (many-to-one), from the same cost matrix. */
  topk?: number;
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
  certificate: { ok: boolean; maxViolation: number; tolerance: number };
  /** Seconds per step: features (load+fold, when done here), cost, solve, certificate. */
  timings: Record<string, number>;
  seconds: number;
  topk?: TopK;
}

/** The per-feature costs and their summary, from the cost matrix and the assignment. */
function summarise(C: Float32Array, nTo: number, perm: Int32Array) {
  const costs = new Float32Array(perm.length);
  const assigned: number[] = [];
  let total = 0;
  for (let i = 0; i < perm.length; i++) {
    const j = perm[i]!;
    if (j < 0) {
      costs[i] = NaN;
      continue;
    }
    const c = C[i * nTo + j]!;
    costs[i] = c;
    total += c;
    assigned.push(c);
  }
  assigned.sort((a, b) => a - b);
  const n = assigned.length;
  const median = n === 0 ? NaN : n % 2 ? assigned[(n - 1) / 2]! : (assigned[n / 2 - 1]! + assigned[n / 2]!) / 2;
  return { costs, totalCost: total, meanCost: n ? total / n : NaN, medianCost: median, unassigned: perm.length - n };
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
  } = {},
): Promise<PairResult & { cost: Float32Array }> {
  if (a.dim !== b.dim) throw new SaeMatchInputError(`feature dimensions differ (${a.dim} vs ${b.dim}): d_model differs between the layers`);
  const t0 = performance.now();
  const { cost: metric } = metricParts({ metric: opts.metric });
  const n = a.rows * b.rows;
  const C = opts.precomputed
    ? await opts.precomputed
    : await backend.costMatrix(a, b, metric, opts.costBuffer && opts.costBuffer.length === n ? opts.costBuffer : allocFloat32(n, 'cost matrix'), opts.signal);
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
    timings: { cost: (t1 - t0) / 1000, solve: (t2 - t1) / 1000, certificate: (t3 - t2) / 1000 },
    seconds: (t3 - t0) / 1000, cost: C.data, ...(topk ? { topk } : {}),
  };
}

/** A pair's entry in manifest.json (the files it names are written by writePairFiles). */
export function manifestPair(r: PairResult, from: number, to: number, settings: string, saeFrom: string, saeTo: string): ManifestPair {
  return {
    from, to, n_from: r.nFrom, n_to: r.nTo, perm: permFile(from, to), costs: costFile(from, to),
    total_cost: r.totalCost, mean_cost: r.meanCost, median_cost: r.medianCost, unassigned: r.unassigned,
    device: r.device, seconds: r.seconds, timings: r.timings,
    certificate: { ok: r.certificate.ok, max_violation: r.certificate.maxViolation, tolerance: r.certificate.tolerance },
    settings, sae_from: saeFrom, sae_to: saeTo,
    ...(r.topk ? { topk: { k: r.topk.k, indices: topkFile('idx', from, to), costs: topkFile('cost', from, to) } } : {}),
  };
}

/** Matches two SAEs (paths or loaded SAEs): perm[i] = j means feature i of `a` is feature j of `b`. */
export async function matchPair(a: string | Sae, b: string | Sae, opts: MatchOptions = {}): Promise<PairResult> {
  const t0 = performance.now();
  const { backend } = opts.backend ? { backend: opts.backend } : selectBackend(opts.device);
  const [sa, sb] = await Promise.all([a, b].map((x) => (typeof x === 'string' ? loadSae(x, { signal: opts.signal }) : x)));
  if (sa!.dModel !== sb!.dModel)
    throw new SaeMatchInputError(`d_model differs: ${sa!.source} has ${sa!.dModel}, ${sb!.source} has ${sb!.dModel}`);
  const t1 = performance.now();
  const fo = { metric: opts.metric, biasWeight: opts.biasWeight, fold: opts.fold, signal: opts.signal };
  const [fa, fb] = [await layerFeatures(sa!, fo), await layerFeatures(sb!, fo)];
  const t2 = performance.now();
  const r = await matchFeatures(fa, fb, backend, { metric: opts.metric, topk: opts.topk, signal: opts.signal });
  const { cost: _drop, ...result } = r;
  result.timings = { load: (t1 - t0) / 1000, features: (t2 - t1) / 1000, ...r.timings };
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

export interface SuiteOptions extends MatchOptions, DiscoverOptions {
  /** Output folder (the contract in outputs.ts). Without it results are only returned. */
  out?: string;
  /** Redo every pair even if the output folder already has it with the same settings. */
  force?: boolean;
  onProgress?: ProgressListener;
  /** Called after each pair is finished (computed or skipped). */
  onPair?: (p: ManifestPair, skipped: boolean) => void;
}

export interface SuiteResult {
  manifest: Manifest;
  computed: number;
  skipped: number;
  backend: string;
  backendReason: string;
  seconds: number;
  /** In-memory results of the pairs computed in this run (skipped ones are on disk). */
  results: Map<string, PairResult>;
}

interface LoadedLayer {
  features: FeatureMatrix;
  dModel: number;
  dSae: number;
  seconds: number;
}

/** The files an SAE's identity is made of (for resume). */
function saeFiles(l: SuiteLayer): string[] {
  if (l.format === 'gemmascope') return [l.path];
  if (l.format === 'saelens') return [`${l.path}/sae_weights.safetensors`, `${l.path}/cfg.json`];
  return ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold'].map((n) => `${l.path}/${n}.npy`);
}

/** Matches every adjacent pair of the suite under `root`. */
export async function matchSuite(root: string, opts: SuiteOptions = {}): Promise<SuiteResult> {
  const t0 = performance.now();
  const suite = await discoverSuite(root, opts);
  if (suite.layers.length < 2) throw new SaeMatchInputError(`${suite.root}: need at least two layers to match, found ${suite.layers.length}`);
  const { backend, reason } = opts.backend ? { backend: opts.backend, reason: 'given by the caller' } : selectBackend(opts.device);
  const metric = opts.metric ?? 'enc-dec';
  const parts = metricParts(opts);
  const fo = { metric, biasWeight: parts.biasWeight, fold: parts.fold, signal: opts.signal };
  const out = opts.out ? resolve(opts.out) : undefined;
  if (out) await prepareOutDir(out);
  const previous = out && !opts.force ? await readManifest(out) : undefined;

  const layers: ManifestLayer[] = suite.layers.map((l) => ({
    layer: l.layer, sae: l.rel, format: l.format,
    ...(l.l0 !== undefined ? { l0: l.l0, l0_rule: l.l0Rule } : {}),
  }));
  const manifest: Manifest = {
    tool: 'sae-match', version: toolVersion, source_root: suite.root, metric, bias_weight: parts.biasWeight, fold: parts.fold,
    ...(suite.width ? { width: suite.width } : {}),
    ...(suite.layout === 'gemmascope' ? { l0: typeof opts.l0 === 'object' ? 'map' : String(opts.l0 ?? 'canonical') } : {}),
    layers, pairs: [], updated: '',
  };
  // Pairs of an earlier run that are not part of this one stay listed (their files are still there).
  const pairs = adjacentPairs(suite);
  const inThisRun = new Set(pairs.map(([A, B]) => `${A.layer}_${B.layer}`));
  if (previous && previous.source_root === suite.root)
    manifest.pairs.push(...previous.pairs.filter((p) => !inThisRun.has(`${p.from}_${p.to}`)));

  const keys = await Promise.all(pairs.map(async ([A, B]) => settingsKey({
    metric, biasWeight: parts.biasWeight, fold: parts.fold,
    from: await fileIdentity(saeFiles(A)), to: await fileIdentity(saeFiles(B)),
    ...(opts.topk ? { topk: opts.topk } : {}),
  })));
  const pending: Array<{ A: SuiteLayer; B: SuiteLayer; key: string }> = [];
  let skipped = 0;
  for (let k = 0; k < pairs.length; k++) {
    const [A, B] = pairs[k]!;
    const old = previous?.pairs.find((p) => p.from === A.layer && p.to === B.layer);
    if (out && previous?.source_root === suite.root && (await pairIsDone(out, old, keys[k]!))) {
      manifest.pairs.push(old!);
      skipped++;
      opts.onPair?.(old!, true);
    } else {
      pending.push({ A, B, key: keys[k]! });
    }
  }
  const total = pairs.length;
  opts.onProgress?.({ done: skipped, total, what: skipped ? `${skipped} pairs already done` : 'starting' });

  // Features per layer, loaded at most once and shared by the two pairs a layer belongs to.
  const cache = new Map<number, Promise<LoadedLayer>>();
  let dModel: { value: number; layer: number } | undefined;
  const load = (l: SuiteLayer): Promise<LoadedLayer> => {
    let p = cache.get(l.layer);
    if (!p) {
      p = (async () => {
        const s = performance.now();
        const sae = await loadSae(l.path, { signal: opts.signal });
        if (dModel && dModel.value !== sae.dModel)
          throw new SaeMatchInputError(`${sae.source}: d_model is ${sae.dModel} but layer ${dModel.layer} has ${dModel.value}; all layers of a suite must share d_model`);
        dModel ??= { value: sae.dModel, layer: l.layer };
        const features = await layerFeatures(sae, fo);
        // The raw tensors are not needed once the features exist; the next layer is read into them.
        for (const t of [sae.W_enc, sae.W_dec]) recycleBuffer(t.buffer as ArrayBuffer);
        return { features, dModel: sae.dModel, dSae: sae.dSae, seconds: (performance.now() - s) / 1000 };
      })();
      p.catch(() => undefined); // a prefetch nobody awaits must not become an unhandled rejection
      cache.set(l.layer, p);
    }
    return p;
  };

  const results = new Map<string, PairResult>();
  // Pipelining (backends that compute the matrix on a device): as soon as pair k's matrix is on the
  // host, the device starts pair k+1 (upload of the next layer's features, cost matrix, phases 1-3)
  // while the host solves pair k. Pair k's matrix lives in buffers[slot(k)]: two alternate when
  // pipelined, the CPU backend reuses one.
  const pipelined = backend.pipelined === true;
  const buffers: Array<Float32Array | undefined> = [undefined, undefined];
  const slot = (k: number) => (pipelined ? k % 2 : 0);
  let ahead: { k: number; cost: Promise<CostResult> } | undefined;
  const startAhead = (k: number) => {
    const p = pending[k];
    if (!pipelined || !p) return;
    const cost = (async () => {
      const [x, y] = [await load(p.A), await load(p.B)];
      const n = x.features.rows * y.features.rows;
      const buf = buffers[slot(k)]?.length === n ? buffers[slot(k)]! : allocFloat32(n, 'cost matrix');
      buffers[slot(k)] = buf;
      return backend.costMatrix(x.features, y.features, parts.cost, buf, opts.signal);
    })();
    cost.catch(() => undefined); // awaited by pair k; not an unhandled rejection meanwhile
    ahead = { k, cost };
  };
  try {
    for (let k = 0; k < pending.length; k++) {
      throwIfAborted(opts.signal);
      const { A, B, key } = pending[k]!;
      const done = () => skipped + k;
      opts.onProgress?.({ done: done(), total, what: `load ${A.layer}→${B.layer}` });
      const tWait = performance.now();
      const fa = await load(A);
      const fb = await load(B);
      const waited = (performance.now() - tWait) / 1000;
      // Prefetch: the next pair's new layer loads (reads, folds) while this pair is computed.
      const next = pending[k + 1];
      if (next) {
        load(next.A);
        load(next.B);
      }
      for (const [L, f] of [[A, fa], [B, fb]] as const) {
        const ml = layers.find((x) => x.layer === L.layer)!;
        ml.d_model = f.dModel;
        ml.d_sae = f.dSae;
      }
      opts.onProgress?.({ done: done(), total, what: `match ${A.layer}→${B.layer} (${fa.dSae}×${fb.dSae})` });
      const precomputed = ahead?.k === k ? ahead.cost : undefined;
      const r = await matchFeatures(fa.features, fb.features, backend, {
        metric, costBuffer: buffers[slot(k)], topk: opts.topk, signal: opts.signal, precomputed,
        onCostReady: () => startAhead(k + 1),
      });
      buffers[slot(k)] = r.cost;
      const { cost: _c, ...result } = r;
      result.timings = { wait_for_load: waited, ...r.timings };
      results.set(`${A.layer}_${B.layer}`, result);
      const entry = manifestPair(result, A.layer, B.layer, key, A.rel, B.rel);
      if (out) {
        await writePairFiles(out, A.layer, B.layer, r.perm, r.costs, r.topk);
        manifest.pairs = manifest.pairs.filter((p) => !(p.from === A.layer && p.to === B.layer));
        manifest.pairs.push(entry);
        await writeManifest(out, manifest);
      } else {
        manifest.pairs.push(entry);
      }
      opts.onPair?.(entry, false);
      // A layer no later pair needs is dropped, so at most three layers' features are alive at once.
      const later = new Set(pending.slice(k + 1).flatMap((p) => [p.A.layer, p.B.layer]));
      for (const l of [...cache.keys()]) if (!later.has(l)) cache.delete(l);
    }
  } finally {
    await ahead?.cost.catch(() => undefined); // never return (or throw) with device work in flight
  }
  if (out && pending.length === 0) await writeManifest(out, manifest);
  opts.onProgress?.({ done: total, total, what: 'done' });
  return {
    manifest, computed: pending.length, skipped, backend: backend.description, backendReason: reason,
    seconds: (performance.now() - t0) / 1000, results,
  };
}
