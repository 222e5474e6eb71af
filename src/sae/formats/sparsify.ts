// EleutherAI sparsify: <run>/<hookpoint>/cfg.json + sae.safetensors, hookpoints named layers.{i}
// (older runs: layer_{i}). TopK SAEs: encoder.weight [num_latents, d_in] (W_enc transposed),
// encoder.bias, W_dec [num_latents, d_in], b_dec; cfg k, num_latents, expansion_factor,
// normalize_decoder, d_in.
import { basename, join } from 'node:path';
import type { SaeLayout, SaeMeta } from '../types.js';
import { type Config, headerDtype, isFile, layerOfHook, num, readConfig, readTensors } from './common.js';

const WEIGHTS = 'sae.safetensors';

function metaOf(path: string, cfg: Config | undefined): SaeMeta {
  const hook = basename(path);
  const layer = layerOfHook(hook);
  const k = num(cfg, 'k');
  return { hook, site: hook.replace(/^layers?[._]\d+\.?/, '') || 'resid', ...(layer !== undefined ? { layer } : {}), ...(k !== undefined ? { k } : {}) };
}

export const sparsify: SaeLayout = {
  format: 'sparsify',
  detect: (path) => isFile(join(path, WEIGHTS)),
  files: (path) => [join(path, WEIGHTS), join(path, 'cfg.json')],
  async describe(path) {
    const cfg = await readConfig(join(path, 'cfg.json'), true);
    const dtype = await headerDtype(join(path, WEIGHTS), 'W_dec');
    return { architecture: 'topk', kind: 'sae', meta: { ...metaOf(path, cfg), ...(dtype ? { dtype } : {}) }, dSae: num(cfg, 'num_latents'), dIn: num(cfg, 'd_in') };
  },
  async read(path, signal) {
    const cfgPath = join(path, 'cfg.json');
    const cfg = await readConfig(cfgPath, true);
    const file = join(path, WEIGHTS);
    const names = { W_enc: 'encoder.weight', b_enc: 'encoder.bias', W_dec: 'W_dec', b_dec: 'b_dec' } as const;
    const tensors = await readTensors(file, names, signal);
    const dIn = num(cfg, 'd_in'), latents = num(cfg, 'num_latents') || undefined;
    const ef = num(cfg, 'expansion_factor');
    return {
      format: 'sparsify', file, ...(cfg ? { config: cfgPath } : {}), architecture: 'topk', kind: 'sae', tensors, names,
      transposed: ['W_enc'], rescaleByDecoderNorm: false,
      declared: { dIn, dOut: dIn, dSae: latents ?? (dIn !== undefined && ef ? Math.round(dIn * ef) : undefined) },
      meta: { ...metaOf(path, cfg), dtype: tensors.W_dec?.dtype },
    };
  },
};
