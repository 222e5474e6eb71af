// What researchers read from a suite's matches (paper §4 and Appendix B), computed from an output
// folder as match/folder.ts reads it: which matches count as "unmatched" (cost above an absolute
// value or a per-pair quantile q, or unassigned), long-range matches by composing permutations,
// a feature's trajectory through the layers, and how many consecutive layers each feature persists.
import { SaeMatchInputError } from '../errors.js';
import type { Manifest } from '../match/contract.js';
import { writeManifest, type PairMatches, type SuiteOutput } from '../match/folder.js';

/** A match counts as unmatched when its cost is above maxCost, or above the pair's q-quantile of costs. */
export interface UnmatchedRule {
  maxCost?: number;
  /** In (0, 1]; q = 1 is plain SAE Match (nothing is cut but unassigned features). */
  quantile?: number;
}

/**
 * The finite costs in ascending order, sorted once per array: the quantile rule is asked for by every
 * mask, every trace step and every hybrid level of the same pair.
 */
const sortedCache = new WeakMap<Float32Array, Float64Array>();
function sortedFinite(costs: Float32Array): Float64Array {
  let xs = sortedCache.get(costs);
  if (!xs) {
    xs = Float64Array.from(Array.from(costs).filter(Number.isFinite)).sort();
    sortedCache.set(costs, xs);
  }
  return xs;
}

/** The q-quantile of the finite costs (linear interpolation between order statistics, as numpy's default). */
export function costQuantile(costs: Float32Array, q: number): number {
  const xs = sortedFinite(costs);
  if (xs.length === 0) return NaN;
  const pos = q * (xs.length - 1), lo = Math.floor(pos), hi = Math.ceil(pos);
  return xs[lo]! + (pos - lo) * (xs[hi]! - xs[lo]!);
}

function checkRule(rule: UnmatchedRule): void {
  if (rule.quantile !== undefined && !(rule.quantile > 0 && rule.quantile <= 1))
    throw new SaeMatchInputError(`quantile must be in (0, 1], got ${rule.quantile}`);
  if (rule.maxCost !== undefined && !(rule.maxCost >= 0)) throw new SaeMatchInputError(`max cost must be >= 0, got ${rule.maxCost}`);
}

/** The cost above which a match of this pair is unmatched (Infinity: only unassigned features are). */
export function unmatchedThreshold(p: PairMatches, rule: UnmatchedRule): number {
  checkRule(rule);
  let t = Infinity;
  if (rule.maxCost !== undefined) t = rule.maxCost;
  if (rule.quantile !== undefined && rule.quantile < 1) t = Math.min(t, costQuantile(p.costs, rule.quantile));
  return t;
}

/** 1 where feature i of the pair's first layer has no match under the rule. */
export function unmatchedMask(p: PairMatches, rule: UnmatchedRule): Uint8Array {
  const t = unmatchedThreshold(p, rule);
  const m = new Uint8Array(p.perm.length);
  for (let i = 0; i < m.length; i++) m[i] = p.perm[i]! < 0 || !(p.costs[i]! <= t) ? 1 : 0;
  return m;
}

export interface PairSummary {
  from: number;
  to: number;
  n_from: number;
  n_to: number;
  threshold: number;
  matched: number;
  unmatched: number;
  unassigned: number;
}

export function pairSummaries(o: SuiteOutput, rule: UnmatchedRule): PairSummary[] {
  return o.pairs.map((p) => {
    const m = unmatchedMask(p, rule);
    const unmatched = m.reduce((a, b) => a + b, 0);
    const unassigned = p.perm.reduce((a, j) => a + (j < 0 ? 1 : 0), 0);
    return { from: p.from, to: p.to, n_from: p.entry.n_from, n_to: p.entry.n_to, threshold: unmatchedThreshold(p, rule), matched: p.perm.length - unmatched, unmatched, unassigned };
  });
}

/** The pairs leading from layer `from` to layer `to`, following the manifest's chain. */
function chain(o: SuiteOutput, from: number, to: number): PairMatches[] {
  const steps: PairMatches[] = [];
  for (let l = from; l !== to; ) {
    const p = o.pairs.find((x) => x.from === l);
    if (!p || p.to > to) {
      const have = o.pairs.map((x) => `${x.from}→${x.to}`).join(', ');
      throw new SaeMatchInputError(`${o.out}: no chain of matched pairs from layer ${from} to ${to} (pairs: ${have || 'none'})`);
    }
    steps.push(p);
    l = p.to;
  }
  return steps;
}

/**
 * Long-range matches P(A→C) = P(B→C)∘P(A→B): out[i] is the feature of layer `to` that feature i of
 * layer `from` becomes, or -1 where some step along the way is unmatched.
 */
export function composeMatches(o: SuiteOutput, from: number, to: number, rule: UnmatchedRule = {}): Int32Array {
  if (to <= from) throw new SaeMatchInputError(`compose: --to (${to}) must be after --from (${from})`);
  const steps = chain(o, from, to);
  let cur = Int32Array.from({ length: steps[0]!.perm.length }, (_, i) => i);
  for (const p of steps) {
    const m = unmatchedMask(p, rule);
    cur = cur.map((i) => (i < 0 || m[i] ? -1 : p.perm[i]!));
  }
  return cur;
}

