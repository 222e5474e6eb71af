// Synthetic SAE suites with planted ground truth, written in the real layouts (Gemma Scope params.npz,
// SAELens safetensors, npy folders), so the whole pipeline can be tested and demonstrated without
// downloading Gemma Scope. The model of a suite, in folded coordinates (where SAE Match compares):
//   a layer is `width` concepts, each a unit decoder direction d, a unit encoder direction e
//   correlated with d, a scale s and a folded encoder bias b'. From layer l to l+1 a concept persists
//   with drift (d, e rotate a little, s is carried), splits into two drifting children, or dies;
//   new concepts are born to refill the layer, and the layer's features are shuffled. The raw SAE
//   weights un-fold each concept with a threshold θ redrawn per layer and growing with depth:
//   W_dec[i] = s·d/θ, W_enc[:, i] = θ·e/s, b_enc[i] = θ·b', so folding recovers s·d and e/s exactly
//   and matching unfolded weights is visibly worse.
// truth/perm_{l}_{l+1}.npy records where each feature went (-1: died; split parents: the primary child).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SaeMatchInputError, throwIfAborted } from './errors.js';
import { allocFloat32, writeAll, writeAtomic } from './fileio.js';
import { Rng } from './instances.js';
import { readNpy, writeNpy, type NpyArray } from './npy.js';
import { writeNpz } from './npz.js';
import { writeSafetensors, type SafetensorsDtype } from './safetensors.js';

/** Probability that a concept dies / splits between two layers. */
const P_DIE = 0.04;
const P_SPLIT = 0.03;
/** Drift of a persisting concept's directions: cosine with its parent ≈ 1/sqrt(1 + DRIFT²) ≈ 0.94. */
const DRIFT = 0.35;
/** Split children drift this much more than persisting concepts. */
const SPLIT_DRIFT = 1.5;
/** Spread (log-space standard deviation) of feature scales, and their per-layer jitter. */
const SCALE_SIGMA = 0.5;
const SCALE_JITTER = 0.05;
/** How far the encoder direction is from the decoder direction of the same concept. */
const ENC_NOISE = 0.5;
/** Threshold of layer l: THETA_BASE·(1 + THETA_GROWTH·l)·exp(THETA_SIGMA·N), redrawn per layer. */
const THETA_BASE = 0.2;
const THETA_GROWTH = 0.12;
const THETA_SIGMA = 0.8;

export const KIND = { persist: 0, split: 1, died: 2 } as const;
export type SynthFormat = 'gemmascope' | 'saelens' | 'npy';

export interface SynthOptions {
  layers: number;
  width: number;
  dModel: number;
  format?: SynthFormat;
  /** SAELens tensor dtype (Gemma Scope npz and npy folders are always float32). */
  dtype?: 'f32' | 'f16' | 'bf16';
  seed?: number;
  /** average_l0 folders per layer (Gemma Scope); only the canonical one carries the planted structure. */
  l0Variants?: number;
  widthLabel?: string;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, what: string) => void;
}

export interface SynthSummary {
  root: string;
  format: SynthFormat;
  layers: number;
  width: number;
  dModel: number;
  seed: number;
  widthLabel: string;
  canonicalL0: number[];
  pairs: Array<{ from: number; to: number; persisted: number; split: number; died: number; born: number }>;
  seconds: number;
}

/** One layer's concepts in folded coordinates, row-major [width, dModel]. */
interface Concepts {
  d: Float32Array;
  e: Float32Array;
  scale: Float32Array;
  bias: Float32Array;
}

/** Standard normals two at a time (Box–Muller keeps both). */
class Normals {
  private spare = NaN;
  constructor(private rng: Rng) {}
  next(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    let u = this.rng.next();
    while (u === 0) u = this.rng.next();
    const r = Math.sqrt(-2 * Math.log(u)), t = 2 * Math.PI * this.rng.next();
    this.spare = r * Math.sin(t);
    return r * Math.cos(t);
  }
}

export function widthLabelOf(w: number): string {
  if (w % (1 << 20) === 0) return `${w >> 20}m`;
  if (w % 1024 === 0) return `${w / 1024}k`;
  return String(w);
}

/** dst = normalize(src + noise·g/sqrt(D)) for one row; src may be null (a fresh random direction). */
function driftRow(dst: Float32Array, at: number, src: Float32Array | null, from: number, noise: number, D: number, n: Normals) {
  const k = noise / Math.sqrt(D);
  let ss = 0;
  for (let c = 0; c < D; c++) {
    const v = (src ? src[from + c]! : 0) + k * n.next();
    dst[at + c] = v;
    ss += v * v;
  }
  const inv = 1 / Math.sqrt(ss);
  for (let c = 0; c < D; c++) dst[at + c]! *= inv;
}

function newConcept(c: Concepts, i: number, D: number, n: Normals) {
  driftRow(c.d, i * D, null, 0, Math.sqrt(D), D, n);
  driftRow(c.e, i * D, c.d, i * D, ENC_NOISE, D, n);
  c.scale[i] = Math.exp(SCALE_SIGMA * n.next());
  c.bias[i] = -0.2 * Math.abs(n.next());
}

