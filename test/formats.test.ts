// The SAE weight-file formats: .npz (np.savez / np.savez_compressed, ZIP64) and safetensors
// (F32/F16/BF16). Readers are checked against fixtures numpy and Python's zipfile wrote
// (scripts/fixtures/make-sae-fixtures.py), writers by round trips, by byte comparison with those fixtures,
// and (when python3 with numpy is around) by numpy itself. Every corrupt-file path is exercised on
// patched copies in a temporary folder. ZIP structures in here are parsed and built by hand, not
// with the code under test.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { SaeMatchInputError } from '../src/errors.js';
import { allocBuffer } from '../src/io/buffers.js';
import { crc32, crc32Combine } from '../src/io/read.js';
import { callNative } from '../src/binding/addon.js';
import { encodeNpy, readNpy, type NpyArray } from '../src/io/npy.js';
import { listNpz, readNpz } from '../src/io/npz.js';
import { encodeEndRecords, writeNpz, writeNpzWithLimit } from '../src/io/npz-write.js';
import { f32BitsToBf16, f32BitsToF16, readSafetensors, writeSafetensors, type SafetensorsDtype } from '../src/io/safetensors.js';
import { numpyTestsRun, prng } from './helpers.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'sae');
const NAMES = ['W_enc', 'W_dec', 'threshold', 'b_enc', 'b_dec'];
const NPZ_VARIANTS = ['params.npz', 'params_compressed.npz', 'params_zip64.npz', 'params_stream.npz'];
const hasNumpy = numpyTestsRun();

let tmp: string;
let seq = 0;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'formats-test-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** A fresh path in the temp folder. */
function tmpPath(name: string): string {
  return join(tmp, `${seq++}-${name}`);
}

/** Writes patched bytes of a fixture to a temp file and returns its path. */
function patched(fixture: string, patch: (b: Uint8Array, dv: DataView) => void): string {
  const bytes = new Uint8Array(readFileSync(join(FIX, fixture)));
  patch(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const path = tmpPath(fixture.replace(/\//g, '_'));
  writeFileSync(path, bytes);
  return path;
}

async function inputError(p: Promise<unknown>, path: string, ...fragments: (string | RegExp)[]): Promise<string> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a SaeMatchInputError').toBeInstanceOf(SaeMatchInputError);
  const msg = (caught as Error).message;
  expect(msg.startsWith(`${path}:`), msg).toBe(true);
  for (const f of fragments) {
    if (typeof f === 'string') expect(msg).toContain(f);
    else expect(msg).toMatch(f);
  }
  return msg;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Exact equality of float32 values, NaN payloads and the sign of zero included. */
function expectSameFloats(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) expect([i, actual[i]], what).toEqual([i, expected[i]]);
}

async function npyFixture(rel: string): Promise<Float32Array> {
  const a = await readNpy(join(FIX, rel), { expectDtype: ['float32'] });
  return a.data as Float32Array;
}

// ---------------------------------------------------------------------------------------------
// A hand-written ZIP parser and builder (independent of src/io/npz.ts).

interface ZipRecord {
  name: string;
  /** Offset of this record in the central directory. */
  cdPos: number;
  localOffset: number;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
  extra: Uint8Array;
  /** The 32-bit fields as stored (0xFFFFFFFF where the ZIP64 extra holds the value). */
  raw: { compressedSize: number; uncompressedSize: number; localOffset: number };
  versionMadeBy: number;
  versionNeeded: number;
  time: number;
  date: number;
  internalAttr: number;
  externalAttr: number;
}

function parseZip(bytes: Uint8Array): { records: ZipRecord[]; eocd: number; cdOffset: number; cdSize: number; count: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = bytes.length - 22;
  expect(dv.getUint32(eocd, true)).toBe(0x06054b50);
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (eocd >= 20 && dv.getUint32(eocd - 20, true) === 0x07064b50) {
    const z = Number(dv.getBigUint64(eocd - 12, true));
    expect(dv.getUint32(z, true)).toBe(0x06064b50);
    count = Number(dv.getBigUint64(z + 32, true));
    cdSize = Number(dv.getBigUint64(z + 40, true));
    cdOffset = Number(dv.getBigUint64(z + 48, true));
  }
  const records: ZipRecord[] = [];
  for (let p = cdOffset, i = 0; i < count; i++) {
    expect(dv.getUint32(p, true)).toBe(0x02014b50);
    const n = dv.getUint16(p + 28, true);
    const m = dv.getUint16(p + 30, true);
    const k = dv.getUint16(p + 32, true);
    const raw = { compressedSize: dv.getUint32(p + 20, true), uncompressedSize: dv.getUint32(p + 24, true), localOffset: dv.getUint32(p + 42, true) };
    // ZIP64 extra (id 1): uncompressed, compressed, offset, each present only where the field is 0xFFFFFFFF.
    const real = { ...raw };
    for (let x = p + 46 + n; x + 4 <= p + 46 + n + m; x += 4 + dv.getUint16(x + 2, true)) {
      if (dv.getUint16(x, true) !== 1) continue;
      let q = x + 4;
      for (const f of ['uncompressedSize', 'compressedSize', 'localOffset'] as const) {
        if (raw[f] === 0xffffffff) {
          real[f] = Number(dv.getBigUint64(q, true));
          q += 8;
        }
      }
    }
    records.push({
      raw,
      name: Buffer.from(bytes.subarray(p + 46, p + 46 + n)).toString('utf8'),
      cdPos: p,
      versionMadeBy: dv.getUint16(p + 4, true),
      versionNeeded: dv.getUint16(p + 6, true),
      flags: dv.getUint16(p + 8, true),
      method: dv.getUint16(p + 10, true),
      time: dv.getUint16(p + 12, true),
      date: dv.getUint16(p + 14, true),
      crc: dv.getUint32(p + 16, true),
      compressedSize: real.compressedSize,
      uncompressedSize: real.uncompressedSize,
      internalAttr: dv.getUint16(p + 36, true),
      externalAttr: dv.getUint32(p + 38, true),
      localOffset: real.localOffset,
      extra: bytes.slice(p + 46 + n, p + 46 + n + m),
    });
    p += 46 + n + m + k;
  }
  return { records, eocd, cdOffset, cdSize, count };
}

/** Offset of a member's first data byte, from its local header. */
function dataStart(bytes: Uint8Array, r: ZipRecord): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return r.localOffset + 30 + dv.getUint16(r.localOffset + 26, true) + dv.getUint16(r.localOffset + 28, true);
}

interface RawMember {
  name: string;
  /** The member's bytes as stored (deflated already when method is 8). */
  stored: Uint8Array;
  method?: number;
  uncompressedSize?: number;
  crc?: number;
}

/** A classic (non-ZIP64) archive of the given members; sizes and CRCs default to the truth. */
function buildZip(members: RawMember[], plain: (m: RawMember) => Uint8Array = (m) => m.stored): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name, 'utf8');
    const method = m.method ?? 0;
    const size = m.uncompressedSize ?? plain(m).length;
    const crc = m.crc ?? crc32(plain(m));
    const local = new Uint8Array(30 + name.length);
    const l = new DataView(local.buffer);
    l.setUint32(0, 0x04034b50, true);
    l.setUint16(4, 20, true);
    l.setUint16(8, method, true);
    l.setUint32(14, crc, true);
    l.setUint32(18, m.stored.length, true);
    l.setUint32(22, size, true);
    l.setUint16(26, name.length, true);
    local.set(name, 30);
    const cd = new Uint8Array(46 + name.length);
    const c = new DataView(cd.buffer);
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(4, 20, true);
    c.setUint16(6, 20, true);
    c.setUint16(10, method, true);
    c.setUint32(16, crc, true);
    c.setUint32(20, m.stored.length, true);
    c.setUint32(24, size, true);
    c.setUint16(28, name.length, true);
    c.setUint32(42, offset, true);
    cd.set(name, 46);
    parts.push(local, m.stored);
    central.push(cd);
    offset += local.length + m.stored.length;
  }
  const cdSize = central.reduce((n, x) => n + x.length, 0);
  const end = new Uint8Array(22);
  const e = new DataView(end.buffer);
  e.setUint32(0, 0x06054b50, true);
  e.setUint16(8, members.length, true);
  e.setUint16(10, members.length, true);
  e.setUint32(12, cdSize, true);
  e.setUint32(16, offset, true);
  return Buffer.concat([...parts, ...central, end]);
}

