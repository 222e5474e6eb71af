// Gemma Scope (Gemma 2): <root>/layer_{L}/width_{W}/average_l0_{K}/params.npz, np.savez of W_enc
// [d_model, d_sae], W_dec [d_sae, d_model], b_enc, b_dec, threshold. JumpReLU, per-latent thresholds.
import { join } from 'node:path';
import { readNpz } from '../../io/npz.js';
import type { CanonicalTensor, SaeLayout, SaeMeta } from '../types.js';
import { isFile, npyToRaw } from './common.js';

const fileOf = (path: string) => (path.endsWith('.npz') ? path : join(path, 'params.npz'));

/** Width and average L0 from the path Gemma Scope stores them in. */
function metaOf(path: string): SaeMeta {
  const m = /(?:^|\/)layer_(\d+)\/width_([^/]+)\/average_l0_(\d+)(?:\/|$)/.exec(path);
  return m ? { layer: Number(m[1]), width: m[2], l0: Number(m[3]), dtype: 'float32' } : { dtype: 'float32' };
}

export const gemmaScope: SaeLayout = {
  format: 'gemmascope',
  detect: async (path) => (path.endsWith('.npz') ? isFile(path) : isFile(join(path, 'params.npz'))),
  files: (path) => [fileOf(path)],
  describe: async (path) => ({ architecture: 'jumprelu', kind: 'sae', meta: metaOf(path) }),
  async read(path, signal) {
    const file = fileOf(path);
    const arrays = await readNpz(file, { signal });
    const tensors: Partial<Record<CanonicalTensor, Awaited<ReturnType<typeof npyToRaw>>>> = {};
    for (const [k, a] of Object.entries(arrays)) tensors[k as CanonicalTensor] = await npyToRaw(a, `${file}: tensor '${k}'`);
    return { format: 'gemmascope', file, architecture: 'jumprelu', kind: 'sae', tensors, meta: metaOf(path) };
  },
};
