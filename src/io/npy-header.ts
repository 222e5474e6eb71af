// The .npy header: its layout, the dtypes sae-match reads and writes, the parse of a header (checked
// against the file's size before anything is allocated) and the encoding of one. npy.ts reads and
// writes whole files with it; npz.ts and npz-write.ts use it for the members of an archive.
//
// Layout of a .npy file:
//   "\x93NUMPY" | major (u8) | minor (u8) | header length (u16 LE for 1.0, u32 LE for 2.0/3.0)
//   | header: a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//     padded with spaces and ended by '\n' (latin-1 for 1.0/2.0, utf-8 for 3.0)
//   | raw array data, C order.
//
// Plain numeric and bool dtypes in either byte order and either memory order are read (toNative turns
// them into the little-endian C-order arrays the package works with); every problem with a file is reported as a SaeMatchInputError whose message starts with the file path (or source).

import { SaeMatchInputError, SaeMatchInternalError } from '../errors.js';
import { PyLiteralParser, pyRepr, type PyValue } from './pyliteral.js';

export type NpyDtype =
  | 'float16'
  | 'float32'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool';

export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A dense C-order array. float16 data is the raw IEEE half bits in a Uint16Array; bool is a Uint8Array of 0/1. */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

export interface NpyHeader {
  dtype: NpyDtype;
  shape: number[];
  /** The data is column-major (np.asfortranarray, or `W.T` of a row-major tensor, as PyTorch exports write). */
  fortranOrder: boolean;
  /** The data is big-endian ('>f4'). */
  bigEndian: boolean;
  /** Offset of the array data from the start of the file (magic + version + length field + header). */
  headerLength: number;
  /** Number of bytes of array data the header describes (product of shape times item size). */
  dataBytes: number;
  /** Format version, '1.0', '2.0' or '3.0'. */
  version: string;
}

type TypedArrayCtor = { new (buffer: ArrayBuffer): NpyData; readonly BYTES_PER_ELEMENT: number };

interface DtypeInfo {
  /** descr written by encodeNpy. */
  descr: string;
  itemsize: number;
  ctor: TypedArrayCtor;
}

const DTYPES: Record<NpyDtype, DtypeInfo> = {
  float16: { descr: '<f2', itemsize: 2, ctor: Uint16Array },
  float32: { descr: '<f4', itemsize: 4, ctor: Float32Array },
  float64: { descr: '<f8', itemsize: 8, ctor: Float64Array },
  int8: { descr: '|i1', itemsize: 1, ctor: Int8Array },
  uint8: { descr: '|u1', itemsize: 1, ctor: Uint8Array },
  int16: { descr: '<i2', itemsize: 2, ctor: Int16Array },
  uint16: { descr: '<u2', itemsize: 2, ctor: Uint16Array },
  int32: { descr: '<i4', itemsize: 4, ctor: Int32Array },
  uint32: { descr: '<u4', itemsize: 4, ctor: Uint32Array },
  int64: { descr: '<i8', itemsize: 8, ctor: BigInt64Array },
  uint64: { descr: '<u8', itemsize: 8, ctor: BigUint64Array },
  bool: { descr: '|b1', itemsize: 1, ctor: Uint8Array },
};

