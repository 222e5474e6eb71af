// Reader and writer for the safetensors format (SAELens' sae_weights.safetensors), float tensors only.
//
// Layout: u64 LE header length N | N bytes of JSON {"__metadata__": {str: str}, "<name>": {"dtype":
// "F32", "shape": [..], "data_offsets": [begin, end]}, ...} padded with spaces | data section, the
// offsets relative to its start (byte 8 + N). Tensors are always handed back as float32: F32 is read
// straight into its final buffer by the native threaded reader, F16/BF16 are read as raw 16-bit words
// and widened natively. The header is checked completely against the file size before any tensor is
// allocated, so a corrupt or truncated file fails fast with a message naming the file and tensor.
import type { FileHandle } from 'node:fs/promises';
import { SaeMatchInputError, throwIfAborted } from '../errors.js';
import { takeBuffer, recycleBuffer } from './buffers.js';
import { bytesView, fileSize, readRange } from './read.js';
import { writeAll, writeAtomic } from './write.js';
import { halfToFloat32 } from './convert.js';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Always float32, whatever the file's dtype. */
  data: Float32Array;
}

/** Largest header we parse; the reference implementation's limit too. */
const MAX_HEADER = 100_000_000;
const SUPPORTED: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];
/** Item sizes of every safetensors dtype, so sizes can be checked even for tensors we cannot read. */
const ITEMSIZE: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  I64: 8, U64: 8, F64: 8,
};

function fail(path: string, what: string, cause?: unknown): never {
  throw new SaeMatchInputError(`${path}: ${what}`, cause === undefined ? undefined : { cause });
}

interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute file offsets of the tensor's bytes. */
  begin: number;
  end: number;
}

// ---------------------------------------------------------------------------------------------
// Reading

async function readHeaderJson(path: string, size: number, signal?: AbortSignal): Promise<{ json: unknown; dataStart: number }> {
  if (size < 8) fail(path, `not a safetensors file: only ${size} bytes (the 8-byte header length is missing)`);
  const lenBytes = (await readRange(path, 0, 8, { signal })).bytes;
  const n = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) {
    fail(path, `safetensors header length ${n} bytes exceeds the limit of ${MAX_HEADER} bytes (100 MB): not a safetensors file?`);
  }
  const headerLength = Number(n);
  if (headerLength > size - 8) {
    fail(path, `safetensors header length ${headerLength} bytes but only ${size - 8} bytes follow the length field (truncated, or not a safetensors file)`);
  }
  const raw = (await readRange(path, 8, headerLength, { signal })).bytes;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (e) {
    fail(path, `the safetensors header is not valid JSON (${(e as Error).message})`, e);
  }
  return { json, dataStart: 8 + headerLength };
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function parseMetadata(path: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isPlainObject(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    fail(path, `the safetensors header's __metadata__ must map strings to strings`);
  }
  return { ...(value as Record<string, string>) };
}

/** Checks one header entry's fields, its byte count against shape x dtype, and that the file holds it. */
function parseTensorInfo(path: string, name: string, v: unknown, dataStart: number, size: number): TensorInfo {
  const where = `tensor '${name}'`;
  if (!isPlainObject(v)) fail(path, `${where}: header entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = v;
  if (typeof dtype !== 'string') fail(path, `${where}: 'dtype' is missing or not a string`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(path, `${where}: 'shape' must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0) || offsets[0] > offsets[1]) {
    fail(path, `${where}: 'data_offsets' must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`);
  }
  const [b, e] = offsets as [number, number];
  const itemsize = ITEMSIZE[dtype];
  if (itemsize !== undefined) {
    const needed = (shape as number[]).reduce((n, d) => n * BigInt(d), 1n) * BigInt(itemsize);
    if (needed !== BigInt(e - b)) {
      fail(path, `${where}: data_offsets [${b}, ${e}] span ${e - b} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${needed} bytes`);
    }
  }
  if (dataStart + e > size) {
    fail(path, `${where} needs bytes ${dataStart + b} to ${dataStart + e} but the file is only ${size} bytes (truncated?)`);
  }
  return { name, dtype, shape: shape as number[], begin: dataStart + b, end: dataStart + e };
}