function allocConcepts(width: number, D: number): Concepts {
  return { d: allocFloat32(width * D), e: allocFloat32(width * D), scale: new Float32Array(width), bias: new Float32Array(width) };
}

function randomConcepts(width: number, D: number, n: Normals): Concepts {
  const c = allocConcepts(width, D);
  for (let i = 0; i < width; i++) newConcept(c, i, D, n);
  return c;
}

/** Layer l → l+1: fates, children, births, shuffle. Returns the new layer and the truth. */
function transition(prev: Concepts, width: number, D: number, rng: Rng, n: Normals) {
  const kind = new Int8Array(width);
  let children = 0;
  for (let i = 0; i < width; i++) {
    const r = rng.next();
    kind[i] = r < P_DIE ? KIND.died : r < P_DIE + P_SPLIT ? KIND.split : KIND.persist;
    children += kind[i] === KIND.died ? 0 : kind[i] === KIND.split ? 2 : 1;
  }
  for (let i = width - 1; i >= 0 && children > width; i--)
    if (kind[i] === KIND.split) {
      kind[i] = KIND.persist;
      children--;
    }
  const pos = rng.shuffle(Int32Array.from({ length: width }, (_, k) => k));
  const next = allocConcepts(width, D);
  const perm = new Int32Array(width).fill(-1);
  const counts = { persisted: 0, split: 0, died: 0, born: 0 };
  let k = 0;
  const child = (i: number, drift: number, keepScale: boolean) => {
    const j = pos[k++]!;
    driftRow(next.d, j * D, prev.d, i * D, drift, D, n);
    driftRow(next.e, j * D, prev.e, i * D, drift, D, n);
    next.scale[j] = keepScale ? prev.scale[i]! * Math.exp(SCALE_JITTER * n.next()) : Math.exp(SCALE_SIGMA * n.next());
    next.bias[j] = prev.bias[i]! + 0.02 * n.next();
    return j;
  };
  for (let i = 0; i < width; i++) {
    if (kind[i] === KIND.died) {
      counts.died++;
    } else if (kind[i] === KIND.persist) {
      perm[i] = child(i, DRIFT, true);
      counts.persisted++;
    } else {
      perm[i] = child(i, DRIFT * SPLIT_DRIFT, true);
      child(i, DRIFT * SPLIT_DRIFT, false);
      counts.split++;
    }
  }
  for (; k < width; k++) {
    newConcept(next, pos[k]!, D, n);
    counts.born++;
  }
  return { next, perm, kind, counts };
}

/** The raw (unfolded) SAE tensors of a layer of concepts, with thresholds for layer `layer`. */
function unfold(c: Concepts, width: number, D: number, layer: number, n: Normals): Record<string, NpyArray> {
  const theta = new Float32Array(width);
  const base = THETA_BASE * (1 + THETA_GROWTH * layer);
  for (let i = 0; i < width; i++) theta[i] = base * Math.exp(THETA_SIGMA * n.next());
  const W_dec = allocFloat32(width * D), W_enc = allocFloat32(D * width), b_enc = new Float32Array(width);
  for (let i = 0; i < width; i++) {
    const th = theta[i]!, s = c.scale[i]!, dec = s / th, enc = th / s;
    for (let col = 0; col < D; col++) {
      W_dec[i * D + col] = c.d[i * D + col]! * dec;
      W_enc[col * width + i] = c.e[i * D + col]! * enc;
    }
    b_enc[i] = th * c.bias[i]!;
  }
  const b_dec = Float32Array.from({ length: D }, () => 0.05 * n.next());
  const f = (shape: number[], data: Float32Array): NpyArray => ({ dtype: 'float32', shape, data });
  return { W_enc: f([D, width], W_enc), W_dec: f([width, D], W_dec), b_enc: f([width], b_enc), b_dec: f([D], b_dec), threshold: f([width], theta) };
}

/** The average-L0 folder names of a layer: the canonical one (70..140, so closest to 100) first. */
function l0Values(layer: number, variants: number, rng: Rng): number[] {
  const canon = 70 + rng.int(71);
  const others = [Math.round(canon / 2.5), Math.round(canon * 2.2), Math.round(canon / 5), Math.round(canon * 4.5)];
  const out = [canon];
  for (const k of others) if (out.length < variants && !out.includes(k)) out.push(k);
  for (let k = 1; out.length < variants; k++) out.push(Math.round(canon * 4.5) + 50 * k + layer);
  return out;
}

async function writeJson(path: string, value: unknown) {
  const bytes = new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n');
  await writeAtomic(path, (fh) => writeAll(fh, bytes));
}

