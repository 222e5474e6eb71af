// What the layout readers share: reading a JSON config with a message naming the file, reading a
// safetensors file's tensors under canonical names, and the layer a hook name belongs to.
import { readFile } from 'node:fs/promises';
import { SaeMatchInputError } from '../../errors.js';
import { fsReason } from '../../io/write.js';
import { readSafetensors, readSafetensorsHeader } from '../../io/safetensors.js';
import { halfToFloat32 } from '../../io/convert.js';
import type { NpyArray } from '../../io/npy.js';
import type { CanonicalTensor, RawTensor } from '../types.js';

export { isFile } from '../../io/read.js';

export type Config = Record<string, unknown>;

/** A JSON object from `path`; a missing file is undefined when `optional`, an error otherwise. */
export async function readConfig(path: string, optional = false): Promise<Config | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (optional && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SaeMatchInputError(`${path}: ${fsReason(e, 'file')}`, { cause: e });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new SaeMatchInputError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SaeMatchInputError(`${path}: expected a JSON object`);
  return v as Config;
}

export const str = (c: Config | undefined, k: string) => (typeof c?.[k] === 'string' ? (c[k] as string) : undefined);
export const num = (c: Config | undefined, k: string) => (typeof c?.[k] === 'number' && Number.isFinite(c[k]) ? (c[k] as number) : undefined);
export const bool = (c: Config | undefined, k: string) => (typeof c?.[k] === 'boolean' ? (c[k] as boolean) : undefined);
export const obj = (c: Config | undefined, k: string) =>
  (typeof c?.[k] === 'object' && c[k] !== null && !Array.isArray(c[k]) ? (c[k] as Config) : undefined);

/** A positive number the config must hold (`k`), or an error naming the file and the key. */
export function positive(c: Config, k: string, path: string): number {
  const v = num(c, k);
  if (v === undefined || !(v > 0)) throw new SaeMatchInputError(`${path}: '${k}' must be a number > 0, got ${JSON.stringify(c[k])}`);
  return v;
}

/** The layer of a TransformerLens / HF hook name: blocks.12.hook_resid_post, model.layers.12.output, layers.12. */
export function layerOfHook(hook: string | undefined): number | undefined {
  const m = hook === undefined ? null : /(?:^|\.)(?:blocks|layers|layer|h)[._](\d+)(?:\.|$)/.exec(hook);
  return m ? Number(m[1]) : undefined;
}

const DTYPE_NAMES: Record<string, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64' };
export const dtypeName = (d: string) => DTYPE_NAMES[d] ?? d;

/**
 * The tensors of a safetensors file under canonical names: `map` gives the file's name of each
 * canonical tensor; optional ones may be missing (the loader reports what a model needs).
 */
export async function readTensors(
  file: string, map: Partial<Record<CanonicalTensor, string>>, signal?: AbortSignal,
): Promise<Partial<Record<CanonicalTensor, RawTensor>>> {
  const { tensors } = await readSafetensors(file, { names: Object.values(map), optional: true, signal });
  const out: Partial<Record<CanonicalTensor, RawTensor>> = {};
  for (const [c, n] of Object.entries(map) as Array<[CanonicalTensor, string]>)
    if (tensors[n]) out[c] = { dtype: dtypeName(tensors[n].dtype), shape: tensors[n].shape, data: tensors[n].data };
  return out;
}

/** The dtype of a file's weights, from its header: the dtype of `name`, or of the first tensor. */
export async function headerDtype(file: string, name?: string): Promise<string | undefined> {
  const h = await readSafetensorsHeader(file).catch(() => []);
  const t = h.find((x) => x.name === name) ?? h[0];
  return t ? dtypeName(t.dtype) : undefined;
}

/** float32 passes through; float16 and float64 are converted; anything else keeps data null (the loader names it). */
export async function npyToRaw(a: NpyArray, what: string): Promise<RawTensor> {
  if (a.dtype === 'float32') return { dtype: a.dtype, shape: a.shape, data: a.data as Float32Array };
  if (a.dtype === 'float16') return { dtype: a.dtype, shape: a.shape, data: await halfToFloat32(a.data as Uint16Array, { what }) };
  if (a.dtype === 'float64') return { dtype: a.dtype, shape: a.shape, data: Float32Array.from(a.data as Float64Array) };
  return { dtype: a.dtype, shape: a.shape, data: null };
}