async function readTensor(path: string, t: TensorInfo, signal?: AbortSignal): Promise<SafetensorsTensor> {
  const source = `${path}: tensor '${t.name}'`;
  const dtype = t.dtype as SafetensorsDtype;
  const bytes = t.end - t.begin;
  const raw = dtype === 'F32' ? new Float32Array(takeBuffer(bytes, source)) : new Uint16Array(takeBuffer(bytes, source));
  if (bytes > 0) {
    const r = await readRange(path, t.begin, bytes, { into: bytesView(raw), signal });
    if (r.bytesRead < bytes) {
      fail(path, `tensor '${t.name}': the file ended after ${r.bytesRead} of its ${bytes} bytes (truncated, or changed while being read)`);
    }
  }
  if (raw instanceof Float32Array) return { dtype, shape: t.shape, data: raw };
  const out = await halfToFloat32(raw as Uint16Array, { bfloat16: dtype === 'BF16', what: source, signal });
  recycleBuffer(raw.buffer as ArrayBuffer);
  return { dtype, shape: t.shape, data: out };
}

async function readHeader(path: string, signal?: AbortSignal): Promise<{ infos: Map<string, TensorInfo>; metadata: Record<string, string> }> {
  throwIfAborted(signal);
  const size = await fileSize(path, 'safetensors file');
  const { json, dataStart } = await readHeaderJson(path, size, signal);
  if (!isPlainObject(json)) fail(path, 'the safetensors header is not a JSON object');
  const metadata = parseMetadata(path, json.__metadata__);
  const infos = new Map<string, TensorInfo>();
  for (const [name, v] of Object.entries(json)) {
    if (name !== '__metadata__') infos.set(name, parseTensorInfo(path, name, v, dataStart, size));
  }
  return { infos, metadata };
}

/** The tensors' names, dtypes and shapes, from the header alone (validated against the file size). */
export async function readSafetensorsHeader(path: string): Promise<Array<{ name: string; dtype: string; shape: number[] }>> {
  const { infos } = await readHeader(path);
  return [...infos.values()].map(({ name, dtype, shape }) => ({ name, dtype, shape }));
}

/**
 * Reads float tensors (F32, F16, BF16; returned as float32) and the string metadata of a
 * safetensors file. `names`: only these tensors are read; a missing one is an error listing what
 * the file has, unless `optional` (then it is left out). Every header entry is validated against
 * the file before anything is read.
 */
export async function readSafetensors(
  path: string,
  opts: { names?: string[]; signal?: AbortSignal; optional?: boolean } = {},
): Promise<{ tensors: Record<string, SafetensorsTensor>; metadata: Record<string, string> }> {
  const { infos, metadata } = await readHeader(path, opts.signal);
  const asked = opts.names ?? [...infos.keys()];
  const wanted = (opts.optional ? asked.filter((n) => infos.has(n)) : asked).map((name) => {
    const t = infos.get(name);
    if (!t) fail(path, `no tensor '${name}' (the file has: ${[...infos.keys()].join(', ') || 'no tensors'})`);
    if (!SUPPORTED.includes(t.dtype as SafetensorsDtype)) {
      fail(path, `tensor '${name}' has dtype ${t.dtype}; supported: ${SUPPORTED.join(', ')}`);
    }
    return t;
  });
  const tensors: [string, SafetensorsTensor][] = [];
  for (const t of wanted) {
    throwIfAborted(opts.signal);
    tensors.push([t.name, await readTensor(path, t, opts.signal)]);
  }
  return { tensors: Object.fromEntries(tensors), metadata }; // own properties even for '__proto__'
}

// ---------------------------------------------------------------------------------------------
// Writing

