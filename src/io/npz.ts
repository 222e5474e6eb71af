// Reader for NumPy .npz archives (np.savez / np.savez_compressed): a ZIP file whose
// members are .npy files named `${key}.npy`. Gemma Scope ships its SAEs this way, 302 MB at width
// 16k and 19 GB at width 1m, so nothing here reads a whole file or puts tensor data in a Buffer:
// yauzl parses only the central directory (ZIP64 included); stored members are read by the native
// threaded reader straight into their final buffer, CRC-32 computed on the way; deflated members are
// inflated as a stream into a preallocated buffer. The writer, npz-write.ts, mirrors np.savez.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import yauzl from 'yauzl';
import { SaeMatchInputError, throwIfAborted } from '../errors.js';
import { allocBuffer, takeBuffer } from './buffers.js';
import { crc32, crc32Combine, fileSize, readRange } from './read.js';
import { parseNpyHeader, toNative, type NpyArray, type NpyHeader } from './npy.js';
import { END_SIG, LOCAL_HEADER_SIG, LOCAL_HEADER_SIZE, FLAG_ENCRYPTED, METHOD_STORED, METHOD_DEFLATE, ZIP64_LOCATOR_SIG } from './zip.js';

export interface NpzEntry {
  name: string;
  compressed: boolean;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
}

/** Entry-count cap before anything is allocated per entry; an SAE archive has five. */
const MAX_ENTRIES = 100_000;
/** First read of a member: more than any .npy header numpy writes (headers up to 1 MiB are then re-read). */
const HEAD_READ = 4096;
/** npy.ts refuses headers longer than this (1 MiB of text after a 12-byte preamble). */
const MAX_NPY_HEADER = (1 << 20) + 12;
const METHOD_NAMES: Record<number, string> = {
  1: 'shrink', 6: 'implode', 9: 'deflate64', 12: 'bzip2', 14: 'LZMA', 93: 'zstd', 95: 'xz', 98: 'PPMd', 99: 'AES',
};

function fail(path: string, what: string, cause?: unknown): never {
  throw new SaeMatchInputError(`${path}: ${what}`, cause === undefined ? undefined : { cause });
}

/** "151 MB", "4.2 GB", "812 bytes": sizes in messages, decimal units like `ls -h --si`. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} byte${n === 1 ? '' : 's'}`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toPrecision(3)} ${units[u]}`;
}

// ---------------------------------------------------------------------------------------------
// Central directory (yauzl)

function wrapZipError(path: string, e: unknown): SaeMatchInputError {
  if (e instanceof SaeMatchInputError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/end of central directory record signature not found/i.test(msg)) {
    return new SaeMatchInputError(
      `${path}: not a ZIP archive (no end-of-central-directory record: not a ZIP/.npz file, or a truncated one)`,
      { cause: e },
    );
  }
  return new SaeMatchInputError(`${path}: invalid ZIP archive (${msg})`, { cause: e });
}

/**
 * yauzl follows the ZIP64 end-of-central-directory locator with an fs.read that throws, outside any
 * callback it could report to, when the offset is past 2^53: a corrupt locator would crash the
 * process. So the locator yauzl will use (next to the last end record, as it finds it) is checked
 * here first: its record must lie inside the file.
 */
async function checkZip64Locator(path: string): Promise<void> {
  const size = await fileSize(path, '.npz archive');
  const tailLength = Math.min(size, 22 + 0xffff);
  const { bytes } = await readRange(path, size - tailLength, tailLength);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = bytes.length - 22; i >= 0; i--) {
    if (dv.getUint32(i, true) !== END_SIG) continue;
    if (i >= 20 && dv.getUint32(i - 20, true) === ZIP64_LOCATOR_SIG) {
      const offset = dv.getBigUint64(i - 20 + 8, true);
      if (offset + 56n > BigInt(size))
        fail(path, `the ZIP64 end-of-central-directory locator points to offset ${offset}, past the end of the ${size}-byte file (corrupt or truncated)`);
    }
    return;
  }
}

async function openZip(path: string): Promise<yauzl.ZipFile> {
  await checkZip64Locator(path);
  return new Promise((resolve, reject) => {
    // Sizes are checked against the .npy headers below, with messages that name the member.
    const options = { lazyEntries: true, autoClose: false, validateEntrySizes: false };
    yauzl.open(path, options, (err, zip) => (err ? reject(wrapZipError(path, err)) : resolve(zip)));
  });
}

