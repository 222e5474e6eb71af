// Evaluating a suite's matches by reconstruction (paper §4.2, App. B): layer t's JumpReLU codes,
// moved through the matching permutation and decoded with layer t+1's decoder, should explain layer
// t+1's activations nearly as well as layer t+1's own SAE does, and far better than the unpermuted
// codes (chance). The heavy work (encode, sparse decodes, the matching score) is native
// (native/core/eval/eval.cpp); this file reads the inputs, keeps each layer's codes for the two pairs it
// belongs to, and writes OUT/eval.json.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { costQuantile } from './analyze.js';
import { SaeMatchInputError, throwIfAborted } from '../errors.js';
import { fsError, writeJson } from '../io/write.js';
import { callNative, type SparseCodes } from '../binding/addon.js';
import { resolveEngine, type EngineOptions } from '../solve/engine.js';
import { halfToFloat32 } from '../io/convert.js';
import { readNpy } from '../io/npy.js';
import { readManifest, readSuiteOutput, type PairMatches } from '../match/folder.js';
import { loadSae, type Sae } from '../sae/load.js';

/** The quantiles of the hybrid reconstruction (App. B); q = 1 is plain SAE Match. */
export const HYBRID_QUANTILES = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0] as const;

export interface PairEvaluation {
  from: number;
  to: number;
  ev: {
    sae_match: number; own: number; no_permutation: number | null; reuse_previous: number;
    /** SAE Match with codes crossing layers in folded units (f/θ_t, then θ_{t+1}·W_dec) and in raw units (f, W_dec): both, whichever `sae_match` is. */
    sae_match_folded?: number; sae_match_raw?: number;
  };
  hybrid: Array<{ q: number; ev: number }>;
  matching_score: number;
  seconds: number;
  /** The manifest pair's settings hash the matches had: a rerun of the suite that changes them makes this entry stale. */
  settings: string;
}

export interface SuiteEvaluation {
  rows: number;
  /** The activations folder, absolute. */
  acts: string;
  pairs: PairEvaluation[];
}

export interface EvaluateOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, what: string) => void;
  /** Decode across layers in folded units (default: as the manifest's matching was done). */
  folded?: boolean;
  /** Native threads (0: all cores). */
  threads?: number;
  /** Which kernels evaluation runs (evalKernel; see src/solve/engine.ts). */
  engine?: EngineOptions;
}

/**
 * Activations of one layer as float32 [N, d_model]: float32, float16, or uint16 holding bfloat16 bits
 * (numpy has no bfloat16, so a dump of a bf16 model's residual stream usually arrives that way).
 */
export async function readActivations(path: string, dModel: number, signal?: AbortSignal): Promise<{ X: Float32Array; rows: number }> {
  const a = await readNpy(path, { expectRank: 2, expectDtype: ['float32', 'float16', 'uint16'] });
  const [rows, d] = a.shape as [number, number];
  if (d !== dModel) throw new SaeMatchInputError(`${path}: activations have ${d} columns, the layer's SAE has d_model ${dModel}`);
  if (rows < 2) throw new SaeMatchInputError(`${path}: need at least 2 rows of activations for explained variance, got ${rows}`);
  if (a.dtype === 'float32') return { X: a.data as Float32Array, rows };
  const X = await halfToFloat32(a.data as Uint16Array, { bfloat16: a.dtype === 'uint16', out: new Float32Array(rows * d), signal });
  return { X, rows };
}

interface LayerData {
  sae: Sae;
  X: Float32Array;
  codes: SparseCodes;
}

/** A pair's matches, checked against the SAEs they will be applied to. */
function checkedMatches(p: PairMatches, nFrom: number, nTo: number, out: string) {
  if (p.entry.n_from !== nFrom || p.entry.n_to !== nTo)
    throw new SaeMatchInputError(`${out}: ${p.entry.perm} matches ${p.entry.n_from} → ${p.entry.n_to} features, but layers ${p.from} and ${p.to} have SAEs of ${nFrom} and ${nTo} features`);
  return { perm: p.perm, costs: p.costs };
}

/**
 * Scores every pair of the output folder `out` on the activations in `actsDir/layer_{L}.npy` and
 * writes OUT/eval.json (atomically). Each layer is encoded once; its codes are dropped after the
 * last pair that needs them.
 */
