// Gemma Scope 2 (Gemma 3): <repo>/{site}/layer_{L}_width_{W}_l0_{small|medium|big}[_affine]/ holding
// params.safetensors (float32, lower-case keys w_enc [d_in, d_sae], w_dec [d_sae, d_out], b_enc, b_dec,
// threshold, and affine_skip_connection [d_in, d_out] for skip transcoders) and config.json (width, l0,
// architecture 'jump_relu', hf_hook_point_in/out, model_name, affine_connection, type).
import { basename, dirname, join } from 'node:path';
import { SaeMatchInputError } from '../../errors.js';
import type { SaeKind, SaeLayout, SaeMeta } from '../types.js';
import { bool, type Config, headerDtype, isFile, num, readConfig, readTensors, str } from './common.js';

const WEIGHTS = 'params.safetensors';

/** layer_12_width_16k_l0_medium_affine → its parts. */
export const GS2_FOLDER = /^layer_(\d+)_width_([0-9]+[km]?)_l0_([a-z0-9]+?)(_affine)?$/;

function kindOf(cfg: Config | undefined, affine: boolean): SaeKind {
  if (affine || bool(cfg, 'affine_connection')) return 'skip-transcoder';
  const type = str(cfg, 'type');
  return type !== undefined && type.includes('transcoder') ? 'transcoder' : 'sae';
}

function metaOf(path: string, cfg: Config | undefined): SaeMeta {
  const m = GS2_FOLDER.exec(basename(path));
  const l0 = num(cfg, 'l0');
  return {
    site: basename(dirname(path)),
    ...(m ? { layer: Number(m[1]), width: m[2], l0Label: m[3] } : {}),
    ...(l0 !== undefined ? { l0 } : {}),
    ...(str(cfg, 'hf_hook_point_in') ? { hook: str(cfg, 'hf_hook_point_in') } : {}),
    ...(str(cfg, 'hf_hook_point_out') ? { hookOut: str(cfg, 'hf_hook_point_out') } : {}),
    ...(str(cfg, 'model_name') ? { model: str(cfg, 'model_name') } : {}),
  };
}

function checkArchitecture(cfg: Config | undefined, cfgPath: string): void {
  const arch = str(cfg, 'architecture');
  if (arch !== undefined && arch !== 'jump_relu' && arch !== 'jumprelu')
    throw new SaeMatchInputError(`${cfgPath}: architecture '${arch}'; Gemma Scope 2 SAEs are 'jump_relu'`);
}

export const gemmaScope2: SaeLayout = {
  format: 'gemmascope2',
  detect: (path) => isFile(join(path, WEIGHTS)),
  files: (path) => [join(path, WEIGHTS), join(path, 'config.json')],
  async describe(path) {
    const cfgPath = join(path, 'config.json');
    const cfg = await readConfig(cfgPath, true);
    checkArchitecture(cfg, cfgPath);
    const dtype = await headerDtype(join(path, WEIGHTS), 'w_dec');
    return {
      architecture: 'jumprelu', kind: kindOf(cfg, GS2_FOLDER.exec(basename(path))?.[4] !== undefined),
      meta: { ...metaOf(path, cfg), ...(dtype ? { dtype } : {}) }, dSae: num(cfg, 'width'),
    };
  },
  async read(path, signal) {
    const cfgPath = join(path, 'config.json');
    const cfg = await readConfig(cfgPath, true);
    checkArchitecture(cfg, cfgPath);
    const file = join(path, WEIGHTS);
    const names = { W_enc: 'w_enc', W_dec: 'w_dec', b_enc: 'b_enc', b_dec: 'b_dec', threshold: 'threshold' } as const;
    const tensors = await readTensors(file, names, signal);
    return {
      format: 'gemmascope2', file, ...(cfg ? { config: cfgPath } : {}), architecture: 'jumprelu',
      kind: kindOf(cfg, GS2_FOLDER.exec(basename(path))?.[4] !== undefined), tensors, names,
      declared: { dSae: num(cfg, 'width') }, meta: { ...metaOf(path, cfg), dtype: tensors.W_dec?.dtype },
    };
  },
};