/** float32 bits -> IEEE half bits, round to nearest even; subnormals kept, overflow -> inf, NaN as numpy makes it. */
export function f32BitsToF16(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const abs = u & 0x7fffffff;
  if (abs >= 0x7f800000) {
    if (abs === 0x7f800000) return sign | 0x7c00;
    const h = 0x7c00 | ((abs & 0x7fffff) >>> 13);
    return sign | (h === 0x7c00 ? 0x7c01 : h); // a NaN whose payload sits in the low bits stays NaN
  }
  if (abs >= 0x477ff000) return sign | 0x7c00; // >= 65520, halfway between 65504 and 2^16: inf
  if (abs >= 0x38800000) {
    // Normal half: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits.
    const rem = abs & 0x1fff;
    let h = (abs - 0x38000000) >>> 13;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
    return sign | h;
  }
  const e = abs >>> 23;
  if (e < 102) return sign; // below 2^-25, under half the smallest subnormal: +-0
  // Subnormal half: units of 2^-24, i.e. the 24-bit significand shifted right by 126 - e (14..24).
  const m = (abs & 0x7fffff) | 0x800000;
  const shift = 126 - e;
  let h = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && h & 1)) h++;
  return sign | h;
}

/** float32 bits -> bfloat16 bits: the top 16 bits, round to nearest even; NaN stays NaN. */
export function f32BitsToBf16(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Converts and writes a float32 array as 16-bit words, a slice at a time (no full-size copy). */
async function writeHalf(fh: FileHandle, data: Float32Array, convert: (u: number) => number): Promise<void> {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const SLICE = 1 << 20;
  const out = new Uint16Array(Math.min(SLICE, data.length));
  for (let i = 0; i < bits.length; i += SLICE) {
    const n = Math.min(SLICE, bits.length - i);
    for (let j = 0; j < n; j++) out[j] = convert(bits[i + j]);
    await writeAll(fh, bytesView(out.subarray(0, n)));
  }
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The header JSON (compact, __metadata__ first, then tensors in sorted order) padded with spaces to a multiple of 8. */
function encodeHeader(
  path: string,
  names: string[],
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  dtype: SafetensorsDtype,
  metadata: Record<string, string> | undefined,
): Uint8Array {
  const itemsize = dtype === 'F32' ? 4 : 2;
  const parts: string[] = [];
  if (metadata && Object.keys(metadata).length) {
    const keys = Object.keys(metadata).sort(byCodePoint);
    if (!keys.every((k) => typeof metadata[k] === 'string')) fail(path, 'metadata values must be strings');
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors[name];
    const end = offset + data.length * itemsize;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const out = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  out.set(json);
  return out;
}

function checkTensor(path: string, name: string, t: { shape: number[]; data: Float32Array }): void {
  if (name === '' || name === '__metadata__') fail(path, `cannot write a tensor named '${name}'`);
  if (!(t?.data instanceof Float32Array)) fail(path, `tensor '${name}': data must be a Float32Array`);
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(path, `tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`);
  }
  const count = t.shape.reduce((n, d) => n * d, 1);
  if (count !== t.data.length) fail(path, `tensor '${name}': shape [${t.shape.join(', ')}] has ${count} elements but the data has ${t.data.length}`);
}

/**
 * Writes float32 tensors as a safetensors file in `opts.dtype` (F16: IEEE half with subnormals,
 * overflow to inf; BF16: upper 16 bits; both round to nearest even, NaN stays NaN). Tensors are
 * stored in sorted name order with contiguous offsets. Atomic: temporary file renamed into place.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, { shape: number[]; data: Float32Array }>,
  opts: { dtype: SafetensorsDtype; metadata?: Record<string, string> },
): Promise<void> {
  if (!SUPPORTED.includes(opts.dtype)) fail(path, `cannot write dtype ${String(opts.dtype)}; supported: ${SUPPORTED.join(', ')}`);
  const names = Object.keys(tensors).sort(byCodePoint);
  for (const name of names) checkTensor(path, name, tensors[name]);
  const header = encodeHeader(path, names, tensors, opts.dtype, opts.metadata);
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(header.length), true);
  await writeAtomic(path, async (fh) => {
    await writeAll(fh, length);
    await writeAll(fh, header);
    for (const name of names) {
      const data = tensors[name].data;
      if (opts.dtype === 'F32') await writeAll(fh, bytesView(data));
      else await writeHalf(fh, data, opts.dtype === 'F16' ? f32BitsToF16 : f32BitsToBf16);
    }
  });
}
