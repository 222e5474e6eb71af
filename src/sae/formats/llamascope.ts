// Llama Scope (Llama-3.1-8B): Llama3_1-8B-Base-L{L}{R|A|M|TC}-{8x|32x}/ with hyperparams.json and
// checkpoints/final.safetensors (bfloat16): encoder.weight [d_sae, d_model], encoder.bias,
// decoder.weight [d_model, d_sae], decoder.bias. One scalar jump_relu_threshold; with
// norm_activation 'dataset-wise' the SAE sees x·√d/norm_in and writes x̂·norm_out/√d
// (dataset_average_activation_norm {in, out}); with sparsity_include_decoder_norm its gate compares
// z·‖W_dec[i]‖ with the threshold.
import { basename, join } from 'node:path';
import { SaeMatchInputError } from '../../errors.js';
import type { SaeKind, SaeLayout, SaeMeta } from '../types.js';
import { bool, type Config, headerDtype, isFile, layerOfHook, num, obj, positive, readConfig, readTensors, str } from './common.js';

const WEIGHTS = join('checkpoints', 'final.safetensors');
/** Llama3_1-8B-Base-L15R-8x → layer 15, site R, width 8x. */
export const LLAMA_SCOPE_FOLDER = /-L(\d+)(R|A|M|TC)-(\d+x)$/;

function metaOf(path: string, cfg: Config | undefined): SaeMeta {
  const m = LLAMA_SCOPE_FOLDER.exec(basename(path));
  const hook = str(cfg, 'hook_point_in'), hookOut = str(cfg, 'hook_point_out');
  const layer = m ? Number(m[1]) : layerOfHook(hook);
  return {
    ...(m ? { site: m[2], width: m[3] } : {}), ...(layer !== undefined ? { layer } : {}),
    ...(hook ? { hook } : {}), ...(hookOut ? { hookOut } : {}), model: 'meta-llama/Llama-3.1-8B',
  };
}

const kindOf = (path: string, cfg: Config | undefined): SaeKind =>
  LLAMA_SCOPE_FOLDER.exec(basename(path))?.[2] === 'TC' || (str(cfg, 'hook_point_in') !== undefined && str(cfg, 'hook_point_in') !== str(cfg, 'hook_point_out'))
    ? 'transcoder' : 'sae';

export const llamaScope: SaeLayout = {
  format: 'llamascope',
  detect: (path) => isFile(join(path, WEIGHTS)),
  files: (path) => [join(path, WEIGHTS), join(path, 'hyperparams.json')],
  async describe(path) {
    const cfg = await readConfig(join(path, 'hyperparams.json'), true);
    const dtype = await headerDtype(join(path, WEIGHTS), 'decoder.weight');
    return { architecture: 'jumprelu', kind: kindOf(path, cfg), meta: { ...metaOf(path, cfg), ...(dtype ? { dtype } : {}) }, dSae: num(cfg, 'd_sae'), dIn: num(cfg, 'd_model') };
  },
  async read(path, signal) {
    const cfgPath = join(path, 'hyperparams.json');
    const cfg = (await readConfig(cfgPath))!;
    const act = str(cfg, 'act_fn');
    if (act !== undefined && act !== 'jumprelu')
      throw new SaeMatchInputError(`${cfgPath}: act_fn '${act}'; Llama Scope checkpoints are JumpReLU ('jumprelu')`);
    const theta = positive(cfg, 'jump_relu_threshold', cfgPath);
    const dModel = positive(cfg, 'd_model', cfgPath);
    let datasetScale: { in: number; out: number } | undefined;
    const norm = str(cfg, 'norm_activation');
    if (norm === 'dataset-wise') {
      const n = obj(cfg, 'dataset_average_activation_norm');
      if (!n) throw new SaeMatchInputError(`${cfgPath}: norm_activation is 'dataset-wise' but dataset_average_activation_norm {in, out} is missing`);
      const nIn = positive(n, 'in', `${cfgPath}: dataset_average_activation_norm`);
      const nOut = num(n, 'out') ?? nIn;
      datasetScale = { in: Math.sqrt(dModel) / nIn, out: Math.sqrt(dModel) / nOut };
    } else if (norm !== undefined && norm !== 'none' && norm !== 'token-wise') {
      throw new SaeMatchInputError(`${cfgPath}: norm_activation '${norm}' is not one sae-match reads (dataset-wise, token-wise, none)`);
    }
    if (bool(cfg, 'apply_decoder_bias_to_pre_encoder'))
      throw new SaeMatchInputError(`${cfgPath}: apply_decoder_bias_to_pre_encoder is true; sae-match reads Llama Scope checkpoints without it (as released)`);
    const file = join(path, WEIGHTS);
    const names = { W_enc: 'encoder.weight', b_enc: 'encoder.bias', W_dec: 'decoder.weight', b_dec: 'decoder.bias' } as const;
    const tensors = await readTensors(file, names, signal);
    return {
      format: 'llamascope', file, config: cfgPath, architecture: 'jumprelu', kind: kindOf(path, cfg), tensors, names,
      transposed: ['W_enc', 'W_dec'], scalarThreshold: theta, ...(datasetScale ? { datasetScale } : {}),
      thresholdOnDecoderNorm: bool(cfg, 'sparsity_include_decoder_norm') ?? false,
      declared: { dIn: dModel, dSae: num(cfg, 'd_sae') }, meta: { ...metaOf(path, cfg), dtype: tensors.W_dec?.dtype },
    };
  },
};
