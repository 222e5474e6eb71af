// One layer's SAE, loaded from any layout researchers have on disk (sae/formats/, one reader per
// layout) and validated once, here, at the boundary: tensor names, ranks, shapes and dtypes against
// what the layout and its config declare, then the values. Every later step (folding, cost,
// assignment) trusts it.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SaeMatchInputError } from '../errors.js';
import { fsReason } from '../io/write.js';
import { allocFloat32, recycleBuffer } from '../io/buffers.js';
import { callNative, type ValueScan } from '../binding/addon.js';
import { foldScale, toModelUnits } from './architecture.js';
import { LAYOUTS, layoutOf } from './formats/index.js';
import type { CanonicalTensor, RawTensor, Sae, SaeFormat, SaeRead } from './types.js';

export type { Sae, SaeArchitecture, SaeFormat, SaeKind, SaeMeta } from './types.js';

/** The tensors every SAE hands on (threshold only for JumpReLU). */
export const SAE_TENSORS = ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold'] as const;
export type SaeTensorName = (typeof SAE_TENSORS)[number];

export interface LoadSaeOptions {
  signal?: AbortSignal;
  /** Skip the scans for non-finite values and non-positive thresholds (they read every value once). */
  skipValueChecks?: boolean;
}

const LOOKED_FOR = 'params.npz, params.safetensors + config.json, cfg.json + sae_weights.safetensors, cfg.json + sae.safetensors, hyperparams.json + checkpoints/final.safetensors, W_enc.npy';

/** What kind of SAE lives at `path` (a params.npz file or an SAE folder of one of the layouts). */
export async function detectSaeFormat(path: string): Promise<{ format: SaeFormat; file: string }> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new SaeMatchInputError(`${path}: ${fsReason(e, 'file or folder')}`, { cause: e });
  }
  if (st.isFile() && !path.endsWith('.npz'))
    throw new SaeMatchInputError(`${path}: not an SAE (expected a Gemma Scope params.npz or an SAE folder: ${LOOKED_FOR})`);
  for (const layout of LAYOUTS) if (await layout.detect(path)) return { format: layout.format, file: layout.format === 'gemmascope' ? layout.files(path)[0]! : path };
  throw new SaeMatchInputError(`${path}: no SAE found in this folder (looked for ${LOOKED_FOR})`);
}

/**
 * The files loadSae reads for an SAE of `format` at `path` (detectSaeFormat's `file`, or a suite
 * layer's `path`): what a match of this SAE depends on, so what resume keys on.
 */
export function saeFiles(format: SaeFormat, path: string): string[] {
  return layoutOf(format).files(path);
}

/** The config, headers and architecture of the SAE at `path`, without reading its weights. */
export async function describeSae(path: string) {
  const { format, file } = await detectSaeFormat(resolve(path));
  return { format, path: file, ...(await layoutOf(format).describe(file)) };
}

const shapeText = (s: number[]) => `[${s.join(', ')}]`;

/** Every tensor the architecture needs is there and convertible; names in messages are the file's. */
function checkPresent(r: SaeRead): void {
  const need: CanonicalTensor[] = ['W_enc', 'W_dec', 'b_dec'];
  if (r.architecture === 'gated') need.push('b_gate', 'b_mag', 'r_mag');
  else need.push('b_enc');
  if (r.architecture === 'jumprelu' && r.scalarThreshold === undefined) need.push('threshold');
  const name = (c: CanonicalTensor) => r.names?.[c] ?? c;
  const missing = need.filter((n) => !r.tensors[n]);
  if (missing.length)
    throw new SaeMatchInputError(
      `${r.file}: missing tensor${missing.length > 1 ? 's' : ''} ${missing.map(name).join(', ')} for a${r.architecture === 'standard' ? '' : ''} ${r.architecture} ${r.kind} ` +
        `(found: ${Object.keys(r.tensors).map((c) => name(c as CanonicalTensor)).join(', ') || 'none'})`,
    );
  for (const n of need)
    if (!r.tensors[n]!.data)
      throw new SaeMatchInputError(`${r.file}: tensor '${name(n)}' has dtype ${r.tensors[n]!.dtype}; supported: float32, float16, bfloat16, float64`);
}