/** Every central-directory record, in archive order. */
async function readCentralDirectory(path: string): Promise<yauzl.Entry[]> {
  const zip = await openZip(path);
  try {
    if (zip.entryCount > MAX_ENTRIES) {
      fail(path, `the ZIP central directory claims ${zip.entryCount} entries (more than ${MAX_ENTRIES}): not an .npz archive?`);
    }
    return await new Promise<yauzl.Entry[]>((resolve, reject) => {
      const entries: yauzl.Entry[] = [];
      // yauzl reads the next record with fs.read, which throws synchronously on an offset past 2^53
      // (a corrupt ZIP64 field): that must reject here, not escape from the event handler.
      const next = () => {
        try {
          zip.readEntry();
        } catch (e) {
          reject(wrapZipError(path, e));
        }
      };
      zip.on('entry', (entry: yauzl.Entry) => {
        entries.push(entry);
        next();
      });
      zip.on('end', () => resolve(entries));
      zip.on('error', (err) => reject(wrapZipError(path, err)));
      next();
    });
  } finally {
    zip.close();
  }
}

function toNpzEntry(e: yauzl.Entry): NpzEntry {
  return {
    name: e.fileName,
    compressed: e.compressionMethod !== METHOD_STORED,
    compressedSize: e.compressedSize,
    uncompressedSize: e.uncompressedSize,
    crc32: e.crc32 >>> 0,
  };
}

export async function listNpz(path: string): Promise<NpzEntry[]> {
  await fileSize(path, '.npz archive');
  return (await readCentralDirectory(path)).map(toNpzEntry);
}

// ---------------------------------------------------------------------------------------------
// Reading members

/** The entries `names` asks for (all .npy members when absent), keyed the way numpy's NpzFile keys them. */
function selectEntries(path: string, entries: yauzl.Entry[], names?: string[]): [string, yauzl.Entry][] {
  const byName = new Map<string, yauzl.Entry>();
  for (const e of entries) {
    if (byName.has(e.fileName)) fail(path, `entry ${e.fileName} appears twice in the ZIP central directory: the archive is corrupt`);
    byName.set(e.fileName, e);
  }
  if (names === undefined) {
    // Members that are not .npy files (numpy would hand them back as bytes) hold no arrays: skipped.
    return entries.filter((e) => e.fileName.endsWith('.npy')).map((e) => [e.fileName.slice(0, -4), e]);
  }
  return names.map((key) => {
    const e = byName.get(`${key}.npy`) ?? byName.get(key);
    if (!e) {
      const have = entries.map((x) => x.fileName).join(', ') || 'no entries';
      fail(path, `no entry '${key}.npy' (the archive has: ${have})`);
    }
    return [key, e];
  });
}

/** Reads and checks the local header; returns the offset of the member's first (possibly compressed) byte. */
async function locateData(path: string, e: yauzl.Entry, size: number, signal?: AbortSignal): Promise<number> {
  const where = `entry ${e.fileName}`;
  if (e.generalPurposeBitFlag & FLAG_ENCRYPTED) {
    fail(path, `${where} is encrypted; encrypted ZIP members are not supported (numpy never writes them)`);
  }
  const method = e.compressionMethod;
  if (method !== METHOD_STORED && method !== METHOD_DEFLATE) {
    const known = METHOD_NAMES[method] ? ` (${METHOD_NAMES[method]})` : '';
    fail(path, `${where} uses compression method ${method}${known}; supported: 0 (stored, np.savez) and 8 (deflate, np.savez_compressed)`);
  }
  const off = e.relativeOffsetOfLocalHeader;
  if (off + LOCAL_HEADER_SIZE + e.fileNameLength + e.compressedSize > size) {
    fail(
      path,
      `${where} claims ${formatBytes(e.compressedSize)} of data at offset ${off} but the file is only ${size} bytes (truncated?)`,
    );
  }
  const { bytes } = await readRange(path, off, LOCAL_HEADER_SIZE + e.fileNameLength, { signal });
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== LOCAL_HEADER_SIG) {
    fail(path, `${where}: no local file header at offset ${off} (the central directory points elsewhere): the archive is corrupt`);
  }
  const nameLength = dv.getUint16(26, true);
  const extraLength = dv.getUint16(28, true);
  const localName = bytes.subarray(LOCAL_HEADER_SIZE, LOCAL_HEADER_SIZE + nameLength);
  if (nameLength !== e.fileNameLength || Buffer.compare(localName, e.fileNameRaw) !== 0) {
    fail(path, `${where}: the local header names a different file than the central directory: the archive is corrupt`);
  }
  const start = off + LOCAL_HEADER_SIZE + nameLength + extraLength;
  if (start + e.compressedSize > size) {
    fail(
      path,
      `${where} claims ${formatBytes(e.compressedSize)} of data at offset ${start} but the file is only ${size} bytes (truncated?)`,
    );
  }
  return start;
}