function writeTmp(name: string, bytes: Uint8Array): string {
  const path = tmpPath(name);
  writeFileSync(path, bytes);
  return path;
}

function npyOf(values: number[], shape = [values.length]): Uint8Array {
  return encodeNpy({ dtype: 'float32', shape, data: new Float32Array(values) });
}

// ---------------------------------------------------------------------------------------------

describe('readNpz: members in Fortran order or big-endian (as PyTorch exports and np.savez write them)', () => {
  // The members are numpy-written .npy fixtures; the expected values are numpy's, in C order.
  const NPY = join(FIX, '..', 'npy');
  const expected = JSON.parse(readFileSync(join(NPY, 'expected.json'), 'utf8')).valid as Record<string, { shape: number[]; values: (number | string)[] }>;
  const names = ['fortran_big_endian_f8.npy', 'fortran_3d_int16.npy', 'fortran_transposed_f4.npy'];
  for (const method of [0, 8])
    it(`${method === 0 ? 'stored' : 'deflated'} members are transposed and swapped to match numpy`, async () => {
      const members = names.map((n) => {
        const plain = new Uint8Array(readFileSync(join(NPY, n)));
        return { name: n, method, stored: method === 8 ? new Uint8Array(deflateRawSync(plain)) : plain, plain };
      });
      const path = writeTmp(`fortran-${method}.npz`, buildZip(members, (m) => (m as unknown as { plain: Uint8Array }).plain));
      const arrays = await readNpz(path);
      for (const n of names) {
        const key = n.replace(/\.npy$/, '');
        expect(arrays[key]!.shape, n).toEqual(expected[n]!.shape);
        expect(Array.from(arrays[key]!.data as Float64Array | Int16Array | Float32Array), n).toEqual(expected[n]!.values);
      }
    });
});

describe('readNpz on numpy-written archives', () => {
  for (const variant of NPZ_VARIANTS) {
    it(`${variant}: every array equals the np.save copy, byte for byte`, async () => {
      const arrays = await readNpz(join(FIX, variant));
      expect(Object.keys(arrays)).toEqual(NAMES);
      for (const name of NAMES) {
        const want = await readNpy(join(FIX, 'npy', `${name}.npy`));
        const got = arrays[name];
        expect(got.dtype).toBe('float32');
        expect(got.shape).toEqual(want.shape);
        expect(got.data).toBeInstanceOf(Float32Array);
        expect(got.data.byteOffset).toBe(0);
        expect(Buffer.compare(bytesOf(got.data), bytesOf(want.data))).toBe(0);
      }
    });
  }

  it('has the SAE shapes the fixture script promises', async () => {
    const a = await readNpz(join(FIX, 'params.npz'));
    expect(a.W_enc.shape).toEqual([24, 40]);
    expect(a.W_dec.shape).toEqual([40, 24]);
    expect(a.threshold.shape).toEqual([40]);
    expect(Math.min(...(a.threshold.data as Float32Array))).toBeGreaterThan(0);
  });

  it('names: reads only the members asked for (a corrupt other member goes unnoticed)', async () => {
    const path = patched('params.npz', (b) => {
      const { records } = parseZip(b);
      const wDec = records.find((r) => r.name === 'W_dec.npy')!;
      b[dataStart(b, wDec) + wDec.compressedSize - 1] ^= 0xff;
    });
    const some = await readNpz(path, { names: ['threshold', 'W_enc'] });
    expect(Object.keys(some)).toEqual(['threshold', 'W_enc']);
    await inputError(readNpz(path), path, 'entry W_dec.npy: CRC-32 mismatch');
    // numpy also accepts the member name with its suffix.
    expect(Object.keys(await readNpz(path, { names: ['b_dec.npy'] }))).toEqual(['b_dec.npy']);
  });

  it('verifyCrc: false skips the check', async () => {
    const path = patched('params.npz', (b) => {
      const r = parseZip(b).records[0];
      b[dataStart(b, r) + r.compressedSize - 1] ^= 0x01; // last byte of W_enc's last float
    });
    const a = await readNpz(path, { names: ['W_enc'], verifyCrc: false });
    const good = await npyFixture('npy/W_enc.npy');
    expect(a.W_enc.data[good.length - 1]).not.toBe(good[good.length - 1]);
    expect(a.W_enc.data[0]).toBe(good[0]);
  });

  it('listNpz reports the central directory', async () => {
    const stored = await listNpz(join(FIX, 'params.npz'));
    const deflated = await listNpz(join(FIX, 'params_compressed.npz'));
    expect(stored.map((e) => e.name)).toEqual(NAMES.map((n) => `${n}.npy`));
    for (const [s, d] of stored.map((s, i) => [s, deflated[i]] as const)) {
      expect(s.compressed).toBe(false);
      expect(s.compressedSize).toBe(s.uncompressedSize);
      expect(d.compressed).toBe(true);
      expect(d.compressedSize).toBeLessThan(d.uncompressedSize);
      expect(d.crc32).toBe(s.crc32);
    }
    expect(stored[0].uncompressedSize).toBe(statSync(join(FIX, 'npy', 'W_enc.npy')).size);
  });

  it('the committed archives were made by numpy / zipfile (layout marks of np.savez)', () => {
    for (const variant of ['params.npz', 'params_zip64.npz']) {
      const b = new Uint8Array(readFileSync(join(FIX, variant)));
      const dv = new DataView(b.buffer);
      for (const r of parseZip(b).records) {
        // force_zip64: version 4.5, 0xFFFFFFFF sizes, a 20-byte ZIP64 extra in every local header.
        expect(dv.getUint16(r.localOffset + 4, true)).toBe(45);
        expect(dv.getUint32(r.localOffset + 18, true)).toBe(0xffffffff);
        expect(dv.getUint16(r.localOffset + 28, true)).toBe(20);
        expect(Number(dv.getBigUint64(r.localOffset + 30 + r.name.length + 4, true))).toBe(
          Number(dv.getBigUint64(r.localOffset + 30 + r.name.length + 12, true)),
        );
        expect([r.versionMadeBy, r.date, r.externalAttr]).toEqual([0x032d, 0x21, 0o600 << 16]);
        // numpy 2 pads .npy headers for in-place growth: 128 bytes here, where ours take 64.
        expect(b.subarray(dataStart(b, r), dataStart(b, r) + 6)).toEqual(new Uint8Array([0x93, 78, 85, 77, 80, 89]));
      }
    }
  });
});

