// Reading and writing whole .npy files (NumPy's format versions 1.0, 2.0 and 3.0; the header and its
// dtypes are npy-header.ts). A file is read header first, checked against its size, and only then is
// one buffer of exactly the data size allocated and filled in chunks; writes go through writeAtomic.
// Every problem with a file is a SaeMatchInputError whose message starts with the file path.
import { open, type FileHandle } from 'node:fs/promises';
import { SaeMatchInternalError } from '../errors.js';
import { fsError, writeAll, writeAtomic } from './write.js';
import { allocBuffer } from './buffers.js';
import { readRange } from './read.js';
import {
  assertLittleEndianHost, bytesOf, checkDataSize, checkExpectations, describe, encodeHeader, fail, FIRST_READ, IO_CHUNK,
  parseNpyHeader, parsePreamble, toNative, type NpyArray, type NpyDtype,
} from './npy-header.js';

export { dtypeOf, encodeHeader, parseNpyHeader, toNative, viewOf } from './npy-header.js';
export type { NpyArray, NpyData, NpyDtype, NpyHeader } from './npy-header.js';

// ---------------------------------------------------------------------------------------------
// Decoding

/** Decodes a whole .npy file held in memory. The returned data is a copy (its own ArrayBuffer, offset 0). */
export function decodeNpy(bytes: Uint8Array, source = '<buffer>'): NpyArray {
  assertLittleEndianHost();
  const h = parseNpyHeader(bytes, source);
  checkDataSize(h, bytes.length - h.headerLength, source);
  const buffer = new ArrayBuffer(h.dataBytes);
  new Uint8Array(buffer).set(bytes.subarray(h.headerLength, h.headerLength + h.dataBytes));
  return { dtype: h.dtype, shape: h.shape, data: toNative(h, buffer) };
}

/** Reads exactly target.length bytes at `position` (in chunks of at most 1 GiB); returns the count actually read. */
async function readFully(fh: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const len = Math.min(IO_CHUNK, target.length - done);
    const { bytesRead } = await fh.read(target.subarray(done, done + len), 0, len, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * Reads a .npy file. The header is read first (at most 64 KiB, more if the header length demands it),
 * checked against the file size, and only then is one ArrayBuffer of exactly the data size allocated
 * and filled in chunks of at most 1 GiB. Any problem with the file is a SaeMatchInputError.
 */
export async function readNpy(
  path: string,
  opts?: { expectDtype?: NpyDtype[]; expectRank?: number },
): Promise<NpyArray> {
  assertLittleEndianHost();
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw fsError(e, path, 'open .npy file for reading');
  }
  try {
    let size: number;
    try {
      const st = await fh.stat();
      if (!st.isFile()) fail(path, 'not a regular file');
      size = st.size;
    } catch (e) {
      throw fsError(e, path, 'stat .npy file');
    }

    let head = new Uint8Array(Math.min(size, FIRST_READ));
    try {
      const got = await readFully(fh, head, 0);
      head = head.subarray(0, got);
    } catch (e) {
      throw fsError(e, path, 'read .npy header');
    }
    const pre = parsePreamble(head, path, size);
    const headerEnd = pre.prefixLength + pre.headerTextLength;
    if (headerEnd > head.length) {
      const full = new Uint8Array(headerEnd);
      full.set(head);
      let got: number;
      try {
        got = await readFully(fh, full.subarray(head.length), head.length);
      } catch (e) {
        throw fsError(e, path, 'read .npy header');
      }
      if (head.length + got < headerEnd) fail(path, 'truncated .npy: the file ended while reading the header');
      head = full;
    }
    const h = parseNpyHeader(head.subarray(0, headerEnd), path);
    checkExpectations(h, opts, path);
    checkDataSize(h, size - h.headerLength, path);

    // The data goes into native huge-page memory (io/buffers.ts) on all cores (io/read.ts): for a
    // 256 MiB matrix that is a third of the time of one libuv read into a fresh V8 buffer.
    let buffer: ArrayBuffer;
    try {
      buffer = allocBuffer(h.dataBytes, path);
    } catch (e) {
      throw new SaeMatchInternalError(
        `${path}: cannot allocate ${h.dataBytes} bytes for a ${describe(h.shape, h.dtype)} array`,
        { cause: e },
      );
    }
    const { bytesRead: got } = await readRange(path, h.headerLength, h.dataBytes, { into: new Uint8Array(buffer) });
    if (got < h.dataBytes) {
      fail(path, `truncated .npy: the file ended after ${got} of ${h.dataBytes} bytes of data (did it change while being read?)`);
    }
    return { dtype: h.dtype, shape: h.shape, data: toNative(h, buffer) };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** Encodes an array as a .npy file in memory (version 1.0 header, 2.0 if the header exceeds 65535 bytes). */
export function encodeNpy(arr: NpyArray): Uint8Array {
  assertLittleEndianHost();
  const header = encodeHeader(arr, '<buffer>');
  const data = bytesOf(arr.data);
  const out = new Uint8Array(header.length + data.length);
  out.set(header, 0);
  out.set(data, header.length);
  return out;
}

/**
 * Writes a .npy file atomically: header and data go to `${path}.tmp-<pid>-<random>` through one file
 * handle (the data is written straight from the typed array, no copy), which is then renamed over
 * `path`. On failure the temporary file is removed.
 */
export async function writeNpy(path: string, arr: NpyArray): Promise<void> {
  assertLittleEndianHost();
  const header = encodeHeader(arr, path);
  const data = bytesOf(arr.data);
  await writeAtomic(path, async (fh) => {
    await writeAll(fh, header);
    await writeAll(fh, data);
  }, { durable: false });
}