async function writeLayer(dir: string, layer: number, t: Record<string, NpyArray>, o: Required<Pick<SynthOptions, 'format' | 'dtype' | 'width' | 'dModel'>> & { label: string; l0?: number }) {
  if (o.format === 'gemmascope') {
    const d = join(dir, `layer_${layer}`, `width_${o.label}`, `average_l0_${o.l0}`);
    await mkdir(d, { recursive: true });
    return writeNpz(join(d, 'params.npz'), t);
  }
  const d = join(dir, `layer_${layer}`);
  await mkdir(d, { recursive: true });
  if (o.format === 'npy') {
    for (const [k, a] of Object.entries(t)) await writeNpy(join(d, `${k}.npy`), a);
    return;
  }
  const dtype = ({ f32: 'F32', f16: 'F16', bf16: 'BF16' } as const)[o.dtype] as SafetensorsDtype;
  const hook = `blocks.${layer}.hook_resid_post`;
  await writeSafetensors(join(d, 'sae_weights.safetensors'),
    Object.fromEntries(Object.entries(t).map(([k, a]) => [k, { shape: a.shape, data: a.data as Float32Array }])), { dtype });
  await writeJson(join(d, 'cfg.json'), {
    architecture: 'jumprelu', d_in: o.dModel, d_sae: o.width, dtype: { f32: 'float32', f16: 'float16', bf16: 'bfloat16' }[o.dtype],
    model_name: 'synthetic', hook_name: hook, hook_layer: layer, metadata: { hook_name: hook, hook_layer: layer },
    apply_b_dec_to_input: false, normalize_activations: 'none',
  });
}

/** Writes a synthetic suite under `dir` (see the top of this file) and its truth under `dir/truth`. */
export async function writeSynthSuite(dir: string, opts: SynthOptions): Promise<SynthSummary> {
  const t0 = performance.now();
  const { layers, width, dModel: D } = opts;
  for (const [k, v, min] of [['layers', layers, 1], ['width', width, 1], ['dModel', D, 1]] as const)
    if (!Number.isInteger(v) || v < min) throw new SaeMatchInputError(`synth: ${k} must be an integer >= ${min}, got ${v}`);
  const format = opts.format ?? 'gemmascope', dtype = opts.dtype ?? 'f32', seed = opts.seed ?? 0;
  if (format !== 'saelens' && dtype !== 'f32') throw new SaeMatchInputError(`synth: --dtype ${dtype} applies to the saelens format only`);
  const variants = format === 'gemmascope' ? Math.max(1, opts.l0Variants ?? 3) : 1;
  const label = opts.widthLabel ?? widthLabelOf(width);
  const rng = new Rng(seed), n = new Normals(rng);
  await mkdir(join(dir, 'truth'), { recursive: true });
  const summary: SynthSummary = { root: dir, format, layers, width, dModel: D, seed, widthLabel: label, canonicalL0: [], pairs: [], seconds: 0 };
  const truths: Array<{ perm: Int32Array; kind: Int8Array }> = [];
  const wo = { format, dtype, width, dModel: D, label };
  let concepts = randomConcepts(width, D, n);
  for (let l = 0; l < layers; l++) {
    throwIfAborted(opts.signal);
    opts.onProgress?.(l, layers, `layer ${l}`);
    if (l > 0) {
      const t = transition(concepts, width, D, rng, n);
      concepts = t.next;
      truths.push({ perm: t.perm, kind: t.kind });
      summary.pairs.push({ from: l - 1, to: l, ...t.counts });
    }
    const l0s = l0Values(l, variants, rng);
    summary.canonicalL0.push(l0s[0]!);
    await writeLayer(dir, l, unfold(concepts, width, D, l, n), { ...wo, l0: l0s[0] });
    // Other L0 variants: SAEs of the same shape from unrelated concepts (a wrong choice shows up).
    for (const k of l0s.slice(1)) await writeLayer(dir, l, unfold(randomConcepts(width, D, n), width, D, l, n), { ...wo, l0: k });
  }
  // Truth last: a crash never leaves truth for layers that are not there.
  for (let k = 0; k < truths.length; k++) {
    await writeNpy(join(dir, 'truth', `perm_${k}_${k + 1}.npy`), { dtype: 'int32', shape: [width], data: truths[k]!.perm });
    await writeNpy(join(dir, 'truth', `kind_${k}_${k + 1}.npy`), { dtype: 'int8', shape: [width], data: truths[k]!.kind });
  }
  summary.seconds = (performance.now() - t0) / 1000;
  const params = { P_DIE, P_SPLIT, DRIFT, SPLIT_DRIFT, SCALE_SIGMA, SCALE_JITTER, ENC_NOISE, THETA_BASE, THETA_GROWTH, THETA_SIGMA };
  await writeJson(join(dir, 'truth', 'truth.json'), { ...summary, generator: params, kinds: KIND });
  await writeJson(join(dir, 'suite.json'), { generator: 'sae-match synth', ...summary });
  opts.onProgress?.(layers, layers, 'done');
  return summary;
}

/** The planted truth of pair (from, from+1) of a synthetic suite. */
export async function readSynthTruth(dir: string, from: number): Promise<{ perm: Int32Array; kind: Int8Array }> {
  const perm = await readNpy(join(dir, 'truth', `perm_${from}_${from + 1}.npy`));
  const kind = await readNpy(join(dir, 'truth', `kind_${from}_${from + 1}.npy`));
  return { perm: perm.data as Int32Array, kind: kind.data as Int8Array };
}