/** Length of the .npy preamble + header that `head` starts with, or undefined if `head` cannot say. */
function npyHeaderEnd(head: Uint8Array): number | undefined {
  if (head.length < 12 || head[0] !== 0x93) return undefined;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  return head[6] === 1 ? 10 + dv.getUint16(8, true) : 12 + dv.getUint32(8, true);
}

function checkMemberSize(path: string, e: yauzl.Entry, h: NpyHeader): void {
  if (h.headerLength + h.dataBytes !== e.uncompressedSize) {
    fail(
      path,
      `entry ${e.fileName}: its .npy header describes ${h.shape.join('x') || '0-d'} ${h.dtype} (${h.headerLength} + ${h.dataBytes} bytes) ` +
        `but the ZIP entry holds ${e.uncompressedSize} bytes: the archive is corrupt`,
    );
  }
}

function checkCrc(path: string, e: yauzl.Entry, computed: number): void {
  const stored = e.crc32 >>> 0;
  if (computed >>> 0 !== stored) {
    const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0');
    fail(path, `entry ${e.fileName}: CRC-32 mismatch (stored ${hex(stored)}, computed ${hex(computed)}): the file is corrupt`);
  }
}

/** A stored member: the .npy header, then the data with one threaded read into a fresh buffer. */
async function readStored(
  path: string,
  e: yauzl.Entry,
  start: number,
  verifyCrc: boolean,
  signal?: AbortSignal,
): Promise<NpyArray> {
  const source = `${path}:${e.fileName}`;
  if (e.compressedSize !== e.uncompressedSize) {
    fail(path, `entry ${e.fileName} is stored (not compressed) but its sizes differ (${e.compressedSize} vs ${e.uncompressedSize}): the archive is corrupt`);
  }
  let head = (await readRange(path, start, Math.min(e.compressedSize, HEAD_READ), { signal })).bytes;
  const end = npyHeaderEnd(head);
  if (end !== undefined && end > head.length && end <= e.compressedSize && end <= MAX_NPY_HEADER) {
    head = (await readRange(path, start, end, { signal })).bytes;
  }
  const h = parseNpyHeader(head, source);
  checkMemberSize(path, e, h);
  const buffer = takeBuffer(h.dataBytes, source);
  let dataCrc = 0;
  if (h.dataBytes > 0) {
    const r = await readRange(path, start + h.headerLength, h.dataBytes, { crc: verifyCrc, into: new Uint8Array(buffer), signal });
    if (r.bytesRead < h.dataBytes) {
      fail(path, `entry ${e.fileName}: the file ended after ${r.bytesRead} of ${h.dataBytes} bytes of data (truncated, or changed while being read)`);
    }
    dataCrc = r.crc32;
  }
  if (verifyCrc) checkCrc(path, e, crc32Combine(crc32(head.subarray(0, h.headerLength)), dataCrc, h.dataBytes));
  return { dtype: h.dtype, shape: h.shape, data: toNative(h, buffer) };
}

/** Collects the inflated bytes: the .npy header first, then the data straight into its own buffer. */
class InflateSink {
  header: NpyHeader | undefined;
  total = 0;
  crc = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private out: Uint8Array | undefined;
  private written = 0;