export async function evaluateSuite(out: string, actsDir: string, opts: EvaluateOptions = {}): Promise<SuiteEvaluation> {
  const { signal, onProgress } = opts;
  const threads = opts.threads ?? 0;
  const { evalKernel } = resolveEngine(opts.engine); // checked before any file is read
  out = resolve(out);
  const output = await readSuiteOutput(out);
  const m = output.manifest;
  if (output.pairs.length === 0) throw new SaeMatchInputError(`${out}/manifest.json: no pairs to evaluate`);
  const layerEntry = new Map(m.layers.map((l) => [l.layer, l]));
  const cache = new Map<number, Promise<LayerData>>();
  const inputs = new Map<number, Promise<{ sae: Sae; X: Float32Array; rows: number; file: string }>>();
  let rows = -1, rowsFrom = '';
  // Reading a layer's SAE and activations (I/O) is started one pair ahead, so it overlaps the
  // previous pair's encode and decodes (CPU); the encode itself waits its turn.
  const readInputs = (L: number) => {
    let p = inputs.get(L);
    if (!p) {
      const entry = layerEntry.get(L);
      if (!entry) throw new SaeMatchInputError(`${out}/manifest.json: layer ${L} is in a pair but not in layers`);
      p = (async () => {
        const sae = await loadSae(join(m.source_root, entry.sae), { signal });
        // The native encoder is JumpReLU's: f = z·1[z > θ], θ the per-latent effective threshold (Llama
        // Scope's gate on z·‖W_dec‖ is z > θ/‖W_dec‖: the fold scale). Other activations would be scored wrongly.
        if (!sae.threshold || sae.kind !== 'sae')
          throw new SaeMatchInputError(`${sae.source}: eval encodes JumpReLU SAEs; this is a ${sae.architecture} ${sae.kind} (matching it works, explained variance is not computed for it)`);
        const file = join(actsDir, `layer_${L}.npy`);
        const { X, rows: n } = await readActivations(file, sae.dModel, signal);
        return { sae, X, rows: n, file };
      })();
      p.catch(() => undefined); // awaited by layer(); not an unhandled rejection meanwhile
      inputs.set(L, p);
    }
    return p;
  };
  const layer = (L: number): Promise<LayerData> => {
    let hit = cache.get(L);
    if (!hit) {
      hit = (async () => {
        const { sae, X, rows: n, file } = await readInputs(L);
        if (rows < 0) [rows, rowsFrom] = [n, file];
        else if (n !== rows) throw new SaeMatchInputError(`${file}: ${n} rows of activations, but ${rowsFrom} has ${rows} (the layers must be the same tokens)`);
        const codes = await callNative((x, token) => x.evaluateSae({
          op: 'encode', X, n, dModel: sae.dModel, W_enc: sae.W_enc, b_enc: sae.b_enc, threshold: sae.foldScale!, dSae: sae.dSae, threads,
          evalKernel,
        }, token), signal);
        return { sae, X, codes };
      })();
      cache.set(L, hit);
    }
    return hit;
  };
  // Matches of folded SAEs (the default, paper §3.3) pair folded features, so codes cross layers in
  // folded units: f_i / θ_t[i] times the folded decoder row θ_{t+1}[j]·W_dec(t+1)[j]. Raw JumpReLU
  // codes carry each layer's own threshold scale and would not transfer.
  const folded = opts.folded ?? m.fold !== false;
  const pairs: PairEvaluation[] = [];
  const total = output.pairs.length;
  for (const [k, p] of output.pairs.entries()) {
    throwIfAborted(signal);
    onProgress?.(k, total, `pair ${p.from} → ${p.to}`);
    const t0 = performance.now();
    const a = await layer(p.from), b = await layer(p.to);
    const ahead = output.pairs[k + 1];
    if (ahead) for (const L of [ahead.from, ahead.to]) if (!cache.has(L)) void readInputs(L);
    if (a.sae.dModel !== b.sae.dModel) throw new SaeMatchInputError(`layers ${p.from} and ${p.to} differ in d_model (${a.sae.dModel} vs ${b.sae.dModel})`);
    const { perm, costs } = checkedMatches(p, a.sae.dSae, b.sae.dSae, out);
    // numpy-style linear-interpolation quantiles of the pair's finite costs; q = 1 is +inf so that
    // the hybrid at 1 is exactly SAE Match (no feature is above it).
    const thresholds = Float64Array.from(HYBRID_QUANTILES, (q) => (q >= 1 ? Infinity : costQuantile(costs, q)));
    const evalPair = (inFolded: boolean) => callNative((x, token) => x.evaluateSae({
      op: 'pair', X: b.X, n: rows, dModel: b.sae.dModel, ft: a.codes, fn: b.codes,
      W_dec_t: a.sae.W_dec, b_dec_t: a.sae.b_dec, W_dec_next: b.sae.W_dec, b_dec_next: b.sae.b_dec,
      perm, costs, thresholds, threads,
      theta_t: inFolded ? a.sae.foldScale : null, theta_next: inFolded ? b.sae.foldScale : null,
      evalKernel,
    }, token), signal);
    const r = await evalPair(folded);
    // The other units too: on SAEs trained on a real LM the two differ widely, and a researcher
    // needs to see both (folding is what makes codes comparable across layers).
    const other = (await evalPair(!folded)).saeMatch;
    pairs.push({
      from: p.from, to: p.to,
      ev: {
        sae_match: r.saeMatch, own: r.own, no_permutation: Number.isNaN(r.noPermutation) ? null : r.noPermutation, reuse_previous: r.reusePrevious,
        sae_match_folded: folded ? r.saeMatch : other, sae_match_raw: folded ? other : r.saeMatch,
      },
      hybrid: HYBRID_QUANTILES.map((q, i) => ({ q, ev: r.hybrid[i]! })),
      matching_score: r.matchingScore,
      seconds: (performance.now() - t0) / 1000,
      settings: p.entry.settings,
    });
    // Codes of a layer are only needed by the pairs that mention it.
    for (const L of [p.from, p.to])
      if (!output.pairs.slice(k + 1).some((q) => q.from === L || q.to === L)) {
        cache.delete(L);
        inputs.delete(L);
      }
  }
  onProgress?.(total, total, 'done');
  const result: SuiteEvaluation = { rows, acts: resolve(actsDir), pairs };
  await writeJson(join(out, 'eval.json'), result);
  return result;
}

