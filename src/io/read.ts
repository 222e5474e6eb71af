// Reading large byte ranges of files into native-allocated memory (io/buffers.ts) on several threads,
// with the ZIP CRC-32 computed while reading; the size check every loader does before it allocates.
import { stat } from 'node:fs/promises';
import { SaeMatchInputError, SaeMatchInternalError } from '../errors.js';
import { callNative, loadAddon } from '../binding/addon.js';
import { allocBuffer } from './buffers.js';
import { fsReason } from './write.js';

export interface RangeRead {
  /** The bytes read (a view of length `bytesRead` at offset 0 of its own buffer). */
  bytes: Uint8Array;
  bytesRead: number;
  /** CRC-32 (ZIP polynomial) of the bytes read; 0 unless `crc` was asked for. */
  crc32: number;
  seconds: number;
}

/**
 * Reads `length` bytes of `path` from `offset` into a fresh buffer (or into `into`). A file shorter
 * than offset + length is not an error here: `bytesRead` says how much there was, and the caller,
 * who knows what the bytes are, says what is wrong.
 */
export async function readRange(
  path: string,
  offset: number,
  length: number,
  opts: { crc?: boolean; into?: Uint8Array; threads?: number; signal?: AbortSignal } = {},
): Promise<RangeRead> {
  const bytes = opts.into ?? new Uint8Array(allocBuffer(length, path));
  if (bytes.length < length) throw new SaeMatchInternalError(`${path}: read target too small`);
  const r = await callNative(
    (a, token) => a.readRange({ path, offset, length, dst: bytes, threads: opts.threads ?? 0, crc: opts.crc ?? false }, token),
    opts.signal,
  ).catch((e) => {
    throw e instanceof SaeMatchInternalError ? new SaeMatchInputError(e.message.replace(/^native addon: /, ''), { cause: e }) : e;
  });
  return { bytes: bytes.subarray(0, r.bytesRead), bytesRead: r.bytesRead, crc32: r.crc32 >>> 0, seconds: r.seconds };
}

/** CRC-32 (ZIP polynomial) of a small buffer, continuing from `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return loadAddon().addon.crc32({ bytes, crc }) >>> 0;
}

/** CRC-32 of A||B from crc(A), crc(B) and B's length (zlib's crc32_combine). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return loadAddon().addon.crc32Combine({ crcA, crcB, lengthB }) >>> 0;
}

/** Size of a regular file, or a SaeMatchInputError naming it. */
/** True for an existing file (or folder): no error for a path that is not there. */
export const isFile = (p: string): Promise<boolean> => stat(p).then((s) => s.isFile(), () => false);
export const isDir = (p: string): Promise<boolean> => stat(p).then((s) => s.isDirectory(), () => false);

export async function fileSize(path: string, what = 'file'): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new SaeMatchInputError(`${path}: cannot read ${what}: ${fsReason(e, 'file')}`, { cause: e });
  }
  if (!st.isFile()) throw new SaeMatchInputError(`${path}: ${what} is not a regular file`);
  return st.size;
}

/** The bytes of a typed array, without copying. */
export function bytesView(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