describe('writeNpz', () => {
  function samples(): Record<string, NpyArray> {
    return {
      W: { dtype: 'float32', shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i / 7 - 1) },
      half: { dtype: 'float16', shape: [4], data: new Uint16Array([0x3c00, 0x8000, 0x7c00, 0x0001]) },
      big: { dtype: 'int64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 62n]) },
      mask: { dtype: 'bool', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
      scalar: { dtype: 'float64', shape: [], data: new Float64Array([Math.PI]) },
      empty: { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) },
      'naïve': { dtype: 'uint8', shape: [1], data: new Uint8Array([7]) },
    };
  }

  function expectSameArrays(got: Record<string, NpyArray>, want: Record<string, NpyArray>): void {
    expect(Object.keys(got)).toEqual(Object.keys(want));
    for (const k of Object.keys(want)) {
      expect(got[k].dtype, k).toBe(want[k].dtype);
      expect(got[k].shape, k).toEqual(want[k].shape);
      expect(Buffer.compare(bytesOf(got[k].data), bytesOf(want[k].data)), k).toBe(0);
    }
  }

  it('round-trips through readNpz, with correct CRCs and sizes in the directory', async () => {
    const path = tmpPath('rt.npz');
    await writeNpz(path, samples());
    expectSameArrays(await readNpz(path), samples());
    const listed = await listNpz(path);
    expect(listed.map((e) => e.name)).toEqual(Object.keys(samples()).map((k) => `${k}.npy`));
    for (const [i, arr] of Object.values(samples()).entries()) {
      const npy = encodeNpy(arr);
      expect(listed[i].uncompressedSize).toBe(npy.length);
      expect(listed[i].crc32).toBe(crc32(npy));
    }
  });

  it('lays the archive out like np.savez (same header fields as the numpy fixture)', async () => {
    const sae = await readNpz(join(FIX, 'params.npz'));
    const path = tmpPath('like-numpy.npz');
    await writeNpz(path, sae);
    const ours = new Uint8Array(readFileSync(path));
    const theirs = new Uint8Array(readFileSync(join(FIX, 'params.npz')));
    const a = parseZip(ours);
    const b = parseZip(theirs);
    const fields = (bytes: Uint8Array, r: ZipRecord) => {
      const dv = new DataView(bytes.buffer);
      const lo = r.localOffset;
      return {
        name: r.name,
        local: [4, 6, 8, 10, 12].map((o) => dv.getUint16(lo + o, true)).concat([dv.getUint32(lo + 18, true), dv.getUint16(lo + 28, true)]),
        central: [r.versionMadeBy, r.versionNeeded, r.flags, r.method, r.time, r.date, r.internalAttr, r.externalAttr, r.extra.length],
        sizesAgree: r.compressedSize === r.uncompressedSize,
      };
    };
    expect(a.records.map((r) => fields(ours, r))).toEqual(b.records.map((r) => fields(theirs, r)));
    expect(a.count).toBe(b.count);
    expect(ours.length - a.eocd).toBe(22);
    // Same CRC algorithm over the same logical content: the data CRC combined after differing headers.
    for (const [i, r] of a.records.entries()) {
      const o = dataStart(ours, r);
      const t = dataStart(theirs, b.records[i]);
      const ho = new DataView(ours.buffer).getUint16(o + 8, true) + 10;
      const ht = new DataView(theirs.buffer).getUint16(t + 8, true) + 10;
      expect(Buffer.compare(ours.subarray(o + ho, o + r.uncompressedSize), theirs.subarray(t + ht, t + b.records[i].uncompressedSize))).toBe(0);
    }
  });

  it('forced ZIP64 (limit 0): ZIP64 extras in the central directory and ZIP64 end records, as zipfile writes them', async () => {
    const sae = await readNpz(join(FIX, 'params.npz'));
    const path = tmpPath('zip64.npz');
    await writeNpzWithLimit(path, sae, 0);
    expectSameArrays(await readNpz(path), sae);
    const ours = new Uint8Array(readFileSync(path));
    const theirs = new Uint8Array(readFileSync(join(FIX, 'params_zip64.npz')));
    const a = parseZip(ours);
    const b = parseZip(theirs);
    const layout = (bytes: Uint8Array, z: ReturnType<typeof parseZip>) => {
      const dv = new DataView(bytes.buffer);
      const loc = z.eocd - 20;
      const rec = Number(dv.getBigUint64(loc + 8, true));
      return {
        extras: z.records.map((r) => [r.raw.compressedSize, r.raw.uncompressedSize, r.raw.localOffset === 0 ? 0 : r.raw.localOffset === 0xffffffff ? 'z' : 'x', r.extra.length, r.versionNeeded]),
        zip64End: [dv.getBigUint64(rec + 4, true), dv.getUint16(rec + 12, true), dv.getUint16(rec + 14, true), dv.getUint32(rec + 16, true), dv.getUint32(rec + 20, true)],
        recordFollowsDirectory: rec === z.cdOffset + z.cdSize,
        disks: dv.getUint32(loc + 16, true),
        eocdCount: dv.getUint16(z.eocd + 10, true),
      };
    };
    expect(layout(ours, a)).toEqual(layout(theirs, b));
    expect(layout(ours, a).extras[1]).toEqual([0xffffffff, 0xffffffff, 'z', 28, 45]);
    // The values inside the ZIP64 extras are the real ones.
    for (const r of a.records) {
      const x = new DataView(r.extra.buffer, r.extra.byteOffset);
      expect(x.getUint16(0, true)).toBe(1);
      const values = Array.from({ length: x.getUint16(2, true) / 8 }, (_, i) => Number(x.getBigUint64(4 + 8 * i, true)));
      const size = encodeNpy(sae[r.name.slice(0, -4)]).length;
      expect(values.slice(0, 2)).toEqual([size, size]);
    }
  });

  it('end records: ZIP64 only when the count, size or offset needs it, classic fields clamped', () => {
    const dvOf = (b: Uint8Array) => new DataView(b.buffer);
    const small = encodeEndRecords(5, 300, 4000);
    expect(small.length).toBe(22);
    expect([dvOf(small).getUint16(10, true), dvOf(small).getUint32(12, true), dvOf(small).getUint32(16, true)]).toEqual([5, 300, 4000]);

    const cases: [number, number, number, [number, number, number]][] = [
      [5, 300, 5_000_000_000, [5, 300, 0xffffffff]], // central directory beyond 4 GiB
      [5, 300, 3_000_000_000, [5, 300, 3_000_000_000]], // beyond 2^31 - 1 only: ZIP64 records, exact classic fields (zipfile does the same)
      [70_000, 5_000_000, 1000, [0xffff, 5_000_000, 1000]], // more than 65535 entries
    ];
    for (const [count, size, offset, classic] of cases) {
      const b = encodeEndRecords(count, size, offset);
      const dv = dvOf(b);
      expect(b.length).toBe(56 + 20 + 22);
      expect(dv.getUint32(0, true)).toBe(0x06064b50);
      expect(Number(dv.getBigUint64(4, true))).toBe(44);
      expect([24, 32, 40, 48].map((o) => Number(dv.getBigUint64(o, true)))).toEqual([count, count, size, offset]);
      expect(dv.getUint32(56, true)).toBe(0x07064b50);
      expect(Number(dv.getBigUint64(64, true))).toBe(offset + size);
      expect(dv.getUint32(72, true)).toBe(1);
      expect(dv.getUint32(76, true)).toBe(0x06054b50);
      expect([dv.getUint16(86, true), dv.getUint32(88, true), dv.getUint32(92, true)]).toEqual(classic);
    }
  });

  it('refuses bad keys and arrays, naming the file', async () => {
    const path = tmpPath('bad.npz');
    await inputError(writeNpz(path, { '../evil': samples().W }), path, "array '../evil'");
    await inputError(writeNpz(path, { '': samples().W }), path, 'non-empty');
    await inputError(
      writeNpz(path, { W: { dtype: 'float32', shape: [4, 4], data: new Float32Array(15) } }),
      path,
      "array 'W'",
      '16 elements',
    );
    expect(() => statSync(path)).toThrow();
  });

  it.skipIf(!hasNumpy)('numpy loads what writeNpz writes, and zipfile.testzip() passes (plain and forced ZIP64)', async () => {
    const plain = tmpPath('np-plain.npz');
    const zip64 = tmpPath('np-zip64.npz');
    const arrays = samples();
    await writeNpz(plain, arrays);
    await writeNpzWithLimit(zip64, arrays, 0);
    const script = [
      'import sys, zipfile, numpy as np',
      'for p in sys.argv[1:]:',
      '    with zipfile.ZipFile(p) as zf: assert zf.testzip() is None, p',
      '    with np.load(p) as z:',
      '        print(p, ";".join(f"{k}:{z[k].dtype}:{list(z[k].shape)}:{z[k].tobytes().hex()}" for k in z.files))',
    ].join('\n');
    const res = spawnSync('python3', ['-c', script, plain, zip64], { encoding: 'utf8' });
    expect(res.stderr).toBe('');
    const want = Object.entries(arrays)
      .map(([k, a]) => {
        const dtype = { float32: 'float32', float16: 'float16', int64: 'int64', bool: 'bool', float64: 'float64', uint8: 'uint8' }[a.dtype as string];
        return `${k}:${dtype}:[${a.shape.join(', ')}]:${Buffer.from(bytesOf(a.data)).toString('hex')}`;
      })
      .join(';');
    expect(res.stdout.trim().split('\n')).toEqual([`${plain} ${want}`, `${zip64} ${want}`]);
  });
});

