// Per architecture: what the loaded tensors mean in the model's units, and the per-latent scale θ
// that folding moves into the weights (W_enc/θ, b_enc/θ, W_dec·θ, so every latent is on one scale
// and the SAE computes the same function). The README's table states the same rules.
//   jumprelu  θ = the threshold (the paper's folding); a scalar threshold is broadcast: it changes
//             nothing for `dec` or `enc` alone but reweights the two halves of `enc-dec` by θ_A·θ_B.
//             Llama Scope's sparsity_include_decoder_norm gates on z·‖W_dec[i]‖ > θ: θ_i = θ/‖W_dec[i]‖.
//   standard  θ = 1/‖W_dec[i]‖: SAELens' fold_W_dec_norm (W_enc·‖W_dec‖, b_enc·‖W_dec‖, W_dec/‖W_dec‖);
//             ReLU commutes with a positive scale, so the function is unchanged.
//   gated     the magnitude path W_enc·exp(r_mag), b_mag is the encoder compared, θ = 1/‖W_dec[i]‖
//             (the gate's sign is unchanged by a positive scale).
//   topk      θ = 1/‖W_dec[i]‖ only when activations are rescaled by the decoder norm before the top k
//             are chosen (SAELens rescale_acts_by_decoder_norm); with unit-norm decoder rows folding is
//             the identity (θ = 1); otherwise a scale would change which k latents fire: not foldable.
// A latent with a zero decoder row writes nothing; its θ is 1 (nothing to fold).
import { callNative } from '../binding/addon.js';
import type { SaeArchitecture, SaeRead } from './types.js';

/** Decoder rows count as unit norm within this (sparsify's normalize_decoder, float32 rounding). */
const UNIT_NORM_TOLERANCE = 1e-4;

async function rowNorms(x: Float32Array, rows: number, cols: number, signal?: AbortSignal): Promise<Float64Array> {
  const out = new Float64Array(rows);
  await callNative((a, token) => a.rowNorms({ x, rows, cols, out, threads: 0 }, token), signal);
  return out;
}

export async function scaleMatrix(
  x: Float32Array, rows: number, cols: number, s: { row?: Float64Array; col?: Float64Array; scalar?: number }, signal?: AbortSignal,
): Promise<void> {
  await callNative((a, token) => a.scaleMatrix({
    x, rows, cols, ...(s.row ? { rowScale: s.row } : {}), ...(s.col ? { colScale: s.col } : {}), scalar: s.scalar ?? 1, threads: 0,
  }, token), signal);
}

export interface Canonical {
  W_enc: Float32Array; W_dec: Float32Array; b_enc: Float32Array; b_dec: Float32Array;
  threshold: Float32Array | null; dIn: number; dOut: number; dSae: number;
}

/**
 * Converts, in place, what a reader returned into the model's units (Llama Scope's dataset norm, a
 * gated SAE's magnitude encoder). `c` holds W_enc [d_in, d_sae] and W_dec [d_sae, d_out] already.
 * Returns the decoder norms of the file's own decoder (before any rescale), which θ may depend on.
 */
export async function toModelUnits(read: SaeRead, c: Canonical, extra: { r_mag?: Float32Array; b_mag?: Float32Array }, signal?: AbortSignal): Promise<Float64Array> {
  const norms = await rowNorms(c.W_dec, c.dSae, c.dOut, signal);
  if (read.architecture === 'gated') {
    await scaleMatrix(c.W_enc, c.dIn, c.dSae, { col: Float64Array.from(extra.r_mag!, Math.exp) }, signal);
    c.b_enc = extra.b_mag!;
  }
  if (read.datasetScale) {
    // x' = x·s_in enters the encoder: W_enc x' = (s_in·W_enc) x. The output x̂ = x̂'/s_out.
    await scaleMatrix(c.W_enc, c.dIn, c.dSae, { scalar: read.datasetScale.in }, signal);
    await scaleMatrix(c.W_dec, c.dSae, c.dOut, { scalar: 1 / read.datasetScale.out }, signal);
    await scaleMatrix(c.b_dec, 1, c.dOut, { scalar: 1 / read.datasetScale.out }, signal);
  }
  return norms;
}

/** θ per latent and the rule in words; null θ when folding would change the SAE's function. */
export function foldScale(
  architecture: SaeArchitecture, read: SaeRead, threshold: Float32Array | null, norms: Float64Array,
): { scale: Float32Array | null; rule: string } {
  const n = norms.length;
  const inverseNorms = () => Float32Array.from(norms, (x) => (x > 0 ? 1 / x : 1));
  if (architecture === 'jumprelu') {
    if (read.thresholdOnDecoderNorm) {
      const t = threshold!;
      return { scale: Float32Array.from(norms, (x, i) => (x > 0 ? t[i]! / x : t[i]!)), rule: 'θ/‖W_dec‖ (threshold on z·‖W_dec‖)' };
    }
    return { scale: threshold, rule: read.scalarThreshold !== undefined ? 'scalar threshold θ' : 'threshold θ' };
  }
  if (architecture === 'standard') return { scale: inverseNorms(), rule: '1/‖W_dec‖ (fold_W_dec_norm)' };
  if (architecture === 'gated') return { scale: inverseNorms(), rule: '1/‖W_dec‖ (magnitude path)' };
  if (read.rescaleByDecoderNorm) return { scale: inverseNorms(), rule: '1/‖W_dec‖ (acts rescaled by decoder norm)' };
  let unit = true;
  for (let i = 0; i < n && unit; i++) unit = Math.abs(norms[i]! - 1) <= UNIT_NORM_TOLERANCE;
  if (unit) return { scale: new Float32Array(n).fill(1), rule: 'identity (unit-norm decoder)' };
  return { scale: null, rule: 'none (TopK: a scale would change which k latents fire)' };
}
