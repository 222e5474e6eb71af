// `sae-match demo`: the main job end to end on an embedded default. It writes a synthetic suite with
// planted matches in the Gemma Scope layout, matches every adjacent pair, and scores the result
// against the planted truth, per pair: how many persisting features were matched to their planted
// partner, and whether the features that died (and so have no partner) got visibly higher costs.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { matchSuite, type SuiteResult } from '../match/suite.js';
import type { MatchMetric } from '../sae/fold.js';
import { readNpy } from '../io/npy.js';
import type { ProgressListener } from '../progress.js';
import { KIND, readSynthTruth, writeSynthSuite, type SynthSummary } from './synth.js';
import { evaluateSuite } from '../analysis/eval.js';

/** Rows of synthetic activations per layer the demo scores explained variance on. */
const DEMO_ACTS = 4000;

export interface DemoOptions {
  /** Where to write the suite and the results (default: a new folder under the OS temp dir). */
  dir?: string;
  layers?: number;
  width?: number;
  dModel?: number;
  seed?: number;
  metric?: MatchMetric;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

import { DEMO_DEFAULTS } from './demo-defaults.js';

export { DEMO_DEFAULTS };

export interface PairRecovery {
  from: number;
  to: number;
  persisting: number;
  recovered: number;
  /** Split parents matched to their primary child. */
  splitRecovered: number;
  split: number;
  died: number;
  /** Median match cost of persisting features and of features that died (no true partner). */
  medianCostPersisting: number;
  medianCostDied: number;
  seconds: number;
  /** Explained variance of the next layer's activations (paper §4.2): through the matches, by its own SAE, unpermuted. */
  ev?: { saeMatch: number; own: number; noPermutation: number | null };
}

export interface DemoResult {
  root: string;
  suite: string;
  out: string;
  synth: SynthSummary;
  match: SuiteResult;
  pairs: PairRecovery[];
  seconds: number;
}

const median = (xs: number[]) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Scores one matched pair against the planted truth of a synthetic suite. */
export async function scoreAgainstTruth(suiteDir: string, outDir: string, from: number, to: number, seconds: number): Promise<PairRecovery> {
  const { perm: truth, kind } = await readSynthTruth(suiteDir, from);
  const perm = (await readNpy(join(outDir, `perm_${from}_${to}.npy`))).data as Int32Array;
  const costs = (await readNpy(join(outDir, `cost_${from}_${to}.npy`))).data as Float32Array;
  const r: PairRecovery = { from, to, persisting: 0, recovered: 0, split: 0, splitRecovered: 0, died: 0, medianCostPersisting: NaN, medianCostDied: NaN, seconds };
  const cp: number[] = [], cd: number[] = [];
  for (let i = 0; i < truth.length; i++) {
    if (kind[i] === KIND.persist) {
      r.persisting++;
      if (perm[i] === truth[i]) r.recovered++;
      cp.push(costs[i]!);
    } else if (kind[i] === KIND.split) {
      r.split++;
      if (perm[i] === truth[i]) r.splitRecovered++;
    } else {
      r.died++;
      cd.push(costs[i]!);
    }
  }
  r.medianCostPersisting = median(cp);
  r.medianCostDied = median(cd);
  return r;
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const t0 = performance.now();
  const root = opts.dir ?? (await mkdtemp(join(tmpdir(), 'sae-match-demo-')));
  const suiteDir = join(root, 'suite');
  const out = join(root, 'matches');
  const layers = opts.layers ?? DEMO_DEFAULTS.layers;
  const synth = await writeSynthSuite(suiteDir, {
    layers, width: opts.width ?? DEMO_DEFAULTS.width, dModel: opts.dModel ?? DEMO_DEFAULTS.dModel,
    seed: opts.seed ?? DEMO_DEFAULTS.seed, format: 'gemmascope', l0Variants: 2, acts: DEMO_ACTS, signal: opts.signal,
    onProgress: (done, total, what) => opts.onProgress?.({ done, total, what: `synth ${what}` }),
  });
  const match = await matchSuite(suiteDir, { out, metric: opts.metric, onProgress: opts.onProgress, signal: opts.signal });
  const pairs: PairRecovery[] = [];
  for (const p of match.manifest.pairs) pairs.push(await scoreAgainstTruth(suiteDir, out, p.from, p.to, p.seconds));
  // The activations follow the planted chains, so the matches can be scored by what they explain too.
  const evaluation = await evaluateSuite(out, join(suiteDir, 'acts'), { signal: opts.signal, onProgress: (done, total, what) => opts.onProgress?.({ done, total, what: `eval ${what}` }) });
  for (const e of evaluation.pairs) {
    const r = pairs.find((p) => p.from === e.from && p.to === e.to);
    if (r) r.ev = { saeMatch: e.ev.sae_match, own: e.ev.own, noPermutation: e.ev.no_permutation };
  }
  return { root, suite: suiteDir, out, synth, match, pairs, seconds: (performance.now() - t0) / 1000 };
}
