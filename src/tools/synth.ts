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
// Speed (16k × 2304, ~75M normals a layer): normals come in bulk from a Box–Muller generator with
// its state in locals, concept and tensor buffers are allocated once and reused, and computing the
// next layer overlaps writing the previous one.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SaeMatchInputError, throwIfAborted } from '../errors.js';
import { allocFloat32 } from '../io/buffers.js';
import { writeJson } from '../io/write.js';
import { Rng } from './instances.js';
import { readNpy, writeNpy, type NpyArray } from '../io/npy.js';
import { loadSae } from '../sae/load.js';
import { layerPath, writeLayer, type LayerWrite } from './synth-layouts.js';
import { checkFormat, FORMAT_ARCHITECTURES, type SynthArchitecture, type SynthFormat } from './synth-formats.js';

/** Probability that a concept dies / splits between two layers. */
const P_DIE = 0.04;
const P_SPLIT = 0.03;
/** Drift of a persisting concept's directions: cosine with its parent ≈ 1/sqrt(1 + DRIFT²) ≈ 0.94. */
const DRIFT = 0.35;
/** Split children drift this much more than persisting concepts. */
const SPLIT_DRIFT = 2.5;
/** Spread (log-space standard deviation) of feature scales, and their per-layer jitter. */
const SCALE_SIGMA = 0.2;
const SCALE_JITTER = 0.05;
/** How far the encoder direction is from the decoder direction of the same concept. */
const ENC_NOISE = 0.2;
/** Folded encoder bias of a new concept: -BIAS_SCALE·|N| (negative, as trained JumpReLU biases mostly are); per-layer jitter. */
const BIAS_SCALE = 0.2;
const BIAS_JITTER = 0.02;
/** Decoder bias: N(0, B_DEC_SIGMA²) per coordinate, redrawn per layer (it plays no part in matching). */
const B_DEC_SIGMA = 0.05;
/**
 * Threshold of layer l: THETA_BASE·(1 + THETA_GROWTH·l)·exp(THETA_SIGMA·N), redrawn per layer.
 * THETA_SIGMA 0.8 rather than 0.4: with 0.4 unfolded nearest neighbours still find ~92% of the
 * planted partners (folded: 100%), too close for "folding matters" to show; with 0.8, ~75%.
 */
const THETA_BASE = 0.2;
const THETA_GROWTH = 0.12;
const THETA_SIGMA = 0.8;

export const KIND = { persist: 0, split: 1, died: 2 } as const;
export type { SynthFormat, SynthArchitecture } from './synth-formats.js';

