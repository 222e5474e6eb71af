// One layer's JumpReLU SAE, loaded from any of the three layouts researchers have on disk and
// validated once, here, at the boundary: every later step (folding, cost, assignment) trusts it.
//   Gemma Scope  params.npz                                  (np.savez of the five arrays)
//   SAELens      <dir>/cfg.json + <dir>/sae_weights.safetensors
//   npy folder   <dir>/W_enc.npy, W_dec.npy, b_enc.npy, b_dec.npy, threshold.npy
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SaeMatchInputError } from '../errors.js';
import { fsReason } from '../io/write.js';
import { halfToFloat32 } from '../io/convert.js';
import { callNative, type ValueScan } from '../binding/addon.js';
import { readNpy, type NpyArray } from '../io/npy.js';
import { readNpz } from '../io/npz.js';
import { readSafetensors } from '../io/safetensors.js';

export const SAE_TENSORS = ['W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold'] as const;
export type SaeTensorName = (typeof SAE_TENSORS)[number];
export type SaeFormat = 'gemmascope' | 'saelens' | 'npy';

/** A JumpReLU SAE: f(x) = JumpReLU(W_enc^T x + b_enc; threshold), x_hat = W_dec^T f + b_dec. Row-major float32. */
export interface Sae {
  /** The file or folder it was read from (absolute), used in every message about it. */
  source: string;
  format: SaeFormat;
  dModel: number;
  dSae: number;
  /** [d_model, d_sae] */
  W_enc: Float32Array;
  /** [d_sae, d_model] */
  W_dec: Float32Array;
  b_enc: Float32Array;
  b_dec: Float32Array;
  threshold: Float32Array;
}

interface RawTensor {
  dtype: string;
  shape: number[];
  data: Float32Array | null;
}

export interface LoadSaeOptions {
  signal?: AbortSignal;
  /** Skip the scans for non-finite values and non-positive thresholds (they read every value once). */
  skipValueChecks?: boolean;
}

/** What kind of SAE lives at `path` (a params.npz file, a SAELens folder or an npy folder). */
export async function detectSaeFormat(path: string): Promise<{ format: SaeFormat; file: string }> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new SaeMatchInputError(`${path}: ${fsReason(e, 'file or folder')}`, { cause: e });
  }
  if (st.isFile()) {
    if (path.endsWith('.npz')) return { format: 'gemmascope', file: path };
    throw new SaeMatchInputError(`${path}: not an SAE (expected a Gemma Scope params.npz, a SAELens folder or a folder of .npy files)`);
  }
  const has = async (name: string) => stat(join(path, name)).then((s) => s.isFile(), () => false);
  if (await has('params.npz')) return { format: 'gemmascope', file: join(path, 'params.npz') };
  if (await has('sae_weights.safetensors')) return { format: 'saelens', file: path };
  if (await has('W_enc.npy')) return { format: 'npy', file: path };
  throw new SaeMatchInputError(
    `${path}: no SAE found in this folder (looked for params.npz, cfg.json + sae_weights.safetensors, W_enc.npy …)`,
  );
}

/**
 * The files loadSae reads for an SAE of `format` at `path` (detectSaeFormat's `file`, or a suite
 * layer's `path`): what a match of this SAE depends on, so what resume keys on.
 */
export function saeFiles(format: SaeFormat, path: string): string[] {
  if (format === 'gemmascope') return [path.endsWith('.npz') ? path : join(path, 'params.npz')];
  if (format === 'saelens') return [join(path, 'sae_weights.safetensors'), join(path, 'cfg.json')];
  return SAE_TENSORS.map((n) => join(path, `${n}.npy`));
}

async function readGemmaScope(file: string, signal?: AbortSignal): Promise<Record<string, RawTensor>> {
  const arrays = await readNpz(file, { signal });
  const out: Record<string, RawTensor> = {};
  for (const [k, a] of Object.entries(arrays)) out[k] = await toFloat32(a, `${file}: tensor '${k}'`);
  return out;
}

async function readNpyFolder(dir: string, signal?: AbortSignal): Promise<Record<string, RawTensor>> {
  const out: Record<string, RawTensor> = {};
  for (const name of SAE_TENSORS) {
    signal?.throwIfAborted();
    const file = join(dir, `${name}.npy`);
    const ok = await stat(file).then((s) => s.isFile(), () => false);
    if (ok) out[name] = await toFloat32(await readNpy(file), `${file}`);
  }
  return out;
}

async function readSaeLens(dir: string, signal?: AbortSignal): Promise<Record<string, RawTensor>> {
  const cfgPath = join(dir, 'cfg.json');
  let cfg: Record<string, unknown> | undefined;
  const text = await readFile(cfgPath, 'utf8').catch(() => undefined);
  if (text !== undefined) {
    try {
      cfg = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new SaeMatchInputError(`${cfgPath}: not valid JSON (${(e as Error).message})`);
    }
  }
  const file = join(dir, 'sae_weights.safetensors');
  const { tensors } = await readSafetensors(file, { signal });
  const out: Record<string, RawTensor> = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = { dtype: t.dtype, shape: t.shape, data: t.data };
  if (cfg) checkSaeLensConfig(cfg, cfgPath, out);
  return out;
}

