// Writer of NumPy .npz archives with np.savez's byte layout (Python's zipfile with force_zip64=True,
// stored members): every member's data is written straight from the caller's typed array, its CRC-32
// computed in slices that yield to the event loop, and the archive renamed into place when complete.
import type { FileHandle } from 'node:fs/promises';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { SaeMatchInputError } from '../errors.js';
import { bytesView, crc32 } from './read.js';
import { writeAll, writeAtomic } from './write.js';
import { encodeHeader, type NpyArray } from './npy.js';
import { LOCAL_HEADER_SIG, CENTRAL_HEADER_SIG, END_SIG, ZIP64_END_SIG, ZIP64_LOCATOR_SIG, LOCAL_HEADER_SIZE, CENTRAL_HEADER_SIZE, ZIP64_EXTRA_ID, ZIP64_LIMIT, ZIP64_VERSION, FLAG_UTF8, METHOD_STORED } from './zip.js';

function fail(path: string, what: string): never {
  throw new SaeMatchInputError(`${path}: ${what}`);
}

interface Member {
  name: Uint8Array;
  flags: number;
  header: Uint8Array;
  data: Uint8Array;
  size: number;
  crc: number;
  offset: number;
}

/** Python writes every zf.open(name, 'w') member with the DOS timestamp 1980-01-01 00:00:00. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
/** Made by Unix (3), version 4.5; regular file, mode 0600 (what zipfile gives zf.open(name, 'w')). */
const VERSION_MADE_BY = (3 << 8) | ZIP64_VERSION;
const EXTERNAL_ATTR = 0o600 << 16;

function memberName(path: string, key: string): Uint8Array {
  if (typeof key !== 'string' || key === '' || key.startsWith('/') || key.includes('\\') || key.split('/').includes('..')) {
    fail(path, `cannot write array '${key}': keys must be non-empty relative names without '..' or '\\'`);
  }
  const name = new TextEncoder().encode(`${key}.npy`);
  if (name.length > 0xffff) fail(path, `cannot write array '${key.slice(0, 40)}…': the key is longer than a ZIP name can be`);
  return name;
}

/** CRC-32 of a possibly huge array, yielding to the event loop between 64 MiB slices. */
async function crcOf(bytes: Uint8Array, crc: number): Promise<number> {
  const STEP = 64 << 20;
  for (let i = 0; i < bytes.length; i += STEP) {
    crc = crc32(bytes.subarray(i, i + STEP), crc);
    if (i + STEP < bytes.length) await yieldToLoop();
  }
  return crc;
}

function localHeader(m: Member): Uint8Array {
  const out = new Uint8Array(LOCAL_HEADER_SIZE + m.name.length + 20);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, LOCAL_HEADER_SIG, true);
  dv.setUint16(4, ZIP64_VERSION, true);
  dv.setUint16(6, m.flags, true);
  dv.setUint16(8, METHOD_STORED, true);
  dv.setUint16(10, DOS_TIME, true);
  dv.setUint16(12, DOS_DATE, true);
  dv.setUint32(14, m.crc, true);
  // force_zip64: the 32-bit sizes say "see the ZIP64 extra field", which always follows.
  dv.setUint32(18, 0xffffffff, true);
  dv.setUint32(22, 0xffffffff, true);
  dv.setUint16(26, m.name.length, true);
  dv.setUint16(28, 20, true);
  out.set(m.name, LOCAL_HEADER_SIZE);
  const x = LOCAL_HEADER_SIZE + m.name.length;
  dv.setUint16(x, ZIP64_EXTRA_ID, true);
  dv.setUint16(x + 2, 16, true);
  dv.setBigUint64(x + 4, BigInt(m.size), true); // uncompressed
  dv.setBigUint64(x + 12, BigInt(m.size), true); // compressed
  return out;
}

