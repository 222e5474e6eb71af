// SAE Match for a whole suite: every adjacent pair, with layer l+1 loaded while pair (l-1, l) is
// being solved, results written to the output folder (folder.ts) and finished pairs skipped on a
// rerun (resume.ts).
import { dirname, join, resolve } from 'node:path';
import { selectBackend } from '../solve/backend.js';
import type { CostResult, FeatureMatrix } from '../solve/cost.js';
import { SaeMatchInputError, throwIfAborted } from '../errors.js';
import { recycleBuffer, trimPool } from '../io/buffers.js';
import { layerFeatures, metricParts } from '../sae/fold.js';
import { toolVersion, type Manifest, type ManifestHeader, type ManifestLayer, type ManifestPair } from './contract.js';
import { assembleManifest, claimOutDir, finishedPairs, writePairResult } from './folder.js';
import { costBuffer, matchFeatures, manifestPair, type MatchOptions, type PairResult } from './pair.js';
import { pairIsDone, pairSettingsKey, resumeSettings, saeIdentity } from './resume.js';
import type { ProgressListener } from '../progress.js';
import { describeSae, loadSae } from '../sae/load.js';
import { startHeartbeat } from './heartbeat.js';
import { pairCost, shardItems, type Shard, type ShardItem } from './shard.js';
import { adjacentPairs, discoverSuite, widthFeatures, type DiscoverOptions, type Suite, type SuiteLayer } from '../sae/discover.js';

export interface SuiteOptions extends MatchOptions, DiscoverOptions {
  /** Output folder (the contract in contract.ts). Without it results are only returned. */
  out?: string;
  /** Redo every pair even if the output folder already has it with the same settings. */
  force?: boolean;
  onProgress?: ProgressListener;
  /** Called after each pair is finished (computed or skipped). */
  onPair?: (p: ManifestPair, skipped: boolean) => void;
  /** Only this shard's pairs (match/shard.ts): N processes with the same options do every pair once. */
  shard?: Shard;
  /** Only the pairs this accepts (a plan's shard hands each suite its pairs). */
  select?: (from: number, to: number) => boolean;
}

