// SAELens: <dir>/cfg.json + <dir>/sae_weights.safetensors, tensors W_enc [d_in, d_sae], W_dec
// [d_sae, d_out], b_enc, b_dec and per architecture threshold (jumprelu), b_gate/b_mag/r_mag (gated).
// cfg.json of SAELens 6 names `architecture` and keeps the hook in `metadata`; older configs name the
// hook `hook_point` and the activation `activation_fn_str` ('relu', 'topk' with activation_fn_kwargs.k).
import { join } from 'node:path';
import { SaeMatchInputError } from '../../errors.js';
import type { SaeArchitecture, SaeKind, SaeLayout, SaeMeta } from '../types.js';
import { bool, type Config, headerDtype, isFile, layerOfHook, num, obj, readConfig, readTensors, str } from './common.js';

const WEIGHTS = 'sae_weights.safetensors';

/** The architecture and kind a SAELens config declares (hasThreshold: the weights hold a threshold). */
function modelOf(cfg: Config | undefined, cfgPath: string, hasThreshold: boolean): { architecture: SaeArchitecture; kind: SaeKind } {
  const arch = str(cfg, 'architecture');
  if (arch !== undefined) {
    const kind: SaeKind = arch.includes('skip_transcoder') ? 'skip-transcoder' : arch.includes('transcoder') ? 'transcoder' : 'sae';
    const base = arch.replace(/_?(skip_)?transcoder$/, '') || 'standard';
    if (base === 'jumprelu' || base === 'standard' || base === 'topk' || base === 'gated') return { architecture: base, kind };
    if (base === 'batchtopk') return { architecture: 'topk', kind };
    throw new SaeMatchInputError(`${cfgPath}: architecture '${arch}' is not one sae-match reads (jumprelu, standard, topk, batchtopk, gated, and their transcoders)`);
  }
  const fn = str(cfg, 'activation_fn_str') ?? str(cfg, 'activation_fn');
  if (fn === 'topk') return { architecture: 'topk', kind: 'sae' };
  if (fn === 'jumprelu' || hasThreshold) return { architecture: 'jumprelu', kind: 'sae' };
  if (fn === undefined || fn === 'relu') return { architecture: 'standard', kind: 'sae' };
  throw new SaeMatchInputError(`${cfgPath}: activation_fn_str '${fn}' is not one sae-match reads (relu, topk, jumprelu)`);
}

function metaOf(cfg: Config | undefined): SaeMeta {
  const md = obj(cfg, 'metadata');
  const hook = str(cfg, 'hook_name') ?? str(md, 'hook_name') ?? str(cfg, 'hook_point');
  const hookOut = str(cfg, 'hook_name_out') ?? str(md, 'hook_name_out');
  const layer = num(cfg, 'hook_layer') ?? num(md, 'hook_layer') ?? num(cfg, 'hook_point_layer') ?? layerOfHook(hook);
  const k = num(cfg, 'k') ?? num(obj(cfg, 'activation_fn_kwargs'), 'k');
  return {
    ...(hook ? { hook, site: hook.replace(/^blocks\.\d+\./, '') } : {}), ...(hookOut ? { hookOut } : {}),
    ...(layer !== undefined ? { layer } : {}), ...(k !== undefined ? { k } : {}),
    ...((str(cfg, 'model_name') ?? str(md, 'model_name')) ? { model: str(cfg, 'model_name') ?? str(md, 'model_name') } : {}),
  };
}

export const saeLens: SaeLayout = {
  format: 'saelens',
  detect: (path) => isFile(join(path, WEIGHTS)),
  files: (path) => [join(path, WEIGHTS), join(path, 'cfg.json')],
  async describe(path) {
    const cfgPath = join(path, 'cfg.json');
    const cfg = await readConfig(cfgPath, true);
    const dtype = await headerDtype(join(path, WEIGHTS), 'W_dec');
    const { architecture, kind } = modelOf(cfg, cfgPath, false);
    return { architecture, kind, meta: { ...metaOf(cfg), ...(dtype ? { dtype } : {}) }, dSae: num(cfg, 'd_sae'), dIn: num(cfg, 'd_in') };
  },
  async read(path, signal) {
    const cfgPath = join(path, 'cfg.json');
    const cfg = await readConfig(cfgPath, true);
    const file = join(path, WEIGHTS);
    const tensors = await readTensors(file, {
      W_enc: 'W_enc', W_dec: 'W_dec', b_enc: 'b_enc', b_dec: 'b_dec', threshold: 'threshold', b_gate: 'b_gate', b_mag: 'b_mag', r_mag: 'r_mag',
    }, signal);
    const { architecture, kind } = modelOf(cfg, cfgPath, tensors.threshold !== undefined);
    const dIn = num(cfg, 'd_in'), dSae = num(cfg, 'd_sae'), dOut = num(cfg, 'd_out');
    return {
      format: 'saelens', file, ...(cfg ? { config: cfgPath } : {}), architecture, kind, tensors,
      rescaleByDecoderNorm: bool(cfg, 'rescale_acts_by_decoder_norm') ?? false,
      declared: { dIn, dSae, dOut: dOut ?? (kind === 'sae' ? dIn : undefined) },
      meta: { ...metaOf(cfg), dtype: tensors.W_dec?.dtype },
    };
  },
};
