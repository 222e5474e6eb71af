// Turning the arrays files hold into the floats the package computes on, exactly: half floats
// (IEEE float16 and bfloat16 bits) decoded natively, and the numeric dtypes numpy writes widened to
// float32 where it holds every value and to float64 otherwise.
import { SaeMatchInputError } from '../errors.js';
import { callNative } from '../binding/addon.js';
import { allocFloat32 } from './buffers.js';
import type { NpyArray } from './npy.js';

/** float16 (or, with bfloat16, bfloat16) bit patterns as float32 values, into `out` or a new array. */
export async function halfToFloat32(bits: Uint16Array, opts: { bfloat16?: boolean; out?: Float32Array; what?: string; signal?: AbortSignal } = {}): Promise<Float32Array> {
  const out = opts.out ?? allocFloat32(bits.length, opts.what);
  if (bits.length > 0)
    await callNative((x, token) => x.halfToFloat({ src: bits, bfloat16: opts.bfloat16 ?? false, out, threads: 0 }, token), opts.signal);
  return out;
}

const EXACT_IN_FLOAT32 = new Set(['bool', 'int8', 'uint8', 'int16', 'uint16']);
const EXACT_IN_FLOAT64 = new Set(['int32', 'uint32']);

/**
 * The values of a numeric array as float32 or float64, with no value changed: float32 and float64
 * as they are; float16, bool and 8/16-bit integers as float32; 32-bit integers as float64; 64-bit
 * integers as float64 when every value is within ±2^53 (else an input error naming `what`).
 */
export async function exactFloats(a: NpyArray, what: string, signal?: AbortSignal): Promise<Float32Array | Float64Array> {
  if (a.data instanceof Float32Array || a.data instanceof Float64Array) return a.data;
  if (a.dtype === 'float16') return halfToFloat32(a.data as Uint16Array, { what, signal });
  if (EXACT_IN_FLOAT32.has(a.dtype)) return Float32Array.from(a.data as ArrayLike<number>);
  if (EXACT_IN_FLOAT64.has(a.dtype)) return Float64Array.from(a.data as ArrayLike<number>);
  const big = a.data as BigInt64Array | BigUint64Array;
  const out = new Float64Array(big.length);
  const limit = 2n ** 53n;
  for (let i = 0; i < big.length; i++) {
    const x = big[i]!;
    if (x > limit || x < -limit)
      throw new SaeMatchInputError(`${what}: entry ${i} (${x}) of this ${a.dtype} array has no exact float64 value (|x| > 2^53)`);
    out[i] = Number(x);
  }
  return out;
}
