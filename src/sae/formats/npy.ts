// A folder of .npy files, one per tensor (W_enc.npy, W_dec.npy, b_enc.npy, b_dec.npy, threshold.npy),
// as people save a JumpReLU SAE with np.save.
import { join } from 'node:path';
import { readNpy } from '../../io/npy.js';
import type { CanonicalTensor, RawTensor, SaeLayout } from '../types.js';
import { isFile, npyToRaw } from './common.js';

const NAMES = ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold'] as const;

export const npyFolder: SaeLayout = {
  format: 'npy',
  detect: (path) => isFile(join(path, 'W_enc.npy')),
  files: (path) => NAMES.map((n) => join(path, `${n}.npy`)),
  describe: async () => ({ architecture: 'jumprelu', kind: 'sae', meta: {} }),
  async read(path, signal) {
    const tensors: Partial<Record<CanonicalTensor, RawTensor>> = {};
    for (const name of NAMES) {
      signal?.throwIfAborted();
      const file = join(path, `${name}.npy`);
      if (await isFile(file)) tensors[name] = await npyToRaw(await readNpy(file), file);
    }
    return { format: 'npy', file: path, architecture: 'jumprelu', kind: 'sae', tensors, meta: {} };
  },
};