  constructor(
    private readonly path: string,
    private readonly e: yauzl.Entry,
    private readonly verifyCrc: boolean,
  ) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.total > this.e.uncompressedSize) {
      fail(this.path, `entry ${this.e.fileName}: inflates to more than the ${this.e.uncompressedSize} bytes the archive declares: the archive is corrupt (or a zip bomb)`);
    }
    if (this.verifyCrc) this.crc = crc32(chunk, this.crc);
    if (this.out) return this.append(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    const head = Buffer.concat(this.pending, this.pendingBytes);
    if (this.awaitingHeader(head)) return;
    this.start(head);
  }

  /** True while more bytes could complete the header; false once it is whole or cannot be valid (parsing then says why). */
  private awaitingHeader(head: Buffer): boolean {
    const end = npyHeaderEnd(head);
    if (end === undefined) return head.length < Math.min(12, this.e.uncompressedSize);
    return end > head.length && end <= this.e.uncompressedSize && end <= MAX_NPY_HEADER;
  }

  private start(head: Buffer): void {
    const h = parseNpyHeader(head, `${this.path}:${this.e.fileName}`);
    checkMemberSize(this.path, this.e, h);
    this.header = h;
    this.out = new Uint8Array(allocBuffer(h.dataBytes, `${this.path}:${this.e.fileName}`));
    this.pending = [];
    this.append(head.subarray(h.headerLength));
  }

  private append(chunk: Uint8Array): void {
    this.out!.set(chunk, this.written);
    this.written += chunk.length;
  }

  finish(): NpyArray {
    if (!this.header && this.pendingBytes > 0) this.start(Buffer.concat(this.pending, this.pendingBytes));
    if (!this.header || this.total < this.e.uncompressedSize) {
      fail(this.path, `entry ${this.e.fileName}: the compressed data ends after ${this.total} of ${this.e.uncompressedSize} bytes: the archive is corrupt`);
    }
    if (this.verifyCrc) checkCrc(this.path, this.e, this.crc);
    const h = this.header;
    return { dtype: h.dtype, shape: h.shape, data: toNative(h, this.out!.buffer as ArrayBuffer) };
  }
}

/** A deflated member (np.savez_compressed): streamed through zlib, never more than ~1 MiB in flight. */
async function readDeflated(
  path: string,
  e: yauzl.Entry,
  start: number,
  verifyCrc: boolean,
  signal?: AbortSignal,
): Promise<NpyArray> {
  if (e.compressedSize === 0) fail(path, `entry ${e.fileName} is deflated but has no compressed data: the archive is corrupt`);
  const sink = new InflateSink(path, e, verifyCrc);
  const src = createReadStream(path, { start, end: start + e.compressedSize - 1, highWaterMark: 1 << 20 });
  // Leaving the for-await early destroys the streams with an AbortError that pipeline may report
  // instead of the reason we left, so the sink's own error is kept aside and wins.
  let sinkError: unknown;
  try {
    await pipeline(
      src,
      createInflateRaw({ chunkSize: 1 << 20 }),
      async (chunks: AsyncIterable<Buffer>) => {
        try {
          for await (const chunk of chunks) sink.push(chunk);
        } catch (err) {
          sinkError ??= err;
          throw err;
        }
      },
      { signal },
    );
  } catch (err) {
    if (sinkError instanceof SaeMatchInputError) throw sinkError;
    if (err instanceof SaeMatchInputError || (err as Error)?.name === 'AbortError') throw err;
    const code = (err as NodeJS.ErrnoException)?.code ?? '';
    if (code.startsWith('Z_') || code === 'ERR_BUFFER_TOO_LARGE') {
      fail(path, `entry ${e.fileName}: corrupt deflate data (${(err as Error).message}): the archive is corrupt`, err);
    }
    fail(path, `entry ${e.fileName}: cannot read: ${(err as Error).message}`, err);
  }
  return sink.finish();
}

/**
 * Reads the arrays of an .npz archive. Keys are member names without '.npy' (np.savez convention).
 * `names`: only these members are read (a missing one is an error listing what the archive has);
 * without it every .npy member is read. CRC-32s are checked unless verifyCrc is false.
 */
export async function readNpz(
  path: string,
  opts: { names?: string[]; verifyCrc?: boolean; signal?: AbortSignal } = {},
): Promise<Record<string, NpyArray>> {
  throwIfAborted(opts.signal);
  const size = await fileSize(path, '.npz archive');
  const entries = await readCentralDirectory(path);
  const wanted = selectEntries(path, entries, opts.names);
  const verify = opts.verifyCrc ?? true;
  const out: [string, NpyArray][] = [];
  for (const [key, e] of wanted) {
    throwIfAborted(opts.signal);
    const start = await locateData(path, e, size, opts.signal);
    const read = e.compressionMethod === METHOD_STORED ? readStored : readDeflated;
    out.push([key, await read(path, e, start, verify, opts.signal)]);
  }
  return Object.fromEntries(out); // own properties even for a key like '__proto__'
}
