// Writing one synthetic layer in each layout sae-match reads (tools/synth.ts makes the tensors): the
// folder names, tensor names, orientations, dtypes and configs of the real files, so the demo, the
// benchmarks and the tests run every loader on planted suites. The raw tensors come as a JumpReLU SAE
// (W_enc [d, n], W_dec [n, d], b_enc, b_dec, threshold θ); each architecture is written so that its
// own folding rule (sae/architecture.ts) recovers the planted directions:
//   standard, gated, topk (rescaled by decoder norm)  fold by 1/‖W_dec‖: the raw weights as they are
//   (a gated SAE's magnitude path is W_enc with r_mag = 0, b_mag = b_gate = b_enc);
//   sparsify (TopK, normalize_decoder)  SAELens' fold_W_dec_norm applied before writing: unit decoder rows;
//   Llama Scope  one scalar threshold and sparsity_include_decoder_norm (θ_i = θ/‖W_dec[i]‖), the
//   dataset norm, encoder and decoder stored transposed, bfloat16 unless --dtype f16 (f32 means the default).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { allocFloat32 } from '../io/buffers.js';
import { callNative } from '../binding/addon.js';
import { scaleMatrix } from '../sae/architecture.js';
import type { NpyArray } from '../io/npy.js';
import { writeNpy } from '../io/npy.js';
import { writeNpz } from '../io/npz-write.js';
import { writeSafetensors, type SafetensorsDtype } from '../io/safetensors.js';
import { writeJson } from '../io/write.js';
import type { SynthArchitecture, SynthFormat } from './synth-formats.js';

export interface LayerWrite {
  format: SynthFormat;
  architecture: SynthArchitecture;
  dtype: 'f32' | 'f16' | 'bf16';
  width: number;
  dModel: number;
  /** Width label of the folder names (16k; Llama Scope: the expansion, 8x). */
  label: string;
  /** Gemma Scope's average L0 / Gemma Scope 2's config l0, and Gemma Scope 2's label for it. */
  l0?: number;
  l0Label?: string;
}

/** TopK's k in the configs: what a canonical SAE's L0 would be. */
const TOPK_K = 64;
/** Llama Scope's scalar threshold, and its dataset norm as a multiple of √d_model. */
const LLAMA_THETA = 0.2;
const LLAMA_NORM = 1.25;
const SAFETENSORS_DTYPE = { f32: 'F32', f16: 'F16', bf16: 'BF16' } as const;
const DTYPE_NAME = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' } as const;

/** The SAE path of a layer (what loadSae and discovery take), relative to the suite folder. */
export function layerPath(o: Pick<LayerWrite, 'format' | 'label' | 'l0' | 'l0Label'>, layer: number): string {
  switch (o.format) {
    case 'gemmascope': return join(`layer_${layer}`, `width_${o.label}`, `average_l0_${o.l0}`, 'params.npz');
    case 'gemmascope2': return join('resid_post', `layer_${layer}_width_${o.label}_l0_${o.l0Label}`);
    case 'sparsify': return `layers.${layer}`;
    case 'llamascope': return `Llama3_1-8B-Base-L${layer}R-${o.label}`;
    default: return `layer_${layer}`;
  }
}

async function transposed(src: Float32Array, rows: number, cols: number): Promise<Float32Array> {
  const out = allocFloat32(rows * cols, 'synth: transposed tensor');
  await callNative((a, token) => a.transpose({ src, rows, cols, out, threads: 0 }, token));
  return out;
}

/** SAELens' fold_W_dec_norm, in place: W_dec rows to unit norm, W_enc columns and b_enc times the norm (native passes). */
async function foldDecoderNorms(t: Record<string, NpyArray>, n: number, d: number): Promise<void> {
  const W_dec = t.W_dec!.data as Float32Array;
  const norm = new Float64Array(n);
  await callNative((a, token) => a.rowNorms({ x: W_dec, rows: n, cols: d, out: norm, threads: 0 }, token));
  for (let i = 0; i < n; i++) if (!(norm[i]! > 0)) norm[i] = 1; // a zero row writes nothing: nothing to fold
  await scaleMatrix(W_dec, n, d, { row: Float64Array.from(norm, (x) => 1 / x) });
  await scaleMatrix(t.W_enc!.data as Float32Array, d, n, { col: norm });
  await scaleMatrix(t.b_enc!.data as Float32Array, 1, n, { col: norm });
}

const st = (a: NpyArray | Float32Array, shape?: number[]) =>
  a instanceof Float32Array ? { shape: shape!, data: a } : { shape: a.shape, data: a.data as Float32Array };

