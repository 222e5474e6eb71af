// Reading large byte ranges of files into memory the native side allocates (huge-page advised, so a
// 300 MB tensor does not pay 75k page faults) on several threads, with the ZIP CRC-32 computed while
// reading. Small helpers for atomic writes live here too: every output goes to a temporary file that
// is renamed into place, so an interrupted run never leaves a half-written file under the real name.
import { open, rename, unlink, stat, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { SaeMatchInputError, SaeMatchInternalError } from '../errors.js';
import { callNative, loadAddon } from '../binding/addon.js';

/** Arrays at least this large come from the native huge-page allocator. */
const LARGE = 4 << 20;
/** The largest external (native, huge-page) buffer Node 20 accepts: 4 GiB. */
const MAX_EXTERNAL = 2 ** 32;

/** Buffers from the native allocator, the only ones that may be recycled. */
const large = new WeakSet<ArrayBuffer>();
/**
 * Large buffers handed back by recycleBuffer. Memory first touched costs more than reading a file
 * from the page cache on a VM (measured here: ~2 ms per MB on first touch), so a suite run reads each
 * layer into the pages the previous layer's raw tensors just left.
 */
const pool: ArrayBuffer[] = [];
let pooledBytes = 0;
const POOL_MAX_BYTES = 4 * 2 ** 30;

/** A zero-filled ArrayBuffer of `bytes` bytes; large ones are backed by huge-page-advised memory. */
export function allocBuffer(bytes: number, source = 'sae-match'): ArrayBuffer {
  try {
    // Node 20 cannot wrap more than 4 GiB of external memory in an ArrayBuffer (the native
    // allocation refuses it): larger buffers (a 65k-feature cost matrix is 16 GiB) come from V8.
    if (bytes < LARGE || bytes > MAX_EXTERNAL) return new ArrayBuffer(bytes);
    const b = loadAddon().addon.allocLarge(bytes);
    large.add(b);
    return b;
  } catch (e) {
    throw new SaeMatchInternalError(`${source}: cannot allocate ${bytes} bytes`, { cause: e });
  }
}

/** A buffer whose contents the caller overwrites entirely (a read target): a recycled one when possible. */
export function takeBuffer(bytes: number, source?: string): ArrayBuffer {
  const k = pool.findIndex((b) => b.byteLength === bytes);
  if (k < 0) return allocBuffer(bytes, source);
  pooledBytes -= bytes;
  return pool.splice(k, 1)[0]!;
}

/**
 * Hands a buffer from allocBuffer back for reuse. Only for buffers nothing references any more:
 * the next takeBuffer of the same size gets this memory with its old contents.
 */
export function recycleBuffer(buffer: ArrayBuffer): void {
  if (!large.has(buffer) || pool.includes(buffer) || pooledBytes + buffer.byteLength > POOL_MAX_BYTES) return;
  pool.push(buffer);
  pooledBytes += buffer.byteLength;
}

export function allocFloat32(n: number, source?: string): Float32Array {
  return new Float32Array(allocBuffer(n * 4, source));
}

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
    (a, token) => a.readRange(path, offset, length, bytes, opts.threads ?? 0, opts.crc ?? false, token),
    opts.signal,
  ).catch((e) => {
    throw e instanceof SaeMatchInternalError ? new SaeMatchInputError(e.message.replace(/^native addon: /, ''), { cause: e }) : e;
  });
  return { bytes: bytes.subarray(0, r.bytesRead), bytesRead: r.bytesRead, crc32: r.crc32 >>> 0, seconds: r.seconds };
}

/** CRC-32 (ZIP polynomial) of a small buffer, continuing from `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return loadAddon().addon.crc32(bytes, crc) >>> 0;
}

/** CRC-32 of A||B from crc(A), crc(B) and B's length (zlib's crc32_combine). */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return loadAddon().addon.crc32Combine(crcA, crcB, lengthB) >>> 0;
}

/** Size of a regular file, or a SaeMatchInputError naming it. */
export async function fileSize(path: string, what = 'file'): Promise<number> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SaeMatchInputError(`${path}: cannot read ${what}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
  }
  if (!st.isFile()) throw new SaeMatchInputError(`${path}: ${what} is not a regular file`);
  return st.size;
}

/**
 * Writes a file atomically: `write` fills a temporary file in the same folder through the handle it
 * is given, which is then closed and renamed over `path`. On failure the temporary file is removed.
 */
export async function writeAtomic(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    await write(fh);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof SaeMatchInputError || e instanceof SaeMatchInternalError) throw e;
    const msg = `${path}: cannot write: ${(e as Error).message}`;
    throw code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR' || code === 'EROFS'
      ? new SaeMatchInputError(msg, { cause: e })
      : new SaeMatchInternalError(msg, { cause: e });
  }
}

/** Writes every byte of `data` through `fh` (in chunks of at most 1 GiB: one write() call caps at 2 GiB). */
export async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  const CHUNK = 1 << 30;
  for (let done = 0; done < data.length; ) {
    const len = Math.min(CHUNK, data.length - done);
    const { bytesWritten } = await fh.write(data, done, len);
    if (bytesWritten <= 0) throw new Error('write returned 0 bytes');
    done += bytesWritten;
  }
}

/** The bytes of a typed array, without copying. */
export function bytesView(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