export interface SynthOptions {
  layers: number;
  width: number;
  dModel: number;
  format?: SynthFormat;
  /** The SAELens architecture (the other formats hold one each: sparsify topk, the rest jumprelu). */
  architecture?: SynthArchitecture;
  /** Tensor dtype of the safetensors formats (Gemma Scope npz and npy folders are always float32). */
  dtype?: 'f32' | 'f16' | 'bf16';
  seed?: number;
  /** average_l0 folders per layer (Gemma Scope); only the canonical one carries the planted structure. */
  l0Variants?: number;
  widthLabel?: string;
  /** > 0: also `acts/layer_{L}.npy`, float32 [acts, d_model] activations consistent with the planted chains. */
  acts?: number;
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
  /** Gemma Scope 2: the label of each layer's canonical SAE. */
  canonicalLabel?: string[];
  architecture: SynthArchitecture;
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

/**
 * Standard normals, polar Box–Muller keeping both values of each pair. The xoshiro128** state lives
 * in locals inside fill() (seeded from the suite's Rng): a 16k×2304 layer needs ~75M normals, and
 * a method call per uniform through Rng's Uint32Array state costs more than the normal itself.
 */
class Gauss {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare = 0;
  private hasSpare = false;
  private readonly tmp = new Float64Array(1);
  constructor(rng: Rng) {
    this.s0 = rng.nextU32() | 1; // never the all-zero state
    this.s1 = rng.nextU32() | 0;
    this.s2 = rng.nextU32() | 0;
    this.s3 = rng.nextU32() | 0;
  }
  /** out[at .. at+n) = k · (the next n normals of the stream). */
  fill(out: Float32Array | Float64Array, at: number, n: number, k: number): void {
    let s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    let i = at;
    const end = at + n, U = 2 / 4294967296;
    if (this.hasSpare && i < end) {
      out[i++] = k * this.spare;
      this.hasSpare = false;
    }
    while (i < end) {
      let r = Math.imul(s1, 5), t = s1 << 9;
      r = Math.imul((r << 7) | (r >>> 25), 9);
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
      const x = (r >>> 0) * U - 1;
      r = Math.imul(s1, 5); t = s1 << 9;
      r = Math.imul((r << 7) | (r >>> 25), 9);
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
      const y = (r >>> 0) * U - 1;
      const q = x * x + y * y;
      if (q >= 1 || q === 0) continue; // outside the unit disc: draw again
      const f = Math.sqrt((-2 * Math.log(q)) / q);
      out[i++] = k * x * f;
      if (i < end) out[i++] = k * y * f;
      else {
        this.spare = y * f; // the pair's second value starts the next fill
        this.hasSpare = true;
      }
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }
  one(): number {
    this.fill(this.tmp, 0, 1, 1);
    return this.tmp[0]!;
  }
}

/**
 * Gemma Scope's width folder label: thousands, rounded down, for multiples of 1024 (16384 → '16k',
 * 65536 → '65k', 131072 → '131k'), millions for multiples of 2^20 ('1m'), else the plain number.
 */
export { widthLabelOf } from '../sae/discover.js';
import { widthLabelOf } from '../sae/discover.js';

/** dst row = normalize(src row + noise·g/sqrt(D)); src null: a fresh random direction. */
function driftRow(dst: Float32Array, at: number, src: Float32Array | null, from: number, noise: number, D: number, g: Gauss) {
  g.fill(dst, at, D, noise / Math.sqrt(D));
  let ss = 0;
  for (let c = 0; c < D; c++) {
    const v = dst[at + c]! + (src === null ? 0 : src[from + c]!);
    dst[at + c] = v;
    ss += v * v;
  }
  const inv = 1 / Math.sqrt(ss);
  for (let c = 0; c < D; c++) dst[at + c]! *= inv;
}

function newConcept(c: Concepts, i: number, D: number, g: Gauss) {
  driftRow(c.d, i * D, null, 0, Math.sqrt(D), D, g);
  driftRow(c.e, i * D, c.d, i * D, ENC_NOISE, D, g);
  c.scale[i] = Math.exp(SCALE_SIGMA * g.one());
  c.bias[i] = -BIAS_SCALE * Math.abs(g.one());
}

/** Concept buffers are allocated once per suite and reused: first-touching fresh pages costs more than filling them. */
function allocConcepts(width: number, D: number): Concepts {
  return { d: allocFloat32(width * D), e: allocFloat32(width * D), scale: new Float32Array(width), bias: new Float32Array(width) };
}

/**
 * Generation yields to the event loop every ~YIELD_EVERY normals: the previous layer's file is being
 * written meanwhile, and writeNpz/writeSafetensors only move on (next CRC chunk, next write call)
 * when the loop gets a turn. It is also where an abort is noticed. The rows between two pauses are
 * done by plain synchronous functions (hot loops inside an async function run measurably slower).
 */
class Yielder {
  constructor(private readonly signal?: AbortSignal) {}
  /** Rows to do between pauses when a row costs `normalsPerRow` normals. */
  rows(normalsPerRow: number): number {
    return Math.max(1, Math.floor(YIELD_EVERY / normalsPerRow));
  }
  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    throwIfAborted(this.signal);
  }
}

/** Fresh random concepts at rows at[k] for k in [k0, k1) (at null: rows k0..k1). */
function newConcepts(c: Concepts, at: Int32Array | null, k0: number, k1: number, D: number, g: Gauss) {
  for (let k = k0; k < k1; k++) newConcept(c, at === null ? k : at[k]!, D, g);
}

async function randomConcepts(c: Concepts, width: number, D: number, g: Gauss, y: Yielder): Promise<Concepts> {
  for (let i = 0, step = y.rows(2 * D); i < width; i += step) {
    newConcepts(c, null, i, Math.min(width, i + step), D, g);
    await y.pause();
  }
  return c;
}

/** The fate of every concept of a layer; splits are undone from the end if children would overflow the layer. */
function drawFates(width: number, rng: Rng): Int8Array {
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
  return kind;
}

/** A transition in progress: concepts of the next layer take the shuffled positions pos[0], pos[1], ... in turn. */
interface Transition {
  prev: Concepts;
  next: Concepts;
  kind: Int8Array;
  pos: Int32Array;
  perm: Int32Array;
  used: number;
  counts: { persisted: number; split: number; died: number; born: number };
}

/** A child of concept i of the previous layer, at the next free position; returns that position. */
function child(t: Transition, i: number, drift: number, keepScale: boolean, D: number, g: Gauss): number {
  const { prev, next } = t, j = t.pos[t.used++]!;
  driftRow(next.d, j * D, prev.d, i * D, drift, D, g);
  // The encoder follows its own decoder direction, not its parent's encoder: drifting both on their
  // own lets e·d decay layer after layer, and deep layers' SAEs stop encoding their activations.
  driftRow(next.e, j * D, next.d, j * D, ENC_NOISE, D, g);
  next.scale[j] = keepScale ? prev.scale[i]! * Math.exp(SCALE_JITTER * g.one()) : Math.exp(SCALE_SIGMA * g.one());
  next.bias[j] = prev.bias[i]! + BIAS_JITTER * g.one();
  return j;
}

/** Concepts i0..i1 of the previous layer persist, split or die. */
function moveConcepts(t: Transition, i0: number, i1: number, D: number, g: Gauss) {
  for (let i = i0; i < i1; i++) {
    if (t.kind[i] === KIND.died) {
      t.counts.died++;
    } else if (t.kind[i] === KIND.persist) {
      t.perm[i] = child(t, i, DRIFT, true, D, g);
      t.counts.persisted++;
    } else {
      t.perm[i] = child(t, i, DRIFT * SPLIT_DRIFT, true, D, g); // the primary child keeps the scale
      child(t, i, DRIFT * SPLIT_DRIFT, false, D, g);
      t.counts.split++;
    }
  }
}

/** Layer l → l+1 into `next`: fates, children, births, shuffle. Returns the truth of the pair. */
async function transition(prev: Concepts, next: Concepts, width: number, D: number, rng: Rng, g: Gauss, y: Yielder) {
  const kind = drawFates(width, rng);
  const pos = rng.shuffle(Int32Array.from({ length: width }, (_, k) => k));
  const t: Transition = { prev, next, kind, pos, perm: new Int32Array(width).fill(-1), used: 0, counts: { persisted: 0, split: 0, died: 0, born: 0 } };
  for (let i = 0, step = y.rows(4 * D); i < width; i += step) {
    moveConcepts(t, i, Math.min(width, i + step), D, g);
    await y.pause();
  }
  // Births fill the positions left over.
  t.counts.born = width - t.used;
  for (let k = t.used, step = y.rows(2 * D); k < width; k += step) {
    newConcepts(next, pos, k, Math.min(width, k + step), D, g);
    await y.pause();
  }
  return { perm: t.perm, kind, counts: t.counts };
}

type Tensors = Record<'W_enc' | 'W_dec' | 'b_enc' | 'b_dec' | 'threshold', NpyArray & { data: Float32Array }>;

function allocTensors(width: number, D: number): Tensors {
  const f = (shape: number[], data: Float32Array) => ({ dtype: 'float32' as const, shape, data });
  return {
    W_enc: f([D, width], allocFloat32(D * width)),
    W_dec: f([width, D], allocFloat32(width * D)),
    b_enc: f([width], new Float32Array(width)),
    b_dec: f([D], new Float32Array(D)),
    threshold: f([width], new Float32Array(width)),
  };
}

/** Normals generated between two yields to the event loop (~1M: a few tens of milliseconds). */
const YIELD_EVERY = 1 << 20;

/** Features per tile of the W_enc transpose: 64 contiguous floats per W_enc row stay in cache. */
const TILE = 64;

/** Fills `t` with the raw (unfolded) SAE tensors of a layer of concepts, thresholds drawn for `layer`. */
function unfold(c: Concepts, t: Tensors, width: number, D: number, layer: number, g: Gauss): Tensors {
  const theta = t.threshold.data, W_dec = t.W_dec.data, W_enc = t.W_enc.data, b_enc = t.b_enc.data;
  const base = THETA_BASE * (1 + THETA_GROWTH * layer);
  for (let i = 0; i < width; i++) theta[i] = base * Math.exp(THETA_SIGMA * g.one());
  const encScale = new Float64Array(TILE);
  for (let i0 = 0; i0 < width; i0 += TILE) {
    const i1 = Math.min(width, i0 + TILE);
    for (let i = i0; i < i1; i++) {
      const th = theta[i]!, s = c.scale[i]!, dec = s / th;
      encScale[i - i0] = th / s;
      for (let col = 0; col < D; col++) W_dec[i * D + col] = c.d[i * D + col]! * dec;
      b_enc[i] = th * c.bias[i]!;
    }
    for (let col = 0; col < D; col++) {
      const row = col * width;
      for (let i = i0; i < i1; i++) W_enc[row + i] = c.e[i * D + col]! * encScale[i - i0]!;
    }
  }
  g.fill(t.b_dec.data, 0, D, B_DEC_SIGMA);
  return t;
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

type LayerWriteOpts = Omit<LayerWrite, 'l0' | 'l0Label'>;

function checkOptions(opts: SynthOptions) {
  const { layers, width, dModel } = opts;
  for (const [k, v] of [['layers', layers], ['width', width], ['dModel', dModel]] as const)
    if (!Number.isSafeInteger(v) || v < 1) throw new SaeMatchInputError(`synth: ${k} must be an integer >= 1, got ${v}`);
  const format = opts.format ?? 'gemmascope', dtype = opts.dtype ?? 'f32', seed = opts.seed ?? 0;
  const architecture = opts.architecture ?? FORMAT_ARCHITECTURES[format]?.[0] ?? 'jumprelu';
  checkFormat(format, architecture);
  if (!['f32', 'f16', 'bf16'].includes(dtype)) throw new SaeMatchInputError(`synth: unknown dtype '${String(dtype)}' (f32, f16 or bf16)`);
  if (!['saelens', 'gemmascope2', 'sparsify', 'llamascope'].includes(format) && dtype !== 'f32')
    throw new SaeMatchInputError(`synth: --dtype ${dtype} applies to the safetensors formats (saelens, gemmascope2, sparsify, llamascope) only`);
  if (opts.acts && (architecture !== 'jumprelu' || format === 'llamascope'))
    throw new SaeMatchInputError(`synth: --acts writes activations for SAEs with per-latent JumpReLU thresholds (gemmascope, gemmascope2, saelens jumprelu, npy), not ${format} ${architecture}`);
  if (!Number.isSafeInteger(seed)) throw new SaeMatchInputError(`synth: seed must be an integer, got ${seed}`);
  const l0Variants = opts.l0Variants ?? 3;
  if (!Number.isInteger(l0Variants) || l0Variants < 1) throw new SaeMatchInputError(`synth: l0Variants must be an integer >= 1, got ${l0Variants}`);
  if (format === 'gemmascope2' && l0Variants > 3)
    throw new SaeMatchInputError(`synth: Gemma Scope 2 has three L0 labels (small, medium, big); l0Variants ${l0Variants} > 3`);
  return { format, architecture, dtype, seed, variants: format === 'gemmascope' || format === 'gemmascope2' ? l0Variants : 1 };
}

/**
 * Writes a synthetic suite under `dir` (see the top of this file) and its truth under `dir/truth`.
 * Writing a layer's file (kernel copies, on the thread pool) overlaps computing the next concepts;
 * the raw tensors are one set of buffers, reused once the previous write has finished with them.
 */
export async function writeSynthSuite(dir: string, opts: SynthOptions): Promise<SynthSummary> {
  const t0 = performance.now();
  const { layers, width, dModel: D } = opts;
  const { format, architecture, dtype, seed, variants } = checkOptions(opts);
  const label = opts.widthLabel ?? (format === 'llamascope' ? `${Math.max(1, Math.round(width / D))}x` : widthLabelOf(width));
  if (!/^[A-Za-z0-9_.-]+$/.test(label) || label === '.' || label === '..') throw new SaeMatchInputError(`synth: widthLabel must be a plain folder name, got '${label}'`);
  const rng = new Rng(seed), g = new Gauss(rng), y = new Yielder(opts.signal);
  const summary: SynthSummary = { root: dir, format, architecture, layers, width, dModel: D, seed, widthLabel: label, canonicalL0: [], pairs: [], seconds: 0 };
  const truths: Array<{ perm: Int32Array; kind: Int8Array }> = [];
  const wo: LayerWriteOpts = { format, architecture, dtype, width, dModel: D, label };
  const labels = new Map<number, string>(); // Gemma Scope 2: this layer's l0 → small | medium | big
  await mkdir(dir, { recursive: true });
  await removeStaleTruth(dir);
  let cur = await randomConcepts(allocConcepts(width, D), width, D, g, y);
  let spare: Concepts | undefined; // next layer's concepts, then the previous one's buffers
  let other: Concepts | undefined; // unplanted L0 variants
  const out = allocTensors(width, D);
  let pending: Promise<void> = Promise.resolve();
  const write = async (l: number, c: Concepts, l0: number) => {
    await pending; // the tensors are free again once the previous file is written
    throwIfAborted(opts.signal);
    pending = writeLayer(dir, l, unfold(c, out, width, D, l, g), { ...wo, l0, l0Label: labels.get(l0) });
    pending.catch(() => undefined); // awaited later; not an unhandled rejection meanwhile
  };
  try {
    for (let l = 0; l < layers; l++) {
      throwIfAborted(opts.signal);
      opts.onProgress?.(l, layers, `layer ${l}`);
      if (l > 0) {
        spare ??= allocConcepts(width, D);
        const t = await transition(cur, spare, width, D, rng, g, y);
        [cur, spare] = [spare, cur];
        truths.push({ perm: t.perm, kind: t.kind });
        summary.pairs.push({ from: l - 1, to: l, ...t.counts });
      }
      const l0s = l0Values(l, variants, rng);
      labels.clear();
      [...l0s].sort((a, b) => a - b).forEach((k, i, all) => labels.set(k, all.length === 1 ? 'medium' : (['small', 'medium', 'big'] as const)[all.length === 2 ? i * 2 : i]!));
      summary.canonicalL0.push(l0s[0]!);
      if (format === 'gemmascope2') (summary.canonicalLabel ??= []).push(labels.get(l0s[0]!)!);
      await write(l, cur, l0s[0]!);
      // Other L0 variants: SAEs of the same shape from unrelated concepts (a wrong choice shows up).
      for (const k of l0s.slice(1)) await write(l, await randomConcepts((other ??= allocConcepts(width, D)), width, D, g, y), k);
    }
    await pending;
  } finally {
    await pending.catch(() => undefined); // never return (or throw) with a write still running
  }
  if (opts.acts) await writeActivations(dir, summary, truths, opts.acts, seed, y);
  await writeTruth(dir, summary, truths, t0);
  opts.onProgress?.(layers, layers, 'done');
  return summary;
}

/**
 * Concepts active per row of synthetic activations: ~100 like Gemma Scope's canonical L0, but at most
 * d_model/32: the synthetic SAEs are not trained, so every active concept leaks into the other
 * features' pre-activations (≈ 1/sqrt(d_model) each) and too many at once fire features at random.
 */
const ACTS_L0 = (width: number, D: number) => Math.max(1, Math.min(100, D / 64, width / 16));
/** Folded code of a fresh activation: ACT_BASE + ACT_SPREAD·|N|. The JumpReLU fires at folded code 1
 * (less the folded bias, over e·d ≈ 0.9), so 1.6 clears it with room while adding little leakage. */
const ACT_BASE = 1.6;
const ACT_SPREAD = 0.3;
/** Log-space noise of a code carried to the next layer along a chain. */
const ACT_CARRY_NOISE = 0.05;
/** Gaussian noise added to every coordinate of an activation. */
const ACT_NOISE = 0.01;

/**
 * Activations for the planted suite: per row, sparse concept codes in folded units (c > 1 fires),
 * carried along the truth chains (a persisting or primary split child keeps its parent's code, with
 * a little noise; born and secondary children are drawn fresh), and x_l = Σ_j (c_j θ_j) W_dec_l[j] +
 * b_dec_l + noise, where c_j θ_j is feature j's raw JumpReLU code. The SAEs are re-read from disk
 * (canonical L0) so the activations match exactly what a matcher and an evaluator will see.
 */
async function writeActivations(dir: string, s: SynthSummary, truths: Array<{ perm: Int32Array }>, rows: number, seed: number, y: Yielder) {
  if (!Number.isSafeInteger(rows) || rows < 2) throw new SaeMatchInputError(`synth: acts must be an integer >= 2, got ${rows}`);
  const { width, dModel: D } = s;
  const rng = new Rng(seed ^ 0x5eed1e55), g = new Gauss(rng);
  const p = ACTS_L0(width, D) / width;
  await mkdir(join(dir, 'acts'), { recursive: true });
  let idx: Int32Array[] = [], val: Float32Array[] = [];
  const tmp = new Float64Array(2);
  for (let l = 0; l < s.layers; l++) {
    const path = join(dir, layerPath({ format: s.format, label: s.widthLabel, l0: s.canonicalL0[l], l0Label: s.canonicalLabel?.[l] }, l));
    const sae = await loadSae(path, { skipValueChecks: true });
    // Features of this layer with no planted parent draw fresh codes.
    let fresh: Int32Array;
    if (l === 0) fresh = Int32Array.from({ length: width }, (_, k) => k);
    else {
      const child = new Uint8Array(width);
      for (const j of truths[l - 1]!.perm) if (j >= 0) child[j] = 1;
      fresh = Int32Array.from(Array.from({ length: width }, (_, k) => k).filter((k) => !child[k]));
    }
    const X = new Float32Array(rows * D);
    const nextIdx: Int32Array[] = new Array(rows), nextVal: Float32Array[] = new Array(rows);
    for (let r = 0; r < rows; r++) {
      const I: number[] = [], V: number[] = [];
      if (l > 0) {
        const perm = truths[l - 1]!.perm, pi = idx[r]!, pv = val[r]!;
        for (let k = 0; k < pi.length; k++) {
          const j = perm[pi[k]!]!;
          if (j < 0) continue;
          g.fill(tmp, 0, 1, ACT_CARRY_NOISE);
          I.push(j);
          V.push(Math.max(ACT_BASE - 0.2, pv[k]! * Math.exp(tmp[0]!))); // a carried code still fires
        }
      }
      // Fresh codes top the row up to the target L0: drawing them at the first layer's rate on top of
      // the carried ones let the active count grow toward 1.75 × L0 over the layers (and EV fall).
      const pf = l === 0 ? p : Math.max(0, p * width - I.length) / Math.max(1, fresh.length);
      for (let k = 0; k < fresh.length; k++)
        if (rng.next() < pf) {
          g.fill(tmp, 0, 1, 1);
          I.push(fresh[k]!);
          V.push(ACT_BASE + ACT_SPREAD * Math.abs(tmp[0]!));
        }
      const x = X.subarray(r * D, (r + 1) * D);
      g.fill(x, 0, D, ACT_NOISE);
      for (let c = 0; c < D; c++) x[c]! += sae.b_dec[c]!;
      for (let k = 0; k < I.length; k++) {
        const j = I[k]!, f = V[k]! * sae.threshold![j]!, w = j * D;
        for (let c = 0; c < D; c++) x[c]! += f * sae.W_dec[w + c]!;
      }
      nextIdx[r] = Int32Array.from(I);
      nextVal[r] = Float32Array.from(V);
      if (r % 1024 === 1023) await y.pause();
    }
    [idx, val] = [nextIdx, nextVal];
    await writeNpy(join(dir, 'acts', `layer_${l}.npy`), { dtype: 'float32', shape: [rows, D], data: X });
  }
}

/** A rerun into an old suite's folder: its truth goes first, so a crash cannot pair it with new layers. */
async function removeStaleTruth(dir: string) {
  const names = await readdir(join(dir, 'truth')).catch(() => [] as string[]);
  const ours = names.filter((n) => /^(perm|kind)_\d+_\d+\.npy$|^truth\.json$/.test(n));
  for (const n of ours) await rm(join(dir, 'truth', n), { force: true });
  await rm(join(dir, 'suite.json'), { force: true });
}

/** Truth last: a crash never leaves truth for layers that are not there. */
async function writeTruth(dir: string, summary: SynthSummary, truths: Array<{ perm: Int32Array; kind: Int8Array }>, t0: number) {
  const { width } = summary;
  await mkdir(join(dir, 'truth'), { recursive: true });
  for (let k = 0; k < truths.length; k++) {
    await writeNpy(join(dir, 'truth', `perm_${k}_${k + 1}.npy`), { dtype: 'int32', shape: [width], data: truths[k]!.perm });
    await writeNpy(join(dir, 'truth', `kind_${k}_${k + 1}.npy`), { dtype: 'int8', shape: [width], data: truths[k]!.kind });
  }
  summary.seconds = (performance.now() - t0) / 1000;
  const generator = {
    P_DIE, P_SPLIT, DRIFT, SPLIT_DRIFT, SCALE_SIGMA, SCALE_JITTER, ENC_NOISE, BIAS_SCALE, BIAS_JITTER, B_DEC_SIGMA,
    threshold: { THETA_BASE, THETA_GROWTH, THETA_SIGMA, formula: 'theta_i = THETA_BASE*(1+THETA_GROWTH*layer)*exp(THETA_SIGMA*N(0,1))' },
  };
  await writeJson(join(dir, 'truth', 'truth.json'), { ...summary, generator, kinds: KIND });
  await writeJson(join(dir, 'suite.json'), { generator: 'sae-match synth', ...summary });
}

/** The planted truth of pair (from, from+1) of a synthetic suite. */
export async function readSynthTruth(dir: string, from: number): Promise<{ perm: Int32Array; kind: Int8Array }> {
  const perm = await readNpy(join(dir, 'truth', `perm_${from}_${from + 1}.npy`), { expectDtype: ['int32'], expectRank: 1 });
  const kind = await readNpy(join(dir, 'truth', `kind_${from}_${from + 1}.npy`), { expectDtype: ['int8'], expectRank: 1 });
  if (perm.shape[0] !== kind.shape[0]) throw new SaeMatchInputError(`${dir}/truth: perm and kind of pair ${from}->${from + 1} differ in length`);
  return { perm: perm.data as Int32Array, kind: kind.data as Int8Array };
}