describe('readNpz errors', () => {
  it('a file that is not a ZIP archive', async () => {
    const path = writeTmp('not.npz', new TextEncoder().encode('hello, this is not a zip file at all'));
    await inputError(readNpz(path), path, 'not a ZIP archive (');
    const npy = join(FIX, 'npy', 'W_enc.npy');
    await inputError(readNpz(npy), npy, 'not a ZIP archive');
    const empty = writeTmp('empty.npz', new Uint8Array(0));
    await inputError(readNpz(empty), empty, 'not a ZIP archive');
  });

  it('a missing file', async () => {
    const path = join(tmp, 'nope', 'params.npz');
    await inputError(readNpz(path), path, 'no such file');
    await inputError(listNpz(path), path, 'no such file');
  });

  it('a truncated archive (copy, cut in half)', async () => {
    const path = tmpPath('trunc.npz');
    copyFileSync(join(FIX, 'params.npz'), path);
    truncateSync(path, Math.floor(statSync(path).size / 2));
    await inputError(readNpz(path), path, 'not a ZIP archive', 'truncated');
  });

  it('a flipped data byte: CRC-32 mismatch, stored and computed values in hex', async () => {
    let stored = 0;
    const path = patched('params.npz', (b) => {
      const r = parseZip(b).records[1];
      stored = r.crc;
      b[dataStart(b, r) + 200] ^= 0x10;
    });
    const msg = await inputError(readNpz(path), path, 'entry W_dec.npy: CRC-32 mismatch (stored ', stored.toString(16).padStart(8, '0'), 'the file is corrupt');
    expect(msg).toMatch(/computed [0-9a-f]{8}\)/);
  });

  it('a flipped byte in the .npy header is caught by the CRC too', async () => {
    const path = patched('params.npz', (b) => {
      const r = parseZip(b).records[0];
      b[dataStart(b, r) + 100] = 0x09; // header padding: space -> tab, still a valid header
    });
    await inputError(readNpz(path, { names: ['W_enc'] }), path, 'entry W_enc.npy: CRC-32 mismatch');
  });

  it('an entry whose sizes reach past the end of the file', async () => {
    const path = patched('params.npz', (b, dv) => {
      const r = parseZip(b).records[0];
      dv.setUint32(r.cdPos + 20, 151_000_000, true);
      dv.setUint32(r.cdPos + 24, 151_000_000, true);
    });
    await inputError(readNpz(path), path, 'entry W_enc.npy claims 151 MB of data at offset', 'but the file is only', 'bytes (truncated?)');
    const far = patched('params.npz', (b, dv) => {
      const r = parseZip(b).records[2];
      dv.setUint32(r.cdPos + 42, 50_000_000, true);
    });
    await inputError(readNpz(far), far, 'entry threshold.npy claims', 'at offset 50000000', '(truncated?)');
  });

  it('a missing member, listing what the archive has', async () => {
    const path = join(FIX, 'params.npz');
    await inputError(
      readNpz(path, { names: ['W_enc', 'thresholds'] }),
      path,
      "no entry 'thresholds.npy' (the archive has: W_enc.npy, W_dec.npy, threshold.npy, b_enc.npy, b_dec.npy)",
    );
  });

  it('an unsupported compression method and an encrypted entry', async () => {
    const bz = patched('params.npz', (b, dv) => {
      const r = parseZip(b).records[0];
      dv.setUint16(r.cdPos + 10, 12, true);
      dv.setUint16(r.localOffset + 8, 12, true);
    });
    await inputError(readNpz(bz), bz, 'entry W_enc.npy uses compression method 12 (bzip2)', 'supported: 0 (stored');
    const odd = patched('params_compressed.npz', (b, dv) => dv.setUint16(parseZip(b).records[3].cdPos + 10, 77, true));
    await inputError(readNpz(odd), odd, 'entry b_enc.npy uses compression method 77;');
    const enc = patched('params.npz', (b, dv) => {
      const r = parseZip(b).records[4];
      dv.setUint16(r.cdPos + 8, 1, true);
    });
    await inputError(readNpz(enc), enc, 'entry b_dec.npy is encrypted');
    expect(Object.keys(await readNpz(enc, { names: ['W_enc'] }))).toEqual(['W_enc']);
  });

  it('a central directory pointing at something that is not a local header', async () => {
    const path = patched('params.npz', (b, dv) => dv.setUint32(parseZip(b).records[1].cdPos + 42, 7, true));
    await inputError(readNpz(path), path, 'entry W_dec.npy: no local file header at offset 7');
    const renamed = patched('params.npz', (b) => {
      const r = parseZip(b).records[0];
      b[r.localOffset + 30] = 'X'.charCodeAt(0);
    });
    await inputError(readNpz(renamed), renamed, 'entry W_enc.npy: the local header names a different file');
  });

  it('yauzl failures are wrapped with the path', async () => {
    const path = patched('params.npz', (b, dv) => dv.setUint32(parseZip(b).records[2].cdPos, 0xdeadbeef, true));
    await inputError(readNpz(path), path, 'invalid ZIP archive (invalid central directory file header signature');
    const evil = writeTmp('evil.npz', buildZip([{ name: '../W_enc.npy', stored: npyOf([1]) }]));
    await inputError(listNpz(evil), evil, 'invalid ZIP archive (');
  });

  it('a .npy header that disagrees with the entry size', async () => {
    const path = patched('params.npz', (b) => {
      const r = parseZip(b).records[0];
      const s = dataStart(b, r);
      const text = Buffer.from(b.subarray(s, s + 128)).toString('latin1');
      const i = text.indexOf('(24, 40)');
      b.set(Buffer.from('(24, 41)', 'latin1'), s + i);
    });
    await inputError(readNpz(path), path, 'entry W_enc.npy: its .npy header describes 24x41 float32', 'but the ZIP entry holds 3968 bytes');
    const sizes = patched('params.npz', (b, dv) => dv.setUint32(parseZip(b).records[0].cdPos + 20, 100, true));
    await inputError(readNpz(sizes), sizes, 'is stored (not compressed) but its sizes differ (100 vs 3968)');
  });

  it('a member that is not a .npy file names the member', async () => {
    const path = writeTmp('junk.npz', buildZip([{ name: 'x.npy', stored: new TextEncoder().encode('just some text, no magic here') }]));
    await inputError(readNpz(path), path, `${path}:x.npy: not a .npy file`);
  });

  it('duplicate member names', async () => {
    const path = writeTmp('dup.npz', buildZip([{ name: 'a.npy', stored: npyOf([1]) }, { name: 'a.npy', stored: npyOf([2]) }]));
    await inputError(readNpz(path), path, 'entry a.npy appears twice');
  });

  describe('deflated members', () => {
    const payload = npyOf(Array.from({ length: 1000 }, (_, i) => Math.sin(i)));
    const deflated = (m: Partial<RawMember> & { plain: Uint8Array }) =>
      buildZip([{ name: 'x.npy', method: 8, stored: deflateRawSync(m.plain), ...m }], () => m.plain);

    it('a hand-built deflated member reads back; members not ending in .npy are skipped', async () => {
      const zip = buildZip(
        [
          { name: 'x.npy', method: 8, stored: deflateRawSync(payload) },
          { name: 'README.txt', stored: new TextEncoder().encode('hello') },
        ],
        (m) => (m.name === 'x.npy' ? payload : m.stored),
      );
      const path = writeTmp('deflate.npz', zip);
      const a = await readNpz(path);
      expect(Object.keys(a)).toEqual(['x']);
      expect(Array.from(a.x.data as Float32Array).slice(0, 3)).toEqual([0, Math.fround(Math.sin(1)), Math.fround(Math.sin(2))]);
    });

    it('CRC mismatch', async () => {
      const path = writeTmp('d-crc.npz', deflated({ plain: payload, crc: 0x12345678 }));
      await inputError(readNpz(path), path, 'entry x.npy: CRC-32 mismatch (stored 12345678, computed');
    });

    it('zip bomb guard: more output than the entry declares', async () => {
      // The .npy header and the declared size say 10 floats; the stream inflates to a megabyte more.
      const header = npyOf(new Array(10).fill(0));
      const plain = Buffer.concat([header, new Uint8Array(1 << 20)]);
      const path = writeTmp('d-bomb.npz', deflated({ plain, uncompressedSize: header.length }));
      await inputError(readNpz(path), path, `entry x.npy: inflates to more than the ${header.length} bytes the archive declares`);
    });

    it('output that ends short of the declared size', async () => {
      const full = npyOf(new Array(1000).fill(1));
      const path = writeTmp('d-short.npz', deflated({ plain: full.subarray(0, 1000), uncompressedSize: full.length, crc: crc32(full) }));
      await inputError(readNpz(path), path, `entry x.npy: the compressed data ends after 1000 of ${full.length} bytes`);
    });

    it('corrupt deflate data', async () => {
      const rnd = prng(3);
      const garbage = Uint8Array.from({ length: 400 }, () => Math.floor(rnd() * 256));
      garbage[0] = 0xff; // BTYPE 11: invalid block type
      const path = writeTmp('d-garbage.npz', buildZip([{ name: 'x.npy', method: 8, stored: garbage, uncompressedSize: payload.length, crc: 0 }]));
      await inputError(readNpz(path), path, 'entry x.npy: corrupt deflate data (');
    });

    it('a flipped byte in the numpy-compressed fixture is an error, never a silent success', async () => {
      const path = patched('params_compressed.npz', (b) => {
        const r = parseZip(b).records[0];
        b[dataStart(b, r) + Math.floor(r.compressedSize / 2)] ^= 0x55;
      });
      await inputError(readNpz(path), path, /entry W_enc\.npy: (CRC-32 mismatch|corrupt deflate data|the compressed data ends|inflates to more)/);
    });
  });

  it('an aborted signal rejects with AbortError', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(readNpz(join(FIX, 'params.npz'), { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await expect(readNpz(join(FIX, 'params_compressed.npz'), { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('safetensors', () => {
  const DTYPES: SafetensorsDtype[] = ['F32', 'F16', 'BF16'];
  const fileOf = (d: SafetensorsDtype) => join(FIX, `saelens_${d.toLowerCase()}`, 'sae_weights.safetensors');

  for (const dtype of DTYPES) {
    it(`reads the ${dtype} fixture: float32 values equal numpy's conversion exactly`, async () => {
      const { tensors, metadata } = await readSafetensors(fileOf(dtype));
      expect(metadata).toEqual({ format: 'pt', source: 'make-sae-fixtures.py' });
      expect(Object.keys(tensors).sort()).toEqual([...NAMES].sort());
      for (const name of NAMES) {
        const want = await readNpy(join(FIX, 'expected', dtype.toLowerCase(), `${name}.npy`));
        expect(tensors[name].dtype).toBe(dtype);
        expect(tensors[name].shape).toEqual(want.shape);
        expect(tensors[name].data.byteOffset).toBe(0);
        expectSameFloats(tensors[name].data, want.data as Float32Array, `${dtype} ${name}`);
      }
    });

    it(`writes the ${dtype} fixture byte for byte from the float32 weights`, async () => {
      const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
      for (const name of NAMES) {
        const a = await readNpy(join(FIX, 'npy', `${name}.npy`));
        tensors[name] = { shape: a.shape, data: a.data as Float32Array };
      }
      const path = tmpPath(`w-${dtype}.safetensors`);
      await writeSafetensors(path, tensors, { dtype, metadata: { source: 'make-sae-fixtures.py', format: 'pt' } });
      expect(Buffer.compare(readFileSync(path), readFileSync(fileOf(dtype)))).toBe(0);
    });
  }

  for (const dtype of ['F16', 'BF16'] as const) {
    it(`${dtype} edge values (subnormals, ties, overflow, inf, nan): reader and writer agree with numpy`, async () => {
      const file = join(FIX, `special_${dtype.toLowerCase()}.safetensors`);
      const want = await npyFixture(`expected/${dtype.toLowerCase()}/special.npy`);
      const { tensors, metadata } = await readSafetensors(file);
      expect(metadata).toEqual({});
      expectSameFloats(tensors.special.data, want, `${dtype} special`);
      const src = await readNpy(join(FIX, 'expected', 'f32', 'special.npy'));
      const path = tmpPath(`special-${dtype}.safetensors`);
      await writeSafetensors(path, { special: { shape: src.shape, data: src.data as Float32Array } }, { dtype });
      expect(Buffer.compare(readFileSync(path), readFileSync(file))).toBe(0);
    });
  }

  it('F16/BF16 encoders: every 16-bit value survives decode -> encode; random floats round to the nearest, ties to even', async () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    for (const bf16 of [false, true]) {
      const f = new Float32Array(65536);
      await callNative((a, token) => a.halfToFloat({ src: all, bfloat16: bf16, out: f, threads: 0 }, token));
      const bits = new Uint32Array(f.buffer);
      const enc = bf16 ? f32BitsToBf16 : f32BitsToF16;
      for (let h = 0; h < 65536; h++) {
        const back = enc(bits[h]);
        if (Number.isNaN(f[h])) expect(Number.isNaN(f[new Uint16Array([back])[0]]), `nan ${h}`).toBe(true);
        else if (back !== h) expect([bf16, h.toString(16)]).toEqual([bf16, back.toString(16)]);
      }
      // Random finite float32 values: the encoded value is a nearest representable one, and on a tie the even one.
      const rnd = prng(bf16 ? 11 : 7);
      const x = new Float32Array(1);
      const xb = new Uint32Array(x.buffer);
      for (let i = 0; i < 20000; i++) {
        xb[0] = Math.floor(rnd() * 2 ** 32);
        if (!Number.isFinite(x[0])) continue;
        const h = enc(xb[0]);
        const v = f[h];
        if (!Number.isFinite(v)) {
          expect(Math.abs(x[0]), `overflow ${x[0]}`).toBeGreaterThanOrEqual(bf16 ? 3.3961775292304640e38 : 65520);
          continue;
        }
        // Neighbours by magnitude: h-1 and h+1 within the same sign (0 and -0 border the other sign).
        const lower = (h & 0x7fff) === 0 ? 0 : f[h - 1];
        const upper = f[h + 1];
        const d = Math.abs(x[0] - v);
        expect(d <= Math.abs(x[0] - lower) && (Number.isNaN(upper) || !Number.isFinite(upper) || d <= Math.abs(x[0] - upper)), `${x[0]} -> ${v}`).toBe(true);
        if (d === Math.abs(x[0] - lower) && lower !== v) expect(h & 1, `tie ${x[0]}`).toBe(0);
        if (Number.isFinite(upper) && d === Math.abs(x[0] - upper) && upper !== v) expect(h & 1, `tie ${x[0]}`).toBe(0);
      }
    }
  });

  it('round-trips through the writer and reader, names select tensors', async () => {
    const rnd = prng(5);
    const tensors = {
      b: { shape: [3, 4], data: Float32Array.from({ length: 12 }, () => rnd() * 10 - 5) },
      a: { shape: [0], data: new Float32Array(0) },
      '0': { shape: [], data: new Float32Array([42]) },
    };
    for (const dtype of DTYPES) {
      const path = tmpPath(`rt-${dtype}.safetensors`);
      await writeSafetensors(path, tensors, { dtype, metadata: { 'ünïcode': 'välue', n: '1' } });
      const bytes = readFileSync(path);
      const n = Number(bytes.readBigUInt64LE(0));
      expect(n % 8).toBe(0);
      const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
      expect(Object.keys(header)).toEqual(['0', '__metadata__', 'a', 'b']); // JSON.parse puts integer keys first
      const text = bytes.subarray(8, 8 + n).toString('utf8');
      expect(text.indexOf('"__metadata__"')).toBe(1);
      expect(text.indexOf('"0"')).toBeLessThan(text.indexOf('"a"'));
      const item = dtype === 'F32' ? 4 : 2;
      expect(header['0'].data_offsets).toEqual([0, item]);
      expect(header.a.data_offsets).toEqual([item, item]);
      expect(header.b.data_offsets).toEqual([item, 13 * item]);
      expect(bytes.length).toBe(8 + n + 13 * item);
      const { tensors: got, metadata } = await readSafetensors(path);
      expect(metadata).toEqual({ 'ünïcode': 'välue', n: '1' });
      expect(got['0'].data[0]).toBe(42);
      expect(got.a.shape).toEqual([0]);
      expect(got.b.shape).toEqual([3, 4]);
      const tol = { F32: 0, F16: 2 ** -11, BF16: 2 ** -8 }[dtype];
      for (let i = 0; i < 12; i++) {
        expect(Math.abs(got.b.data[i] - tensors.b.data[i])).toBeLessThanOrEqual(tol * Math.abs(tensors.b.data[i]));
      }
      const some = await readSafetensors(path, { names: ['b'] });
      expect(Object.keys(some.tensors)).toEqual(['b']);
    }
  });

  it('writer refuses bad input', async () => {
    const path = tmpPath('bad.safetensors');
    await inputError(writeSafetensors(path, { x: { shape: [2, 2], data: new Float32Array(3) } }, { dtype: 'F32' }), path, "tensor 'x'", '4 elements');
    await inputError(writeSafetensors(path, { x: { shape: [1], data: new Float64Array(1) as unknown as Float32Array } }, { dtype: 'F16' }), path, 'Float32Array');
    await inputError(writeSafetensors(path, { x: { shape: [1], data: new Float32Array(1) } }, { dtype: 'F64' as SafetensorsDtype }), path, 'cannot write dtype F64');
    expect(() => statSync(path)).toThrow();
  });

  // Files for the error paths, built by hand.
  function stFile(header: unknown, dataBytes: number, opts: { rawHeader?: string; length?: bigint } = {}): string {
    const text = Buffer.from(opts.rawHeader ?? JSON.stringify(header), 'utf8');
    const out = Buffer.alloc(8 + text.length + dataBytes);
    out.writeBigUInt64LE(opts.length ?? BigInt(text.length), 0);
    text.copy(out, 8);
    return writeTmp('err.safetensors', out);
  }
  const W = (over: Record<string, unknown> = {}) => ({ W_enc: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24], ...over } });

  it('errors: header length too large, longer than the file, file too short', async () => {
    let p = stFile(W(), 24, { length: 200_000_000n });
    await inputError(readSafetensors(p), p, 'header length 200000000 bytes exceeds the limit of 100000000 bytes');
    p = stFile(W(), 24, { length: 2n ** 63n });
    await inputError(readSafetensors(p), p, 'exceeds the limit');
    p = stFile(W(), 0, { length: 5000n });
    await inputError(readSafetensors(p), p, 'header length 5000 bytes but only');
    p = writeTmp('short.safetensors', new Uint8Array(5));
    await inputError(readSafetensors(p), p, 'not a safetensors file: only 5 bytes');
  });

  it('errors: invalid JSON, not an object, bad metadata, bad fields', async () => {
    let p = stFile(null, 0, { rawHeader: '{"W_enc": {"dtype": "F32",' });
    await inputError(readSafetensors(p), p, 'the safetensors header is not valid JSON (');
    p = stFile([1, 2], 0);
    await inputError(readSafetensors(p), p, 'not a JSON object');
    p = stFile({ __metadata__: { a: 1 }, ...W() }, 24);
    await inputError(readSafetensors(p), p, '__metadata__ must map strings to strings');
    p = stFile(W({ shape: [2, -3] }), 24);
    await inputError(readSafetensors(p), p, "tensor 'W_enc': 'shape' must be an array of non-negative integers");
    p = stFile(W({ data_offsets: [24, 0] }), 24);
    await inputError(readSafetensors(p), p, "tensor 'W_enc': 'data_offsets' must be [begin, end]");
    p = stFile(W({ dtype: undefined }), 24);
    await inputError(readSafetensors(p), p, "'dtype' is missing");
  });

  it('errors: unsupported dtype (only for tensors actually read)', async () => {
    const p = stFile({ ...W(), step: { dtype: 'I64', shape: [1], data_offsets: [24, 32] } }, 32);
    await inputError(readSafetensors(p), p, "tensor 'step' has dtype I64; supported: F32, F16, BF16");
    expect(Object.keys((await readSafetensors(p, { names: ['W_enc'] })).tensors)).toEqual(['W_enc']);
    const i8 = stFile(W({ dtype: 'I8', data_offsets: [0, 6] }), 6);
    await inputError(readSafetensors(i8), i8, "tensor 'W_enc' has dtype I8; supported: F32, F16, BF16");
  });

  it('errors: offsets out of range, size mismatch, truncated data, missing tensor', async () => {
    let p = stFile(W({ data_offsets: [0, 24] }), 20);
    await inputError(readSafetensors(p), p, "tensor 'W_enc' needs bytes", 'but the file is only', '(truncated?)');
    p = stFile(W({ data_offsets: [1000, 1024] }), 24);
    await inputError(readSafetensors(p), p, '(truncated?)');
    p = stFile(W({ data_offsets: [0, 20] }), 24);
    await inputError(readSafetensors(p), p, "tensor 'W_enc': data_offsets [0, 20] span 20 bytes but shape [2, 3] of F32 needs 24 bytes");
    p = stFile(W({ dtype: 'BF16' }), 24);
    await inputError(readSafetensors(p), p, 'of BF16 needs 12 bytes');
    const cut = tmpPath('cut.safetensors');
    copyFileSync(fileOf('F16'), cut);
    truncateSync(cut, statSync(cut).size - 10);
    await inputError(readSafetensors(cut), cut, "tensor 'threshold' needs bytes", '(truncated?)');
    await inputError(readSafetensors(fileOf('F32'), { names: ['W_enc', 'W_gate'] }), fileOf('F32'), "no tensor 'W_gate' (the file has: W_dec, W_enc, b_dec, b_enc, threshold)");
    const missing = join(tmp, 'nope.safetensors');
    await inputError(readSafetensors(missing), missing, 'no such file');
  });

  it('an aborted signal rejects with AbortError', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(readSafetensors(fileOf('BF16'), { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

// ---------------------------------------------------------------------------------------------

describe('a stored float32 member over 2 GiB (sparse file)', () => {
  // 17 x 2^25 float32 = 2.125 GiB of data: past both the 2 GiB fs.read limit and the 2^31 - 1
  // ZIP64 threshold, so the sizes live in ZIP64 extra fields, as numpy writes them.
  const SHAPE = [17, 2 ** 25];
  const COUNT = SHAPE[0] * SHAPE[1];
  const NONZERO: [number, number][] = [
    [0, 1.5],
    [2 ** 29 + 7, -2.25], // beyond byte offset 2 GiB
    [COUNT - 1, 3.75],
  ];

  /** CRC of `length` zero bytes appended to a stream whose CRC so far is `crc`. */
  function crcZeros(crc: number, length: number, zeros: Uint8Array, zerosCrc: number): number {
    for (; length >= zeros.length; length -= zeros.length) crc = crc32Combine(crc, zerosCrc, zeros.length);
    return crc32(zeros.subarray(0, length), crc);
  }

  it('readNpz reads it with the right length, values and CRC', async () => {
    const path = tmpPath('big.npz');
    const name = Buffer.from('W_enc.npy');
    // The .npy header by hand: encodeNpy would want the 2.1 GiB of data in memory.
    const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${SHAPE.join(', ')}), }`;
    const headerLen = 64 * Math.ceil((10 + dict.length + 1) / 64);
    const header = Buffer.alloc(headerLen, 0x20);
    header.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    header.writeUInt16LE(headerLen - 10, 8);
    header.write(dict, 10, 'latin1');
    header[headerLen - 1] = 0x0a;
    const dataBytes = COUNT * 4;
    const size = headerLen + dataBytes;

    const zeros = new Uint8Array(16 << 20);
    const zerosCrc = crc32(zeros);
    let crc = crc32(header);
    let at = 0;
    for (const [index, value] of NONZERO) {
      crc = crcZeros(crc, index * 4 - at, zeros, zerosCrc);
      crc = crc32(bytesOf(new Float32Array([value])), crc);
      at = index * 4 + 4;
    }
    crc = crcZeros(crc, dataBytes - at, zeros, zerosCrc);

    const local = Buffer.alloc(30 + name.length + 20);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(0xffffffff, 18);
    local.writeUInt32LE(0xffffffff, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(20, 28);
    name.copy(local, 30);
    local.writeUInt16LE(1, 30 + name.length);
    local.writeUInt16LE(16, 32 + name.length);
    local.writeBigUInt64LE(BigInt(size), 34 + name.length);
    local.writeBigUInt64LE(BigInt(size), 42 + name.length);
    const dataAt = local.length + headerLen;
    const cdOffset = local.length + size;

    const cd = Buffer.alloc(46 + name.length + 20);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(0x032d, 4);
    cd.writeUInt16LE(45, 6);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(0xffffffff, 20);
    cd.writeUInt32LE(0xffffffff, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt16LE(20, 30);
    name.copy(cd, 46);
    cd.writeUInt16LE(1, 46 + name.length);
    cd.writeUInt16LE(16, 48 + name.length);
    cd.writeBigUInt64LE(BigInt(size), 50 + name.length); // uncompressed
    cd.writeBigUInt64LE(BigInt(size), 58 + name.length); // compressed
    // The central directory starts past 2^31 - 1: ZIP64 end records, as zipfile would write them.
    const z64 = Buffer.alloc(56 + 20 + 22);
    z64.writeUInt32LE(0x06064b50, 0);
    z64.writeBigUInt64LE(44n, 4);
    z64.writeUInt16LE(45, 12);
    z64.writeUInt16LE(45, 14);
    z64.writeBigUInt64LE(1n, 24);
    z64.writeBigUInt64LE(1n, 32);
    z64.writeBigUInt64LE(BigInt(cd.length), 40);
    z64.writeBigUInt64LE(BigInt(cdOffset), 48);
    z64.writeUInt32LE(0x07064b50, 56);
    z64.writeBigUInt64LE(BigInt(cdOffset + cd.length), 64);
    z64.writeUInt32LE(1, 72);
    z64.writeUInt32LE(0x06054b50, 76);
    z64.writeUInt16LE(1, 84);
    z64.writeUInt16LE(1, 86);
    z64.writeUInt32LE(cd.length, 88);
    z64.writeUInt32LE(cdOffset, 92);

    const fh = await open(path, 'w');
    try {
      await fh.write(local, 0, local.length, 0);
      await fh.write(header, 0, header.length, local.length);
      for (const [index, value] of NONZERO) await fh.write(bytesOf(new Float32Array([value])), 0, 4, dataAt + index * 4);
      await fh.write(Buffer.concat([cd, z64]), 0, cd.length + z64.length, cdOffset);
    } finally {
      await fh.close();
    }

    const t0 = performance.now();
    const arrays = await readNpz(path);
    const seconds = (performance.now() - t0) / 1000;
    const a = arrays.W_enc;
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual(SHAPE);
    expect(a.data.length).toBe(COUNT);
    expect(a.data.byteLength).toBeGreaterThan(2 ** 31);
    for (const [index, value] of NONZERO) expect(a.data[index]).toBe(value);
    for (const index of [1, 2 ** 29, 2 ** 29 + 8, COUNT - 2]) expect(a.data[index]).toBe(0);
    rmSync(path);
    console.log(`readNpz of a ${(dataBytes / 2 ** 30).toFixed(3)} GiB stored member: ${seconds.toFixed(2)} s`);
  });
});

describe('buffers past 4 GiB', () => {
  // Node 20 cannot hold more than 4 GiB of external memory in one ArrayBuffer, and used to crash
  // (a double free) when asked to: the native allocator refuses, allocBuffer takes V8's memory.
  // Nothing is touched, so the pages are never committed.
  it('allocBuffer returns a usable buffer of 4 GiB + 4 KiB; the native allocator refuses it cleanly', async () => {
    const bytes = 2 ** 32 + 4096;
    const b = allocBuffer(bytes);
    expect(b.byteLength).toBe(bytes);
    const f = new Float32Array(b);
    f[f.length - 1] = 3;
    expect(f[f.length - 1]).toBe(3);
    const { loadAddon } = await import('../src/binding/addon.js');
    expect(() => loadAddon().addon.allocLarge({ bytes })).toThrow(/over the 4 GiB/);
    // Exactly 4 GiB is still native (huge pages).
    expect(allocBuffer(2 ** 32).byteLength).toBe(2 ** 32);
  });
});

describe.skipIf(!process.env.SAE_MATCH_BIG_TESTS)('writeNpz past 4 GiB (SAE_MATCH_BIG_TESTS=1; ~4.5 GB of RAM, 4.3 GB of disk)', () => {
  it('two 2.125 GiB members: ZIP64 offsets and end records; readNpz and zipfile read it back', async () => {
    const count = 17 * 2 ** 25;
    const data = new Float32Array(allocBuffer(count * 4));
    data[0] = 1;
    data[count - 1] = -1;
    const arr: NpyArray = { dtype: 'float32', shape: [17, 2 ** 25], data };
    const path = tmpPath('huge.npz');
    let t0 = performance.now();
    await writeNpz(path, { a: arr, b: arr }); // the same array twice: 4.25 GiB on disk from 2.1 GiB in memory
    const writeSeconds = (performance.now() - t0) / 1000;
    const size = statSync(path).size;
    expect(size).toBeGreaterThan(2 ** 32);

    const fh = await open(path, 'r');
    const tail = Buffer.alloc(98);
    await fh.read(tail, 0, 98, size - 98);
    expect(tail.readUInt32LE(76)).toBe(0x06054b50);
    expect(tail.readUInt32LE(76 + 16)).toBe(0xffffffff); // classic directory offset: see ZIP64
    expect(tail.readUInt32LE(56)).toBe(0x07064b50);
    expect(Number(tail.readBigUInt64LE(64))).toBe(size - 98);
    const cdOffset = Number(tail.readBigUInt64LE(48));
    const cdSize = Number(tail.readBigUInt64LE(40));
    expect(cdOffset).toBeGreaterThan(2 ** 32);
    const cd = Buffer.alloc(cdSize);
    await fh.read(cd, 0, cdSize, cdOffset);
    await fh.close();
    const second = 46 + 5 + cd.readUInt16LE(30); // past the first record ('a.npy' + its extra)
    expect(cd.readUInt32LE(second)).toBe(0x02014b50);
    expect([cd.readUInt32LE(second + 20), cd.readUInt32LE(second + 24), cd.readUInt32LE(second + 42)]).toEqual([0xffffffff, 0xffffffff, 0xffffffff]);
    expect(cd.readUInt16LE(second + 30)).toBe(4 + 24); // uncompressed, compressed, offset

    t0 = performance.now();
    const back = await readNpz(path, { names: ['b'] });
    const readSeconds = (performance.now() - t0) / 1000;
    expect(back.b.shape).toEqual(arr.shape);
    expect([back.b.data[0], back.b.data[1], back.b.data[count - 1]]).toEqual([1, 0, -1]);
    console.log(`writeNpz 4.25 GiB: ${writeSeconds.toFixed(1)} s, readNpz of the member at 2.1 GiB: ${readSeconds.toFixed(1)} s`);
    if (hasNumpy) {
      const script = 'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as zf:\n    assert zf.testzip() is None\n    print([(i.filename, i.file_size, i.header_offset) for i in zf.infolist()])';
      const res = spawnSync('python3', ['-c', script, path], { encoding: 'utf8' });
      expect(res.stderr).toBe('');
      expect(res.stdout).toContain("('b.npy', ");
    }
    rmSync(path);
  }, 600_000);
});
