// What one layer's SAE is once loaded, whatever layout it came from, and what a layout's reader hands
// the loader (sae/load.ts) before validation. The readers live in sae/formats/, one file per layout.

export type SaeFormat = 'gemmascope' | 'gemmascope2' | 'saelens' | 'sparsify' | 'llamascope' | 'npy';

/**
 * How a latent's activation is computed, which decides how it is folded (sae/architecture.ts):
 *  - jumprelu: f = z·1[z > θ] (Gemma Scope 1 and 2, SAELens jumprelu, Llama Scope);
 *  - standard: f = ReLU(z) (SAELens standard, pre-6.0 activation_fn_str 'relu');
 *  - topk: the k largest z kept (SAELens topk, sparsify);
 *  - gated: f = 1[gate > 0]·ReLU(magnitude) (SAELens gated).
 */
export type SaeArchitecture = 'jumprelu' | 'standard' | 'topk' | 'gated';

/** An SAE reconstructs its input; a transcoder predicts another site's output; a skip transcoder adds an affine skip. */
export type SaeKind = 'sae' | 'transcoder' | 'skip-transcoder';

/** What a layout's config says about an SAE, read without its weights (`ls`, discovery, manifests). */
export interface SaeMeta {
  /** The hook (or Gemma Scope 2 / Llama Scope site) the SAE reads. */
  site?: string;
  hook?: string;
  hookOut?: string;
  layer?: number;
  width?: string;
  l0?: number;
  l0Label?: string;
  /** The weights' dtype in the file (float32, float16, bfloat16, float64). */
  dtype?: string;
  /** TopK's k. */
  k?: number;
  model?: string;
}

/** A JumpReLU-style SAE in SAE Match's orientation, row-major float32, in the model's units. */
export interface Sae {
  /** The weights file or folder it was read from (absolute), named in every message about it. */
  source: string;
  format: SaeFormat;
  architecture: SaeArchitecture;
  kind: SaeKind;
  /** d_in: the width of the site the encoder reads. */
  dModel: number;
  /** d_out: the width the decoder writes (d_model except for transcoders). */
  dOut: number;
  dSae: number;
  /** [d_model, d_sae] (a gated SAE's magnitude encoder W_enc·exp(r_mag)). */
  W_enc: Float32Array;
  /** [d_sae, d_out] */
  W_dec: Float32Array;
  /** [d_sae] (a gated SAE's b_mag). */
  b_enc: Float32Array;
  /** [d_out] */
  b_dec: Float32Array;
  /** JumpReLU thresholds per latent (a scalar threshold is broadcast); null for the other architectures. */
  threshold: Float32Array | null;
  /**
   * The per-latent scale θ folding moves into the weights (W_enc/θ, b_enc/θ, W_dec·θ): the threshold
   * for JumpReLU, 1/‖W_dec[i]‖ for the ReLU-like architectures; null where folding would change what
   * the SAE computes (TopK without rescaling by decoder norm).
   */
  foldScale: Float32Array | null;
  /** The folding rule in words (ls, manifests, refusals). */
  foldRule: string;
  meta: SaeMeta;
}

export interface RawTensor {
  dtype: string;
  shape: number[];
  /** float32 values, or null for a dtype we cannot convert. */
  data: Float32Array | null;
}

/** The canonical tensor names a reader maps its file's tensors to. */
export type CanonicalTensor = 'W_enc' | 'W_dec' | 'b_enc' | 'b_dec' | 'threshold' | 'b_gate' | 'b_mag' | 'r_mag';

/** What a layout's reader returns: tensors under canonical names, still in the file's orientation. */
export interface SaeRead {
  format: SaeFormat;
  /** The weights file. */
  file: string;
  /** The config file, when the layout has one (named in messages about what it declares). */
  config?: string;
  architecture: SaeArchitecture;
  kind: SaeKind;
  tensors: Partial<Record<CanonicalTensor, RawTensor>>;
  /** The file's own name for each canonical tensor (for messages), when it differs. */
  names?: Partial<Record<CanonicalTensor, string>>;
  /** Tensors stored transposed relative to SAE Match ([d_sae, d_in] encoders, [d_out, d_sae] decoders). */
  transposed?: Array<'W_enc' | 'W_dec'>;
  /** One threshold for every latent (Llama Scope, SAELens BatchTopK saved as JumpReLU). */
  scalarThreshold?: number;
  /** TopK only: activations are rescaled by the decoder norm before the top k are chosen (SAELens). */
  rescaleByDecoderNorm?: boolean;
  /** Llama Scope's dataset-wise norm: the input is scaled by `in` = √d/norm_in, the output by 1/`out`. */
  datasetScale?: { in: number; out: number };
  /** Llama Scope's sparsity_include_decoder_norm: the gate compares z·‖W_dec[i]‖ with the threshold. */
  thresholdOnDecoderNorm?: boolean;
  /** Sizes the config declares, checked against the tensors. */
  declared?: { dIn?: number; dOut?: number; dSae?: number };
  meta: SaeMeta;
}

/** One layout: how to recognise an SAE folder of it, which files it reads, and how. */
export interface SaeLayout {
  format: SaeFormat;
  /** True when `dir` (a folder, or for Gemma Scope a params.npz) holds an SAE of this layout. */
  detect(path: string): Promise<boolean>;
  /** The files a load reads (resume keys on them). */
  files(path: string): string[];
  /** The config and headers only, no weights. */
  describe(path: string): Promise<{ architecture: SaeArchitecture; kind: SaeKind; meta: SaeMeta; dSae?: number; dIn?: number }>;
  read(path: string, signal?: AbortSignal): Promise<SaeRead>;
}