/**
 * Whether OUT/eval.json already scores every pair of OUT's manifest, as matched now (same settings
 * hash), on the activations in `actsDir`; `report --acts` then reuses it instead of re-encoding.
 */
export async function evaluationIsCurrent(out: string, actsDir: string): Promise<boolean> {
  const [ev, m] = await Promise.all([readEvaluation(out).catch(() => null), readManifest(resolve(out))]);
  if (!ev || !m || ev.acts !== resolve(actsDir) || !Array.isArray(ev.pairs)) return false;
  return m.pairs.every((p) => ev.pairs.some((e) => e.from === p.from && e.to === p.to && e.settings === p.settings));
}

/** eval.json as read back: files written before per-pair settings hashes lack `settings`. */
export interface EvalFile {
  rows: number;
  acts: string;
  pairs: Array<{ from: number; to: number; ev: Record<string, number | null>; hybrid: Array<{ q: number; ev: number }>; matching_score: number; seconds: number; settings?: string }>;
  /** Pairs of eval.json left out of the plot: they scored matches the suite has since redone differently. */
  stale?: number;
}

/** OUT/eval.json as `sae-match eval` writes it (checked), or null when there is none. */
export async function readEvaluation(out: string): Promise<EvalFile | null> {
  const file = join(out, 'eval.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fsError(e, file, 'read');
  }
  let j: EvalFile;
  try {
    j = JSON.parse(text) as EvalFile;
  } catch (e) {
    throw new SaeMatchInputError(`${file}: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const ok = j && Array.isArray(j.pairs) && j.pairs.every((p) => Number.isFinite(p?.from) && Number.isFinite(p?.to) && p.ev && typeof p.ev === 'object' && (p.hybrid === undefined || Array.isArray(p.hybrid)));
  if (!ok) throw new SaeMatchInputError(`${file}: expected {rows, acts, pairs: [{from, to, ev: {...}, hybrid: [...]}]} as written by \`sae-match eval\``);
  return j;
}