/** cfg.json must agree with the weights it describes; a non-JumpReLU SAE has no threshold to fold. */
function checkSaeLensConfig(cfg: Record<string, unknown>, cfgPath: string, t: Record<string, RawTensor>): void {
  const arch = typeof cfg.architecture === 'string' ? cfg.architecture : undefined;
  if (arch && arch !== 'jumprelu' && !t.threshold)
    throw new SaeMatchInputError(`${cfgPath}: architecture '${arch}' has no threshold; SAE Match folds JumpReLU thresholds (architecture 'jumprelu')`);
  const enc = t.W_enc?.shape;
  if (enc?.length === 2) {
    if (typeof cfg.d_in === 'number' && cfg.d_in !== enc[0])
      throw new SaeMatchInputError(`${cfgPath}: d_in = ${cfg.d_in} but W_enc has shape [${enc.join(', ')}]`);
    if (typeof cfg.d_sae === 'number' && cfg.d_sae !== enc[1])
      throw new SaeMatchInputError(`${cfgPath}: d_sae = ${cfg.d_sae} but W_enc has shape [${enc.join(', ')}]`);
  }
}

/** float32 passes through; float16 and float64 are converted; anything else is refused. */
async function toFloat32(a: NpyArray, what: string): Promise<RawTensor> {
  if (a.dtype === 'float32') return { dtype: a.dtype, shape: a.shape, data: a.data as Float32Array };
  if (a.dtype === 'float16') {
    return { dtype: a.dtype, shape: a.shape, data: await halfToFloat32(a.data as Uint16Array, { what }) };
  }
  if (a.dtype === 'float64') return { dtype: a.dtype, shape: a.shape, data: Float32Array.from(a.data as Float64Array) };
  return { dtype: a.dtype, shape: a.shape, data: null };
}

function checkShapes(t: Record<string, RawTensor>, where: string): { dModel: number; dSae: number } {
  const missing = SAE_TENSORS.filter((n) => !t[n]);
  if (missing.length)
    throw new SaeMatchInputError(
      `${where}: missing tensor${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (found: ${Object.keys(t).join(', ') || 'none'})`,
    );
  for (const n of SAE_TENSORS)
    if (!t[n]!.data)
      throw new SaeMatchInputError(`${where}: tensor '${n}' has dtype ${t[n]!.dtype}; supported: float32, float16, bfloat16 (SAELens), float64`);
  const enc = t.W_enc!.shape;
  if (enc.length !== 2) throw new SaeMatchInputError(`${where}: W_enc must have rank 2 [d_model, d_sae], got shape [${enc.join(', ')}]`);
  const [dModel, dSae] = enc as [number, number];
  const expect: Record<SaeTensorName, number[]> = {
    W_enc: [dModel, dSae], W_dec: [dSae, dModel], b_enc: [dSae], b_dec: [dModel], threshold: [dSae],
  };
  for (const n of SAE_TENSORS) {
    const got = t[n]!.shape;
    const want = expect[n];
    if (got.length !== want.length || got.some((d, i) => d !== want[i]))
      throw new SaeMatchInputError(
        `${where}: tensor '${n}' has shape [${got.join(', ')}], expected [${want.join(', ')}] ` +
          `(d_model = ${dModel}, d_sae = ${dSae} from W_enc)`,
      );
  }
  if (dModel === 0 || dSae === 0) throw new SaeMatchInputError(`${where}: empty SAE (d_model = ${dModel}, d_sae = ${dSae})`);
  return { dModel, dSae };
}

/** Where in a tensor a flat index is, as the user would index it. */
function position(name: SaeTensorName, index: number, dModel: number, dSae: number): string {
  if (name === 'W_enc') return `[${Math.floor(index / dSae)}, ${index % dSae}]`;
  if (name === 'W_dec') return `[${Math.floor(index / dModel)}, ${index % dModel}]`;
  return `[${index}]`;
}

/** Non-finite values anywhere and thresholds <= 0 (folding divides by them) are refused. */
export async function checkSaeValues(sae: Sae, signal?: AbortSignal): Promise<void> {
  for (const name of SAE_TENSORS) {
    const x = sae[name];
    const s: ValueScan = await callNative((a, token) => a.scanValues({ x, threads: 0 }, token), signal);
    if (s.nonFinite > 0) {
      const i = s.firstNonFinite;
      throw new SaeMatchInputError(
        `${sae.source}: tensor '${name}' has ${s.nonFinite} non-finite value${s.nonFinite > 1 ? 's' : ''} ` +
          `(first: ${name}${position(name, i, sae.dModel, sae.dSae)} = ${x[i]})`,
      );
    }
    if (name === 'threshold' && s.nonPositive > 0) {
      const i = s.firstNonPositive;
      throw new SaeMatchInputError(
        `${sae.source}: ${s.nonPositive} threshold${s.nonPositive > 1 ? 's are' : ' is'} <= 0 ` +
          `(first: threshold[${i}] = ${x[i]}); folding (W_enc/θ, W_dec·θ) needs θ > 0`,
      );
    }
  }
}

/** Loads and validates one SAE: names, ranks, shapes, dtypes and (unless skipped) values. */
export async function loadSae(path: string, opts: LoadSaeOptions = {}): Promise<Sae> {
  const abs = resolve(path);
  const { format, file } = await detectSaeFormat(abs);
  const tensors =
    format === 'gemmascope' ? await readGemmaScope(file, opts.signal)
    : format === 'saelens' ? await readSaeLens(file, opts.signal)
    : await readNpyFolder(file, opts.signal);
  const where = format === 'saelens' ? join(file, 'sae_weights.safetensors') : file;
  const { dModel, dSae } = checkShapes(tensors, where);
  const sae: Sae = {
    source: where, format, dModel, dSae,
    W_enc: tensors.W_enc!.data!, W_dec: tensors.W_dec!.data!, b_enc: tensors.b_enc!.data!,
    b_dec: tensors.b_dec!.data!, threshold: tensors.threshold!.data!,
  };
  if (!opts.skipValueChecks) await checkSaeValues(sae, opts.signal);
  return sae;
}