/** One central-directory record; sizes and offset move to a ZIP64 extra field only when above `limit`. */
function centralHeader(m: Member, limit: number): Uint8Array {
  const extra: number[] = [];
  if (m.size > limit) extra.push(m.size, m.size); // uncompressed, compressed
  if (m.offset > limit) extra.push(m.offset);
  const extraLength = extra.length ? 4 + 8 * extra.length : 0;
  const out = new Uint8Array(CENTRAL_HEADER_SIZE + m.name.length + extraLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, CENTRAL_HEADER_SIG, true);
  dv.setUint16(4, VERSION_MADE_BY, true);
  dv.setUint16(6, ZIP64_VERSION, true);
  dv.setUint16(8, m.flags, true);
  dv.setUint16(10, METHOD_STORED, true);
  dv.setUint16(12, DOS_TIME, true);
  dv.setUint16(14, DOS_DATE, true);
  dv.setUint32(16, m.crc, true);
  dv.setUint32(20, m.size > limit ? 0xffffffff : m.size, true);
  dv.setUint32(24, m.size > limit ? 0xffffffff : m.size, true);
  dv.setUint16(28, m.name.length, true);
  dv.setUint16(30, extraLength, true);
  // 32: comment length, 34: disk number, 36: internal attributes: all 0.
  dv.setUint32(38, EXTERNAL_ATTR, true);
  dv.setUint32(42, m.offset > limit ? 0xffffffff : m.offset, true);
  out.set(m.name, CENTRAL_HEADER_SIZE);
  if (extraLength) {
    const x = CENTRAL_HEADER_SIZE + m.name.length;
    dv.setUint16(x, ZIP64_EXTRA_ID, true);
    dv.setUint16(x + 2, 8 * extra.length, true);
    extra.forEach((v, i) => dv.setBigUint64(x + 4 + 8 * i, BigInt(v), true));
  }
  return out;
}

/**
 * The end records after a central directory of `count` records and `size` bytes at `offset`: the
 * ZIP64 end record and its locator first when the count, size or offset needs them (as zipfile
 * decides, with `limit` for sizes and offsets), then the classic end record, clamped.
 */
export function encodeEndRecords(count: number, size: number, offset: number, limit = ZIP64_LIMIT): Uint8Array {
  const zip64 = count > 0xffff || offset > limit || size > limit;
  const out = new Uint8Array((zip64 ? 56 + 20 : 0) + 22);
  const dv = new DataView(out.buffer);
  let p = 0;
  if (zip64) {
    dv.setUint32(0, ZIP64_END_SIG, true);
    dv.setBigUint64(4, 44n, true); // size of the rest of this record
    dv.setUint16(12, ZIP64_VERSION, true); // made by
    dv.setUint16(14, ZIP64_VERSION, true); // needed
    // 16: this disk, 20: disk with the central directory: 0.
    dv.setBigUint64(24, BigInt(count), true);
    dv.setBigUint64(32, BigInt(count), true);
    dv.setBigUint64(40, BigInt(size), true);
    dv.setBigUint64(48, BigInt(offset), true);
    dv.setUint32(56, ZIP64_LOCATOR_SIG, true);
    // 60: disk with the ZIP64 end record: 0.
    dv.setBigUint64(64, BigInt(offset + size), true); // the ZIP64 end record follows the central directory
    dv.setUint32(72, 1, true); // total disks
    p = 76;
  }
  dv.setUint32(p, END_SIG, true);
  dv.setUint16(p + 8, Math.min(count, 0xffff), true);
  dv.setUint16(p + 10, Math.min(count, 0xffff), true);
  dv.setUint32(p + 12, Math.min(size, 0xffffffff), true);
  dv.setUint32(p + 16, Math.min(offset, 0xffffffff), true);
  return out;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** writeNpz with the ZIP64 threshold as a parameter, so tests can force every ZIP64 record on small files. */
export async function writeNpzWithLimit(path: string, arrays: Record<string, NpyArray>, limit: number): Promise<void> {
  const members: Member[] = [];
  let offset = 0;
  for (const [key, arr] of Object.entries(arrays)) {
    const name = memberName(path, key);
    const header = encodeHeader(arr, `${path}: array '${key}'`);
    const data = bytesView(arr.data);
    const flags = /^[\x00-\x7f]*$/.test(key) ? 0 : FLAG_UTF8;
    const crc = await crcOf(data, crc32(header));
    const m: Member = { name, flags, header, data, size: header.length + data.length, crc, offset };
    members.push(m);
    offset += LOCAL_HEADER_SIZE + name.length + 20 + m.size;
  }
  const central = concatBytes(members.map((m) => centralHeader(m, limit)));
  const end = encodeEndRecords(members.length, central.length, offset, limit);
  await writeAtomic(path, async (fh: FileHandle) => {
    for (const m of members) {
      await writeAll(fh, concatBytes([localHeader(m), m.header]));
      await writeAll(fh, m.data); // straight from the caller's typed array
    }
    await writeAll(fh, concatBytes([central, end]));
  });
}

/**
 * Writes arrays as an .npz numpy reads with np.load: stored members `${key}.npy` with .npy v1.0
 * headers and a ZIP64 extra field on every local header (np.savez's force_zip64); ZIP64 fields in
 * the central directory and ZIP64 end records whenever a size, offset or count needs them.
 * Atomic: written to a temporary file renamed into place.
 */
export async function writeNpz(path: string, arrays: Record<string, NpyArray>): Promise<void> {
  return writeNpzWithLimit(path, arrays, ZIP64_LIMIT);
}