export interface TraceStep {
  layer: number;
  feature: number;
  /** Cost of the match to the next step's feature; null on the last step. */
  cost: number | null;
  /** False where the chain stops: the match to the next layer is unmatched under the rule. */
  matched: boolean;
}

/** A feature's path forward through the layers, each step with its match cost, until it is unmatched. */
export function traceFeature(o: SuiteOutput, layer: number, feature: number, rule: UnmatchedRule = {}): TraceStep[] {
  const first = o.pairs.find((p) => p.from === layer);
  const last = o.pairs.find((p) => p.to === layer);
  const n = first ? first.perm.length : last?.entry.n_to;
  if (n === undefined) throw new SaeMatchInputError(`${o.out}: layer ${layer} is in no matched pair`);
  if (!Number.isInteger(feature) || feature < 0 || feature >= n) throw new SaeMatchInputError(`feature ${feature} is out of range for layer ${layer} (0..${n - 1})`);
  const steps: TraceStep[] = [];
  let l = layer, f = feature;
  for (;;) {
    const p = o.pairs.find((x) => x.from === l);
    if (!p) {
      steps.push({ layer: l, feature: f, cost: null, matched: false });
      return steps;
    }
    const m = unmatchedMask(p, rule);
    const cost = Number.isFinite(p.costs[f]!) ? p.costs[f]! : null;
    if (m[f]) {
      steps.push({ layer: l, feature: f, cost, matched: false });
      return steps;
    }
    steps.push({ layer: l, feature: f, cost, matched: true });
    [l, f] = [p.to, p.perm[f]!];
  }
}

export interface Lifetimes {
  /** lifetimes.get(l)[i]: number of consecutive layers feature i of layer l spans going forward (>= 1). */
  perLayer: Map<number, Int32Array>;
  /** Per starting layer: counts[k] = features whose lifetime is k + 1 layers. */
  histograms: Array<{ layer: number; counts: number[]; mean: number }>;
  /** The paper's "features persist for about five layers from the middle layers on", computed. */
  middle: { layers: number[]; meanLifetime: number; medianLifetime: number } | null;
}

/** How far each feature persists: 1 + the number of consecutive matched steps from its layer on. */
export function lifetimes(o: SuiteOutput, rule: UnmatchedRule = {}): Lifetimes {
  const perLayer = new Map<number, Int32Array>();
  const pairs = [...o.pairs].sort((a, b) => b.from - a.from);
  if (pairs.length) perLayer.set(pairs[0]!.to, new Int32Array(pairs[0]!.entry.n_to).fill(1));
  for (const p of pairs) {
    const next = perLayer.get(p.to);
    const m = unmatchedMask(p, rule);
    perLayer.set(p.from, Int32Array.from(p.perm, (j, i) => (m[i] || !next ? 1 : 1 + next[j]!)));
  }
  const layers = [...perLayer.keys()].sort((a, b) => a - b);
  const histograms = layers.map((layer) => {
    const life = perLayer.get(layer)!;
    const counts: number[] = [];
    let sum = 0;
    for (const x of life) {
      while (counts.length < x) counts.push(0);
      counts[x - 1]!++;
      sum += x;
    }
    return { layer, counts, mean: life.length ? sum / life.length : 0 };
  });
  // Middle third of the layers that still have at least a third of the suite ahead of them.
  const mid = layers.slice(Math.floor(layers.length / 3), Math.max(Math.floor(layers.length / 3) + 1, Math.ceil((2 * layers.length) / 3)));
  let middle: Lifetimes['middle'] = null;
  if (layers.length >= 3 && mid.length) {
    const all = mid.flatMap((l) => Array.from(perLayer.get(l)!)).sort((a, b) => a - b);
    middle = { layers: mid, meanLifetime: all.reduce((a, b) => a + b, 0) / all.length, medianLifetime: all[Math.floor(all.length / 2)]! };
  }
  return { perLayer, histograms, middle };
}

/** Records the unmatched counts per pair (and the middle-layer lifetime) in the folder's manifest.json. */
export async function recordAnalysis(o: SuiteOutput, rule: UnmatchedRule): Promise<Manifest> {
  const life = lifetimes(o, rule);
  const manifest: Manifest = {
    ...o.manifest,
    analysis: {
      rule: { ...(rule.quantile !== undefined ? { quantile: rule.quantile } : {}), ...(rule.maxCost !== undefined ? { max_cost: rule.maxCost } : {}) },
      pairs: pairSummaries(o, rule).map((p) => ({ from: p.from, to: p.to, matched: p.matched, unmatched: p.unmatched, unassigned: p.unassigned, threshold: Number.isFinite(p.threshold) ? p.threshold : null })),
      middle_lifetime: life.middle && { layers: life.middle.layers, mean: life.middle.meanLifetime, median: life.middle.medianLifetime },
    },
  };
  await writeManifest(o.out, manifest);
  return manifest;
}