/** d_in, d_out, d_sae from the two matrices (in the file's orientation), then every shape against them. */
function checkShapes(r: SaeRead): { dIn: number; dOut: number; dSae: number } {
  const name = (c: CanonicalTensor) => r.names?.[c] ?? c;
  const tEnc = r.transposed?.includes('W_enc'), tDec = r.transposed?.includes('W_dec');
  const enc = r.tensors.W_enc!.shape, dec = r.tensors.W_dec!.shape;
  const encForm = tEnc ? '[d_sae, d_in]' : '[d_in, d_sae]';
  if (enc.length !== 2) throw new SaeMatchInputError(`${r.file}: tensor '${name('W_enc')}' must have rank 2 ${encForm}, got shape ${shapeText(enc)}`);
  const [dIn, dSae] = (tEnc ? [enc[1], enc[0]] : enc) as [number, number];
  const decForm = tDec ? '[d_out, d_sae]' : '[d_sae, d_out]';
  if (dec.length !== 2) throw new SaeMatchInputError(`${r.file}: tensor '${name('W_dec')}' must have rank 2 ${decForm}, got shape ${shapeText(dec)}`);
  // An SAE's decoder writes d_in; a transcoder's writes d_out, which only W_dec can say.
  const dOut = r.kind === 'sae' ? dIn : (tDec ? dec[0] : dec[1])!;
  const from = `(d_in = ${dIn}, d_sae = ${dSae} from ${name('W_enc')}${r.kind === 'sae' ? '' : `, d_out = ${dOut} from ${name('W_dec')}`})`;
  const expect: Partial<Record<CanonicalTensor, number[]>> = {
    W_dec: tDec ? [dOut, dSae] : [dSae, dOut], b_enc: [dSae], b_dec: [dOut], threshold: [dSae], b_gate: [dSae], b_mag: [dSae], r_mag: [dSae],
  };
  for (const [n, want] of Object.entries(expect) as Array<[CanonicalTensor, number[]]>) {
    const got = r.tensors[n]?.shape;
    if (got && (got.length !== want.length || got.some((d, i) => d !== want[i])))
      throw new SaeMatchInputError(`${r.file}: tensor '${name(n)}' has shape ${shapeText(got)}, expected ${shapeText(want)} ${from}`);
  }
  if (dIn === 0 || dSae === 0 || dOut === 0) throw new SaeMatchInputError(`${r.file}: empty SAE (d_in = ${dIn}, d_sae = ${dSae}, d_out = ${dOut})`);
  const d = r.declared ?? {};
  const where = r.config ?? r.file;
  for (const [k, v, got, t] of [['d_in', d.dIn, dIn, 'W_enc'], ['d_sae', d.dSae, dSae, 'W_enc'], ['d_out', d.dOut, dOut, 'W_dec']] as const)
    if (v !== undefined && v !== got)
      throw new SaeMatchInputError(`${where}: declares ${k} = ${v} but tensor '${name(t)}' in ${r.file} has shape ${shapeText(t === 'W_enc' ? enc : dec)} (${k} = ${got})`);
  return { dIn, dOut, dSae };
}

/** The tensor transposed into a new buffer; the file's buffer goes back to the pool (the next read reuses it). */
async function transposed(t: RawTensor, rows: number, cols: number, what: string, signal?: AbortSignal): Promise<Float32Array> {
  const out = allocFloat32(rows * cols, what);
  const src = t.data!;
  await callNative((a, token) => a.transpose({ src, rows, cols, out, threads: 0 }, token), signal);
  recycleBuffer(src.buffer as ArrayBuffer);
  return out;
}

/** Where in a tensor a flat index is, as the user would index it. */
function position(shape: number[], index: number): string {
  return shape.length === 2 ? `[${Math.floor(index / shape[1]!)}, ${index % shape[1]!}]` : `[${index}]`;
}

/** Non-finite values anywhere and thresholds <= 0 (folding divides by them) are refused. */
export async function checkSaeValues(sae: Sae, signal?: AbortSignal): Promise<void> {
  const shapes: Record<SaeTensorName, number[]> = {
    W_enc: [sae.dModel, sae.dSae], W_dec: [sae.dSae, sae.dOut], b_enc: [sae.dSae], b_dec: [sae.dOut], threshold: [sae.dSae],
  };
  for (const name of SAE_TENSORS) {
    const x = sae[name];
    if (!x) continue;
    const s: ValueScan = await callNative((a, token) => a.scanValues({ x, threads: 0 }, token), signal);
    if (s.nonFinite > 0) {
      const i = s.firstNonFinite;
      throw new SaeMatchInputError(
        `${sae.source}: tensor '${name}' has ${s.nonFinite} non-finite value${s.nonFinite > 1 ? 's' : ''} ` +
          `(first: ${name}${position(shapes[name], i)} = ${x[i]})`,
      );
    }
    if (name === 'threshold' && s.nonPositive > 0) {
      const i = s.firstNonPositive;
      throw new SaeMatchInputError(
        `${sae.source}: ${s.nonPositive} threshold${s.nonPositive > 1 ? 's are' : ' is'} <= 0 ` +
          `(first: threshold[${i}] = ${x[i]}); folding (W_enc/θ, W_dec·θ) needs θ > 0`,
      );
    }
  }
}

/** Loads and validates one SAE: names, ranks, shapes, dtypes, declared sizes and (unless skipped) values. */
export async function loadSae(path: string, opts: LoadSaeOptions = {}): Promise<Sae> {
  const abs = resolve(path);
  const { format, file } = await detectSaeFormat(abs);
  const r = await layoutOf(format).read(file, opts.signal);
  checkPresent(r);
  const { dIn, dOut, dSae } = checkShapes(r);
  const t = r.tensors;
  const W_enc = r.transposed?.includes('W_enc') ? await transposed(t.W_enc!, dSae, dIn, `${r.file}: W_enc`, opts.signal) : t.W_enc!.data!;
  const W_dec = r.transposed?.includes('W_dec') ? await transposed(t.W_dec!, dOut, dSae, `${r.file}: W_dec`, opts.signal) : t.W_dec!.data!;
  const threshold = r.architecture !== 'jumprelu' ? null
    : r.scalarThreshold !== undefined ? new Float32Array(dSae).fill(r.scalarThreshold) : t.threshold!.data!;
  const c = { W_enc, W_dec, b_enc: t.b_enc?.data ?? new Float32Array(dSae), b_dec: t.b_dec!.data!, threshold, dIn, dOut, dSae };
  const norms = await toModelUnits(r, c, { r_mag: t.r_mag?.data ?? undefined, b_mag: t.b_mag?.data ?? undefined }, opts.signal);
  const sae: Sae = {
    source: r.file, format, architecture: r.architecture, kind: r.kind, dModel: dIn, dOut, dSae,
    W_enc: c.W_enc, W_dec: c.W_dec, b_enc: c.b_enc, b_dec: c.b_dec, threshold,
    foldScale: null, foldRule: '', meta: r.meta,
  };
  if (!opts.skipValueChecks) await checkSaeValues(sae, opts.signal);
  const f = foldScale(r.architecture, r, threshold, norms);
  sae.foldScale = f.scale;
  sae.foldRule = f.rule;
  return sae;
}