export interface SuiteResult {
  manifest: Manifest;
  /** The pairs this run was given (a shard's share), as from_to. */
  assigned: string[];
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

/** Matches every adjacent pair of the suite under `root`. */
export async function matchSuite(root: string, opts: SuiteOptions = {}): Promise<SuiteResult> {
  const t0 = performance.now();
  const suite = await discoverSuite(root, opts);
  if (suite.layers.length < 2) throw new SaeMatchInputError(`${suite.root}: need at least two layers to match, found ${suite.layers.length}`);
  const { backend, reason } = opts.backend ? { backend: opts.backend, reason: 'given by the caller' } : selectBackend(opts.device, opts.engine);
  const metric = opts.metric ?? 'enc-dec';
  const parts = metricParts(opts);
  const fo = { metric, biasWeight: parts.biasWeight, fold: parts.fold, signal: opts.signal };
  const out = opts.out ? resolve(opts.out) : undefined;
  // Pairs matched from another snapshot of the same Hub cache count too: their settings keys hold the
  // blobs' content hashes, so a pair is redone only where a file's bytes changed.
  const snapshots = suite.hub ? join(suite.hub.repo, 'snapshots') : undefined;
  const sameSource = (r: string) => r === suite.root || (snapshots !== undefined && dirname(r) === snapshots);

  const layers: ManifestLayer[] = suite.layers.map((l) => ({
    layer: l.layer, sae: l.rel, format: l.format,
    ...(l.l0 !== undefined ? { l0: l.l0 } : {}), ...(l.l0Rule !== undefined ? { l0_rule: l.l0Rule } : {}),
    ...(l.l0Label !== undefined ? { l0_label: l.l0Label } : {}), ...(l.site !== undefined ? { site: l.site } : {}),
  }));
  const header: ManifestHeader = {
    tool: 'sae-match', version: toolVersion, source_root: suite.root, metric, bias_weight: parts.biasWeight, fold: parts.fold,
    ...(suite.width ? { width: suite.width } : {}),
    ...(suite.layout === 'gemmascope' || suite.layout === 'gemmascope2' ? { l0: typeof opts.l0 === 'object' ? 'map' : String(opts.l0 ?? 'canonical') } : {}),
    layers,
  };
  if (out) await claimOutDir(out, header, { force: opts.force, sameSource });
  const previous = out && !opts.force ? await finishedPairs(out, sameSource) : [];
  const all = adjacentPairs(suite);
  const mine = opts.shard ? new Set(shardItems(await suitePairCosts(suite, ''), opts.shard).map((x) => x.id)) : undefined;
  const pairs = all.filter(([A, B]) => (!mine || mine.has(pairId('', A.layer, B.layer))) && (opts.select?.(A.layer, B.layer) ?? true));
  const settings = resumeSettings(metric, parts, opts);
  // Each layer's files are identified once, though most layers belong to two pairs.
  const identity = new Map(await Promise.all(suite.layers.map(async (l) => [l.layer, await saeIdentity(l.format, l.path)] as const)));
  const keyOfPair = ([A, B]: [SuiteLayer, SuiteLayer]) => pairSettingsKey(settings, identity.get(A.layer)!, identity.get(B.layer)!);
  const keys = pairs.map(keyOfPair);
  // The manifest lists the suite's pairs once they are done with this run's settings (whichever shard
  // did them); pairs of an earlier run that are not part of this suite stay listed (their files are
  // still there), unless --force.
  const keyOf = new Map(all.map((p) => [`${p[0].layer}_${p[1].layer}`, keyOfPair(p)]));
  const listed = (p: ManifestPair) => {
    const key = keyOf.get(`${p.from}_${p.to}`);
    return key === undefined ? !opts.force : p.settings === key;
  };
  let manifest: Manifest = { ...header, pairs: [], updated: '' };
  const pending: Array<{ A: SuiteLayer; B: SuiteLayer; key: string }> = [];
  let skipped = 0;
  for (let k = 0; k < pairs.length; k++) {
    const [A, B] = pairs[k]!;
    const old = previous.find((p) => p.from === A.layer && p.to === B.layer);
    if (out && (await pairIsDone(out, old, keys[k]!, opts))) {
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
  let dModel: { value: number; dOut: number; layer: number } | undefined;
  const load = (l: SuiteLayer): Promise<LoadedLayer> => {
    let p = cache.get(l.layer);
    if (!p) {
      p = (async () => {
        const s = performance.now();
        const sae = await loadSae(l.path, { signal: opts.signal });
        if (dModel && dModel.value !== sae.dModel)
          throw new SaeMatchInputError(`${sae.source}: d_model is ${sae.dModel} but layer ${dModel.layer} has ${dModel.value}; all layers of a suite must share d_model`);
        if (dModel && dModel.dOut !== sae.dOut)
          throw new SaeMatchInputError(`${sae.source}: its decoder writes ${sae.dOut} but layer ${dModel.layer}'s writes ${dModel.dOut}; all layers of a suite must share d_out`);
        dModel ??= { value: sae.dModel, dOut: sae.dOut, layer: l.layer };
        const features = await layerFeatures(sae, fo);
        // The raw tensors are not needed once the features exist; the next layer is read into them.
        for (const t of [sae.W_enc, sae.W_dec]) recycleBuffer(t.buffer as ArrayBuffer);
        trimPool(sae.W_enc.byteLength + sae.W_dec.byteLength);  // what the next layer's read can reuse
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
  const pipelined = backend.pipelined === true && opts.method !== 'sparse';
  const buffers: Array<Float32Array | undefined> = [undefined, undefined];
  const slot = (k: number) => (pipelined ? k % 2 : 0);
  let ahead: { k: number; cost: Promise<CostResult> } | undefined;
  const startAhead = (k: number) => {
    const p = pending[k];
    if (!pipelined || !p) return;
    const cost = (async () => {
      const [x, y] = [await load(p.A), await load(p.B)];
      const n = x.features.rows * y.features.rows;
      const buf = buffers[slot(k)]?.length === n ? buffers[slot(k)]! : costBuffer(x.features.rows, y.features.rows);
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
      } else {
        trimPool(0);  // every layer is read: nothing will reuse the pool
      }
      for (const [L, f] of [[A, fa], [B, fb]] as const) {
        const ml = layers.find((x) => x.layer === L.layer)!;
        ml.d_model = f.dModel;
        ml.d_sae = f.dSae;
      }
      opts.onProgress?.({ done: done(), total, what: `match ${A.layer}→${B.layer} (${fa.dSae}×${fb.dSae})` });
      const precomputed = ahead?.k === k ? ahead.cost : undefined;
      const stopBeat = out ? await startHeartbeat(out, A.layer, B.layer, opts.shard ? `${opts.shard.index}/${opts.shard.count}` : undefined) : undefined;
      let r;
      try {
        r = await matchFeatures(fa.features, fb.features, backend, {
          metric, costBuffer: buffers[slot(k)], topk: opts.topk, signal: opts.signal, precomputed,
          onCostReady: () => startAhead(k + 1), method: opts.method, candidates: opts.candidates, engine: opts.engine,
          onStep: (what) => opts.onProgress?.({ done: done(), total, what: `match ${A.layer}→${B.layer}: ${what}` }),
        });
      } finally {
        await stopBeat?.();
      }
      buffers[slot(k)] = r.cost;
      const { cost: _c, ...result } = r;
      if (!opts.duals) delete result.duals;
      result.timings = { wait_for_load: waited, ...r.timings };
      results.set(`${A.layer}_${B.layer}`, result);
      const entry = manifestPair(result, A.layer, B.layer, key, A.rel, B.rel);
      if (out) {
        await writePairResult(out, suite.root, entry, r);
        manifest = await assembleManifest(out, header, { keep: listed, sources: sameSource });
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
  if (out && pending.length === 0) manifest = await assembleManifest(out, header, { keep: listed, sources: sameSource });
  opts.onProgress?.({ done: total, total, what: 'done' });
  return {
    manifest, assigned: pairs.map(([A, B]) => `${A.layer}_${B.layer}`), computed: pending.length, skipped, backend: backend.description, backendReason: reason,
    seconds: (performance.now() - t0) / 1000, results,
  };
}

/** A pair's id across a plan: the suite's name (empty for a lone suite) and its layers. */
export const pairId = (suite: string, from: number, to: number) => `${suite}:${from}_${to}`;


/**
 * The suite's adjacent pairs with their estimated costs, from each SAE's config and header (no
 * weights read): what shards balance. A size no header says falls back to the width label, then 1.
 */
export async function suitePairCosts(suite: Suite, name: string): Promise<Array<ShardItem & { from: number; to: number }>> {
  const sizes = new Map(await Promise.all(suite.layers.map(async (l) => {
    const d = await describeSae(l.path).catch(() => undefined);
    return [l.layer, { n: d?.dSae ?? widthFeatures(l.width ?? suite.width) ?? 1, d: d?.dIn ?? 1 }] as const;
  })));
  return adjacentPairs(suite).map(([A, B]) => {
    const a = sizes.get(A.layer)!, b = sizes.get(B.layer)!;
    return { id: pairId(name, A.layer, B.layer), from: A.layer, to: B.layer, cost: pairCost(a.n, b.n, 2 * Math.max(a.d, b.d)) };
  });
}
