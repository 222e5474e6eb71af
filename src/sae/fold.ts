// Folding (paper eq. 4) and the per-layer feature vectors the SAE Match cost is built from (eq. 3).
// Folding moves each latent's scale θ_i (the JumpReLU threshold; per architecture, sae/architecture.ts) into the weights, W_enc'[:, i] = W_enc[:, i]/θ_i,
// b_enc'[i] = b_enc[i]/θ_i, W_dec'[i, :] = W_dec[i, :]·θ_i, θ' = 1, so that every feature is on one
// scale without changing what the SAE computes. The arithmetic runs in native/core/sae/fold.cpp.
import { SaeMatchInputError } from '../errors.js';
import type { CostMetric, FeatureMatrix } from '../solve/cost.js';
import { allocFloat32 } from '../io/buffers.js';
import { callNative } from '../binding/addon.js';
import type { Sae } from './load.js';

/**
 * How a feature is compared across layers:
 *  - enc-dec (the paper's default): folded decoder row ⊕ folded encoder column, squared distance;
 *  - dec / enc: only one of them ("decoder only performs similarly, encoder only is poor");
 *  - cosine-dec: 1 − cosine of the unfolded decoder rows (what Feature Flow and SAELens proposals use).
 */
export const METRICS = ['enc-dec', 'dec', 'enc', 'cosine-dec'] as const;
export type MatchMetric = (typeof METRICS)[number];

export interface FeatureOptions {
  metric?: MatchMetric;
  /** > 0 appends biasWeight · b_enc'[i] to every feature vector (folded metrics only). */
  biasWeight?: number;
  /** false compares unfolded parameters (for studying what folding buys; the paper always folds). */
  fold?: boolean;
  signal?: AbortSignal;
}

/** The metric's cost-matrix form and the parts of the SAE its feature vectors are made of. */
export function metricParts(opts: FeatureOptions): { dec: boolean; enc: boolean; biasWeight: number; fold: boolean; cost: CostMetric } {
  const metric = opts.metric ?? 'enc-dec';
  if (!(METRICS as readonly string[]).includes(metric))
    throw new SaeMatchInputError(`unknown metric '${metric}' (one of ${METRICS.join(', ')})`);
  const biasWeight = opts.biasWeight ?? 0;
  if (!(Number.isFinite(biasWeight) && biasWeight >= 0)) throw new SaeMatchInputError(`bias weight must be a finite number >= 0, got ${biasWeight}`);
  if (metric === 'cosine-dec') {
    if (biasWeight > 0) throw new SaeMatchInputError('the bias term applies to the squared-distance metrics (enc-dec, dec, enc), not cosine-dec');
    return { dec: true, enc: false, biasWeight: 0, fold: false, cost: 'cosine' };
  }
  return { dec: metric !== 'enc', enc: metric !== 'dec', biasWeight, fold: opts.fold ?? true, cost: 'sqeuclidean' };
}

/**
 * The scale θ `sae`'s features are folded by under `p`, or null for none (unfolded parameters). An
 * SAE whose folding would change its function (TopK without rescaling by decoder norm) has no folded
 * form of its encoder: metrics that use the encoder are refused, `dec` compares the raw decoder.
 */
function scaleFor(sae: Sae, p: ReturnType<typeof metricParts>, metric: MatchMetric): Float32Array | null {
  if (!p.fold) return null;
  if (sae.foldScale) return sae.foldScale;
  if (p.enc || p.biasWeight > 0)
    throw new SaeMatchInputError(
      `${sae.source}: a ${sae.architecture} SAE cannot be folded (${sae.foldRule}), so metric '${metric}' has no folded form; ` +
        `use --metric dec or cosine-dec (decoder only, no folding needed), or --no-fold to compare the raw parameters`,
    );
  return null;
}

/** One row per latent of `sae`, built once per layer and reused for both pairs the layer belongs to. */
export async function layerFeatures(sae: Sae, opts: FeatureOptions = {}): Promise<FeatureMatrix> {
  const p = metricParts(opts);
  const theta = scaleFor(sae, p, opts.metric ?? 'enc-dec');
  const dim = (p.dec ? sae.dOut : 0) + (p.enc ? sae.dModel : 0) + (p.biasWeight > 0 ? 1 : 0);
  const out = allocFloat32(sae.dSae * dim, `${sae.source}: feature vectors`);
  await callNative(
    (a, token) =>
      a.buildFeatures({
        W_enc: sae.W_enc, W_dec: sae.W_dec, b_enc: sae.b_enc, threshold: theta, dModel: sae.dModel, dOut: sae.dOut, dSae: sae.dSae,
        dec: p.dec, enc: p.enc, biasWeight: p.biasWeight, fold: theta !== null, out, threads: 0,
      }, token),
    opts.signal,
  );
  return { data: out, rows: sae.dSae, dim };
}

/** The folded SAE (θ' = 1): same function for every input, every feature on one scale. */
export async function foldThreshold(sae: Sae, signal?: AbortSignal): Promise<Sae> {
  const theta = sae.foldScale;
  if (!theta) throw new SaeMatchInputError(`${sae.source}: a ${sae.architecture} SAE cannot be folded (${sae.foldRule})`);
  for (let i = 0; i < sae.dSae; i++)
    if (!(theta[i]! > 0))
      throw new SaeMatchInputError(`${sae.source}: ${sae.architecture === 'jumprelu' ? 'threshold' : 'fold scale θ'}[${i}] = ${theta[i]} is not > 0; folding needs θ > 0`);
  const W_enc = allocFloat32(sae.W_enc.length);
  const W_dec = allocFloat32(sae.W_dec.length);
  const b_enc = new Float32Array(sae.dSae);
  await callNative(
    (a, token) => a.foldThreshold({
      W_enc: sae.W_enc, W_dec: sae.W_dec, b_enc: sae.b_enc, threshold: theta, dModel: sae.dModel, dOut: sae.dOut, dSae: sae.dSae,
      outWenc: W_enc, outWdec: W_dec, outBenc: b_enc, threads: 0,
    }, token),
    signal,
  );
  const ones = new Float32Array(sae.dSae).fill(1);
  return { ...sae, W_enc, W_dec, b_enc, b_dec: sae.b_dec, threshold: sae.threshold ? ones : null, foldScale: ones, foldRule: 'folded (θ = 1)' };
}