/** Type code (descr without the byte-order character) -> dtype. */
const TYPECODES: Record<string, NpyDtype> = {
  f2: 'float16',
  f4: 'float32',
  f8: 'float64',
  i1: 'int8',
  u1: 'uint8',
  i2: 'int16',
  u2: 'uint16',
  i4: 'int32',
  u4: 'uint32',
  i8: 'int64',
  u8: 'uint64',
  b1: 'bool',
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Largest header (the dict text) we accept. numpy itself caps headers at 10 KB unless told otherwise. */
const MAX_HEADER_LEN = 1 << 20;
/** First read of readNpy; enough for any header numpy writes by default. */
export const FIRST_READ = 64 * 1024;
/** Largest single read/write; fs calls reject lengths >= 2 GiB. */
export const IO_CHUNK = 1 << 30;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function fail(source: string, what: string): never {
  throw new SaeMatchInputError(`${source}: ${what}`);
}

export function assertLittleEndianHost(): void {
  if (!HOST_LITTLE_ENDIAN) {
    throw new SaeMatchInternalError('npy: big-endian hosts are not supported');
  }
}

/** Python repr of a shape tuple: (), (5,), (3, 4). */
function pyShape(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** Human description for size messages: "4x4 float32", "0-d float64". */
export function describe(shape: readonly number[], dtype: NpyDtype): string {
  return shape.length === 0 ? `0-d ${dtype}` : `${shape.join('x')} ${dtype}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------
// Header

interface Preamble {
  major: number;
  minor: number;
  /** Bytes before the header text: 10 for 1.0, 12 for 2.0/3.0. */
  prefixLength: number;
  /** Length of the header text (the dict plus padding), from the length field. */
  headerTextLength: number;
}

/** Checks magic, version and header length. fileSize is the full size of the file (may exceed bytes.length). */
export function parsePreamble(bytes: Uint8Array, source: string, fileSize: number): Preamble {
  const magicOk = bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
  if (!magicOk) {
    if (fileSize === 0) fail(source, 'not a .npy file: the file is empty');
    fail(source, 'not a .npy file: missing the \\x93NUMPY magic string at the start');
  }
  if (bytes.length < 8) fail(source, `truncated .npy: the file ends inside the format version (${plural(fileSize, 'byte')})`);
  const major = bytes[6];
  const minor = bytes[7];
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    fail(source, `unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  const prefixLength = major === 1 ? 10 : 12;
  if (bytes.length < prefixLength) {
    fail(source, `truncated .npy: the file ends inside the header length field (${plural(fileSize, 'byte')})`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, prefixLength);
  const headerTextLength = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  if (headerTextLength > MAX_HEADER_LEN) {
    fail(source, `.npy header length ${headerTextLength} bytes exceeds the limit of ${MAX_HEADER_LEN} bytes (1 MiB)`);
  }
  if (prefixLength + headerTextLength > fileSize) {
    fail(
      source,
      `truncated .npy: the header claims ${headerTextLength} bytes but the file ends after ${fileSize - prefixLength} bytes of header`,
    );
  }
  return { major, minor, prefixLength, headerTextLength };
}

function dtypeFromDescr(descrValue: PyValue, source: string): { dtype: NpyDtype; bigEndian: boolean } {
  if (descrValue.kind !== 'str') {
    if (descrValue.kind === 'list') {
      fail(source, `unsupported dtype ${pyRepr(descrValue)}: structured (record) dtypes are not supported`);
    }
    fail(source, `unsupported dtype ${pyRepr(descrValue)} in .npy header`);
  }
  const descr = descrValue.value;
  const hasOrder = descr.length > 0 && '<>|='.includes(descr[0]);
  const order = hasOrder ? descr[0] : '=';
  const code = hasOrder ? descr.slice(1) : descr;
  const dtype = TYPECODES[code];
  if (dtype === undefined) {
    const kinds: Record<string, string> = {
      c: 'complex dtypes are not supported',
      U: 'unicode string dtypes are not supported',
      S: 'byte string dtypes are not supported',
      a: 'byte string dtypes are not supported',
      O: 'object dtypes are not supported',
      V: 'void/raw dtypes are not supported',
      M: 'datetime dtypes are not supported',
      m: 'timedelta dtypes are not supported',
      f: 'this float size is not supported',
      i: 'this integer size is not supported',
      u: 'this integer size is not supported',
      b: 'this bool size is not supported',
    };
    const why = kinds[code[0] ?? ''] ?? 'unknown dtype';
    fail(
      source,
      `unsupported dtype '${descr}' (${why}; supported: float16, float32, float64, int8-int64, uint8-uint64, bool)`,
    );
  }
  const multiByte = DTYPES[dtype].itemsize > 1;
  if (multiByte && order === '|') fail(source, `invalid dtype '${descr}': '|' (not applicable) byte order on a multi-byte type`);
  return { dtype, bigEndian: multiByte && order === '>' };
}

/**
 * Parses the .npy preamble and header dict. `bytes` must contain at least the whole header (it may
 * contain the data too, or only the header); `source` names the file in error messages.
 */
export function parseNpyHeader(bytes: Uint8Array, source: string): NpyHeader {
  const pre = parsePreamble(bytes, source, bytes.length);
  const raw = bytes.subarray(pre.prefixLength, pre.prefixLength + pre.headerTextLength);
  let text: string;
  if (pre.major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      fail(source, 'malformed .npy header: version 3.0 header is not valid UTF-8');
    }
  } else {
    text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  }

  const dict = new PyLiteralParser(text, source).parse();
  if (dict.kind !== 'dict') fail(source, `malformed .npy header: expected a dict, got ${pyRepr(dict).slice(0, 80)}`);
  const fields = new Map<string, PyValue>();
  for (const [k, v] of dict.entries) {
    if (k.kind !== 'str') fail(source, `malformed .npy header: non-string key ${pyRepr(k)}`);
    if (k.value !== 'descr' && k.value !== 'fortran_order' && k.value !== 'shape') {
      fail(source, `malformed .npy header: unexpected key '${k.value}'`);
    }
    fields.set(k.value, v);
  }
  for (const key of ['descr', 'fortran_order', 'shape']) {
    if (!fields.has(key)) fail(source, `malformed .npy header: missing key '${key}'`);
  }
  const descr = fields.get('descr')!;
  const fortranValue = fields.get('fortran_order')!;
  const shapeValue = fields.get('shape')!;

  if (fortranValue.kind !== 'bool') {
    fail(source, `malformed .npy header: 'fortran_order' must be True or False, got ${pyRepr(fortranValue)}`);
  }
  if (shapeValue.kind !== 'tuple' && shapeValue.kind !== 'list') {
    fail(source, `malformed .npy header: 'shape' must be a tuple of non-negative integers, got ${pyRepr(shapeValue)}`);
  }
  const shape: number[] = [];
  for (const item of shapeValue.items) {
    if (item.kind !== 'int' || item.value < 0n || item.value > BigInt(Number.MAX_SAFE_INTEGER)) {
      fail(
        source,
        `malformed .npy header: shape entries must be non-negative integers, got ${pyRepr({ kind: 'tuple', items: shapeValue.items })}`,
      );
    }
    shape.push(Number(item.value));
  }

  const { dtype, bigEndian } = dtypeFromDescr(descr, source);
  const fortranOrder = fortranValue.value;

  let count = 1n;
  for (const d of shape) count *= BigInt(d);
  const bytesBig = count * BigInt(DTYPES[dtype].itemsize);
  if (bytesBig > BigInt(Number.MAX_SAFE_INTEGER)) {
    fail(source, `array too large: header says ${describe(shape, dtype)} (${bytesBig} bytes of data)`);
  }

  return {
    dtype,
    shape,
    fortranOrder,
    bigEndian,
    headerLength: pre.prefixLength + pre.headerTextLength,
    dataBytes: Number(bytesBig),
    version: `${pre.major}.${pre.minor}`,
  };
}

export function checkDataSize(h: NpyHeader, available: number, source: string): void {
  const claim = `header says ${describe(h.shape, h.dtype)} (${plural(h.dataBytes, 'byte')} of data)`;
  if (available < h.dataBytes) {
    fail(source, `truncated .npy: ${claim} but only ${plural(available, 'byte')} follow the header`);
  }
  if (available > h.dataBytes) {
    fail(
      source,
      `corrupt .npy: ${claim} but ${plural(available, 'byte')} follow the header (${available - h.dataBytes} extra trailing bytes)`,
    );
  }
}

function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

export function checkExpectations(
  h: { dtype: NpyDtype; shape: number[] },
  opts: { expectDtype?: NpyDtype[]; expectRank?: number } | undefined,
  source: string,
): void {
  if (opts?.expectRank !== undefined && h.shape.length !== opts.expectRank) {
    fail(source, `expected a ${opts.expectRank}-D array, got shape ${pyShape(h.shape)}`);
  }
  if (opts?.expectDtype !== undefined && !opts.expectDtype.includes(h.dtype)) {
    fail(source, `expected dtype ${listWords(opts.expectDtype)}, got ${h.dtype}`);
  }
}

export function viewOf(dtype: NpyDtype, buffer: ArrayBuffer): NpyData {
  return new DTYPES[dtype].ctor(buffer);
}

/**
 * The data of a file's array as this package holds every array: little-endian and C order. The
 * bytes `buffer` holds exactly as the file stores them; big-endian items are swapped in place and a
 * Fortran-order array with more than one axis longer than 1 is transposed into a new buffer (with
 * at most one such axis both orders are the same bytes). Values are unchanged: numpy reads the same.
 */
export function toNative(h: NpyHeader, buffer: ArrayBuffer): NpyData {
  const size = DTYPES[h.dtype].itemsize;
  if (h.bigEndian) {
    const b = new Uint8Array(buffer, 0, h.dataBytes);
    for (let i = 0; i < b.length; i += size)
      for (let lo = i, hi = i + size - 1; lo < hi; lo++, hi--) {
        const t = b[lo]!;
        b[lo] = b[hi]!;
        b[hi] = t;
      }
  }
  const src = viewOf(h.dtype, buffer) as unknown as { [k: number]: number | bigint; length: number };
  if (!h.fortranOrder || h.shape.filter((d) => d > 1).length <= 1) return src as unknown as NpyData;
  const out = new (DTYPES[h.dtype].ctor)(new ArrayBuffer(h.dataBytes)) as unknown as { [k: number]: number | bigint };
  // C order walks the last axis fastest; the same element in Fortran order is at sum(idx[k] * fstride[k]).
  const shape = h.shape, rank = shape.length;
  const fstride = new Array<number>(rank);
  for (let k = 0, st = 1; k < rank; k++) {
    fstride[k] = st;
    st *= shape[k]!;
  }
  const idx = new Array<number>(rank).fill(0);
  const last = shape[rank - 1]!, lastStride = fstride[rank - 1]!;
  const total = src.length;
  for (let c = 0, f = 0; c < total; ) {
    for (let j = 0, fj = f; j < last; j++, fj += lastStride) out[c++] = src[fj]!;
    // advance the multi-index over all but the last axis
    let k = rank - 2;
    for (; k >= 0; k--) {
      idx[k]!++;
      f += fstride[k]!;
      if (idx[k]! < shape[k]!) break;
      f -= idx[k]! * fstride[k]!;
      idx[k] = 0;
    }
    if (k < 0) break;
  }
  return out as unknown as NpyData;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** The dtype that goes with a typed array (Uint16Array -> 'uint16', Uint8Array -> 'uint8'). */
export function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof BigUint64Array) return 'uint64';
  const name = (data as object)?.constructor?.name ?? typeof data;
  throw new SaeMatchInputError(`<data>: unsupported array type ${name} (expected a numeric typed array)`);
}

export function bytesOf(data: NpyData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Validates arr and builds the header bytes (preamble + padded dict), data aligned to 64 bytes. */
export function encodeHeader(arr: NpyArray, source: string): Uint8Array {
  const info = Object.prototype.hasOwnProperty.call(DTYPES, arr.dtype) ? DTYPES[arr.dtype] : undefined;
  if (!info) fail(source, `cannot write dtype ${String(arr.dtype)}`);
  if (!(arr.data instanceof info.ctor)) {
    const name = (arr.data as object)?.constructor?.name ?? typeof arr.data;
    fail(source, `dtype ${arr.dtype} needs its data in a ${info.ctor.name}, got ${name}`);
  }
  if (!Array.isArray(arr.shape) || !arr.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(source, `shape must be a list of non-negative integers, got ${JSON.stringify(arr.shape)}`);
  }
  let count = 1;
  for (const d of arr.shape) count *= d;
  if (count !== arr.data.length) {
    fail(source, `shape ${pyShape(arr.shape)} has ${count} elements but the data has ${arr.data.length}`);
  }
  if (arr.dtype === 'bool') {
    const u8 = arr.data as Uint8Array;
    for (let i = 0; i < u8.length; i++) {
      if (u8[i] > 1) fail(source, `bool data must be 0 or 1, got ${u8[i]} at index ${i}`);
    }
  }

  const dict = `{'descr': '${info.descr}', 'fortran_order': False, 'shape': ${pyShape(arr.shape)}, }`;
  // Version 1.0 when the padded header fits in a u16 length, else 2.0 (the dict text is ASCII either way).
  let prefixLength = 10;
  let textLength = paddedLength(prefixLength, dict.length);
  let major = 1;
  if (textLength > 0xffff) {
    prefixLength = 12;
    major = 2;
    textLength = paddedLength(prefixLength, dict.length);
  }
  if (textLength > MAX_HEADER_LEN) fail(source, `shape has too many dimensions (${arr.shape.length}) for a .npy header`);
  const out = new Uint8Array(prefixLength + textLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, textLength, true);
  else dv.setUint32(8, textLength, true);
  for (let i = 0; i < dict.length; i++) out[prefixLength + i] = dict.charCodeAt(i);
  out.fill(0x20, prefixLength + dict.length, out.length - 1);
  out[out.length - 1] = 0x0a; // '\n'
  return out;
}

/** Length of dict + space padding + '\n' such that prefix + that is a multiple of 64. */
function paddedLength(prefixLength: number, dictLength: number): number {
  const unpadded = prefixLength + dictLength + 1;
  return dictLength + 1 + ((64 - (unpadded % 64)) % 64);
}