/** Writes one layer's SAE under `dir` in `o.format`. `t` is reused by the caller once this resolves. */
export async function writeLayer(dir: string, layer: number, t: Record<string, NpyArray>, o: LayerWrite): Promise<void> {
  const path = join(dir, layerPath(o, layer));
  const { width: n, dModel: d } = o;
  if (o.format === 'gemmascope') {
    await mkdir(join(path, '..'), { recursive: true });
    return writeNpz(path, t);
  }
  await mkdir(path, { recursive: true });
  const hook = `blocks.${layer}.hook_resid_post`;
  const dtype = SAFETENSORS_DTYPE[o.dtype] as SafetensorsDtype;
  switch (o.format) {
    case 'npy':
      for (const [k, a] of Object.entries(t)) await writeNpy(join(path, `${k}.npy`), a);
      return;
    case 'gemmascope2':
      await writeSafetensors(join(path, 'params.safetensors'), {
        w_enc: st(t.W_enc!), w_dec: st(t.W_dec!), b_enc: st(t.b_enc!), b_dec: st(t.b_dec!), threshold: st(t.threshold!),
      }, { dtype });
      return writeJson(join(path, 'config.json'), {
        width: n, l0: o.l0, architecture: 'jump_relu', hf_hook_point_in: `model.layers.${layer}.output`,
        hf_hook_point_out: `model.layers.${layer}.output`, model_name: 'synthetic', affine_connection: false, type: 'sae',
      });
    case 'sparsify': {
      await foldDecoderNorms(t, n, d);
      await writeSafetensors(join(path, 'sae.safetensors'), {
        'encoder.weight': st(await transposed(t.W_enc!.data as Float32Array, d, n), [n, d]), 'encoder.bias': st(t.b_enc!),
        W_dec: st(t.W_dec!), b_dec: st(t.b_dec!),
      }, { dtype });
      return writeJson(join(path, 'cfg.json'), {
        expansion_factor: n / d, normalize_decoder: true, num_latents: n, k: TOPK_K, multi_topk: false, skip_connection: false, d_in: d,
      });
    }
    case 'llamascope': {
      await mkdir(join(path, 'checkpoints'), { recursive: true });
      // Written as they are (transposed): the loader's θ_i = θ/‖W_dec[i]‖ folds the decoder to
      // (θ/s_out)·d_i and the encoder to (s_in/θ)·e_i, the planted directions up to two constants.
      await writeSafetensors(join(path, 'checkpoints', 'final.safetensors'), {
        'encoder.weight': st(await transposed(t.W_enc!.data as Float32Array, d, n), [n, d]), 'encoder.bias': st(t.b_enc!),
        'decoder.weight': st(await transposed(t.W_dec!.data as Float32Array, n, d), [d, n]), 'decoder.bias': st(t.b_dec!),
      }, { dtype: o.dtype === 'f32' ? 'BF16' : dtype });
      return writeJson(join(path, 'hyperparams.json'), {
        d_model: d, d_sae: n, hook_point_in: hook, hook_point_out: hook, use_decoder_bias: true, apply_decoder_bias_to_pre_encoder: false,
        act_fn: 'jumprelu', jump_relu_threshold: LLAMA_THETA, norm_activation: 'dataset-wise',
        dataset_average_activation_norm: { in: LLAMA_NORM * Math.sqrt(d), out: LLAMA_NORM * Math.sqrt(d) }, sparsity_include_decoder_norm: true, top_k: TOPK_K,
      });
    }
    case 'saelens': {
      const tensors: Record<string, { shape: number[]; data: Float32Array }> = { W_enc: st(t.W_enc!), W_dec: st(t.W_dec!), b_dec: st(t.b_dec!) };
      if (o.architecture === 'gated') Object.assign(tensors, { b_gate: st(t.b_enc!), b_mag: st(t.b_enc!), r_mag: st(new Float32Array(n), [n]) });
      else tensors.b_enc = st(t.b_enc!);
      if (o.architecture === 'jumprelu') tensors.threshold = st(t.threshold!);
      await writeSafetensors(join(path, 'sae_weights.safetensors'), tensors, { dtype });
      return writeJson(join(path, 'cfg.json'), {
        architecture: o.architecture, d_in: d, d_sae: n, dtype: DTYPE_NAME[o.dtype],
        ...(o.architecture === 'topk' ? { k: TOPK_K, rescale_acts_by_decoder_norm: true } : {}),
        model_name: 'synthetic', hook_name: hook, hook_layer: layer, // where SAELens before 6.0 reads them
        apply_b_dec_to_input: false, normalize_activations: 'none',
        metadata: { hook_name: hook, hook_layer: layer },
      });
    }
  }
}
