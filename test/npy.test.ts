import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeNpy,
  dtypeOf,
  encodeNpy,
  parseNpyHeader,
  readNpy,
  writeNpy,
  type NpyArray,
  type NpyData,
  type NpyDtype,
} from '../src/io/npy.js';
import { SaeMatchInputError } from '../src/errors.js';
import { numpyTestsRun } from './helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'npy');

interface Expected {
  valid: Record<string, { dtype: NpyDtype; shape: number[]; values: (number | string)[] }>;
  errors: Record<string, string>;
}
const expected: Expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8'));

/** Flat values of an array in the representation expected.json uses. */
function normalize(dtype: NpyDtype, data: NpyData): (number | string)[] {
  const out: (number | string)[] = [];
  for (const x of Array.from(data as ArrayLike<number | bigint>)) {
    if (typeof x === 'bigint') out.push(x.toString());
    else if ((dtype === 'float32' || dtype === 'float64') && !Number.isFinite(x)) {
      out.push(Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf');
    } else out.push(x);
  }
  return out;
}

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, name)));
}

/** The .npy bytes of a hand-written header (version 1.0 unless given) followed by `dataBytes` zero bytes. */
function handMade(header: string, dataBytes: number, version: [number, number] = [1, 0]): Uint8Array {
  const text = Buffer.from(header + '\n', 'latin1');
  const prefix = version[0] === 1 ? 10 : 12;
  const out = new Uint8Array(prefix + text.length + dataBytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version[0], version[1]]);
  const dv = new DataView(out.buffer);
  if (prefix === 10) dv.setUint16(8, text.length, true);
  else dv.setUint32(8, text.length, true);
  out.set(text, prefix);
  return out;
}

function expectInputError(fn: () => unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SaeMatchInputError);
  for (const f of fragments) expect((caught as Error).message).toContain(f);
}

async function expectInputErrorAsync(p: Promise<unknown>, ...fragments: string[]): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SaeMatchInputError);
  for (const f of fragments) expect((caught as Error).message).toContain(f);
}

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'npy-test-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** One sample array per dtype, with edge values. */
function samples(): NpyArray[] {
  return [
    { dtype: 'float16', shape: [2, 3], data: new Uint16Array([0x0000, 0x8000, 0x3c00, 0x7c00, 0xfc00, 0x7bff]) },
    { dtype: 'float32', shape: [2, 2], data: new Float32Array([1.5, -0, Math.fround(0.1), Infinity]) },
    { dtype: 'float64', shape: [3], data: new Float64Array([Math.PI, -1e300, 5e-324]) },
    { dtype: 'int8', shape: [4], data: new Int8Array([-128, -1, 0, 127]) },
    { dtype: 'uint8', shape: [2, 2], data: new Uint8Array([0, 1, 128, 255]) },
    { dtype: 'int16', shape: [3], data: new Int16Array([-32768, 7, 32767]) },
    { dtype: 'uint16', shape: [3], data: new Uint16Array([0, 12345, 65535]) },
    { dtype: 'int32', shape: [1, 3], data: new Int32Array([-2147483648, 0, 2147483647]) },
    { dtype: 'uint32', shape: [2], data: new Uint32Array([0, 4294967295]) },
    { dtype: 'int64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n]) },
    { dtype: 'uint64', shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
    { dtype: 'bool', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
    { dtype: 'float64', shape: [], data: new Float64Array([2.25]) },
    { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) },
    { dtype: 'int32', shape: [2, 0, 4], data: new Int32Array(0) },
  ];
}

describe('numpy fixtures', () => {
  it('has all the fixtures the script is meant to write', () => {
    const names = readdirSync(FIXTURES).filter((n) => n.endsWith('.npy'));
    expect(names.sort()).toEqual([...Object.keys(expected.valid), ...Object.keys(expected.errors)].sort());
    expect(Object.keys(expected.valid).length).toBeGreaterThanOrEqual(16);
  });

  for (const [name, exp] of Object.entries(expected.valid)) {
    it(`decodeNpy(${name}) matches numpy`, () => {
      const arr = decodeNpy(fixture(name), name);
      expect(arr.dtype).toBe(exp.dtype);
      expect(arr.shape).toEqual(exp.shape);
      expect(normalize(arr.dtype, arr.data)).toEqual(exp.values);
      expect(arr.data.byteOffset).toBe(0);
    });

    it(`readNpy(${name}) matches numpy`, async () => {
      const arr = await readNpy(join(FIXTURES, name));
      expect(arr.dtype).toBe(exp.dtype);
      expect(arr.shape).toEqual(exp.shape);
      expect(normalize(arr.dtype, arr.data)).toEqual(exp.values);
    });
  }

  it('returns the right typed array classes', () => {
    expect(decodeNpy(fixture('float16_1d.npy')).data).toBeInstanceOf(Uint16Array);
    expect(decodeNpy(fixture('bool_2d.npy')).data).toBeInstanceOf(Uint8Array);
    expect(decodeNpy(fixture('int64_2d.npy')).data).toBeInstanceOf(BigInt64Array);
    expect(decodeNpy(fixture('uint64_1d.npy')).data).toBeInstanceOf(BigUint64Array);
    expect(decodeNpy(fixture('float32_2d.npy')).data).toBeInstanceOf(Float32Array);
    expect(Object.is((decodeNpy(fixture('float32_2d.npy')).data as Float32Array)[0], -0)).toBe(true);
  });

  it('parses the header of each version', () => {
    const v1 = parseNpyHeader(fixture('float32_2d.npy'), 'a.npy');
    expect(v1).toEqual({ dtype: 'float32', shape: [3, 4], fortranOrder: false, bigEndian: false, headerLength: 128, dataBytes: 48, version: '1.0' });
    expect(parseNpyHeader(fixture('fortran_big_endian_f8.npy'), 'f.npy')).toMatchObject({ dtype: 'float64', shape: [5, 3], fortranOrder: true, bigEndian: true });
    expect(parseNpyHeader(fixture('v2_float32.npy'), 'b.npy')).toMatchObject({ version: '2.0', shape: [2, 3], dataBytes: 24 });
    expect(parseNpyHeader(fixture('v3_int32.npy'), 'c.npy')).toMatchObject({ version: '3.0', dtype: 'int32', dataBytes: 24 });
    expect(parseNpyHeader(fixture('scalar_0d.npy'), 'd.npy')).toMatchObject({ shape: [], dataBytes: 8 });
    // Only the header bytes are needed.
    const bytes = fixture('float64_2d.npy');
    const h = parseNpyHeader(bytes, 'e.npy');
    expect(parseNpyHeader(bytes.subarray(0, h.headerLength), 'e.npy')).toEqual(h);
  });

  for (const [name, fragment] of Object.entries(expected.errors)) {
    it(`rejects ${name} with a clear error`, async () => {
      expectInputError(() => decodeNpy(fixture(name), name), `${name}: `, fragment);
      const path = join(FIXTURES, name);
      await expectInputErrorAsync(readNpy(path), `${path}: `, fragment);
    });
  }

  it('reads column-major and big-endian files as numpy does (the values above), as little-endian C order', () => {
    for (const name of ['fortran_order.npy', 'fortran_3d_int16.npy', 'fortran_big_endian_f8.npy', 'fortran_transposed_f4.npy', 'big_endian.npy', 'big_endian_i8.npy', 'big_endian_f2.npy'])
      expect(Object.keys(expected.valid), name).toContain(name);
    expect(parseNpyHeader(fixture('fortran_transposed_f4.npy'), 't.npy')).toMatchObject({ shape: [4, 7], fortranOrder: true });
  });
});

describe('header parsing', () => {
  it('accepts loosely formatted headers', () => {
    const cases: [string, number[]][] = [
      ['{"descr":"<f4","fortran_order":False,"shape":(2,2)}', [2, 2]],
      ["{'shape': (4,), 'fortran_order': False, 'descr': '<f4'}", [4]],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 2L), }   ", [2, 2]],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': [4], }", [4]],
      ["  {'descr': '<f4',\n 'fortran_order': False, 'shape': (1, 1, 4,), }", [1, 1, 4]],
    ];
    for (const [header, shape] of cases) {
      const arr = decodeNpy(handMade(header, 16), 'x.npy');
      expect(arr.shape).toEqual(shape);
      expect(arr.dtype).toBe('float32');
    }
  });

  it('accepts 1-byte dtypes with any byte-order mark and Fortran order when the layout is the same as C', () => {
    expect(decodeNpy(handMade("{'descr': '<u1', 'fortran_order': False, 'shape': (3,), }", 3)).dtype).toBe('uint8');
    expect(decodeNpy(handMade("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", 3)).dtype).toBe('bool');
    expect(decodeNpy(handMade("{'descr': '<f8', 'fortran_order': True, 'shape': (3,), }", 24)).shape).toEqual([3]);
    expect(decodeNpy(handMade("{'descr': '<f8', 'fortran_order': True, 'shape': (1, 3), }", 24)).shape).toEqual([1, 3]);
  });

  it('reads a version 2.0 header written by hand', () => {
    const arr = decodeNpy(handMade("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", 4, [2, 0]), 'v2.npy');
    expect(arr).toEqual({ dtype: 'int16', shape: [2], data: new Int16Array(2) });
  });

  it('rejects bad magic', () => {
    const bytes = fixture('float32_2d.npy').slice();
    bytes[1] = 0x58;
    expectInputError(() => decodeNpy(bytes, 'cost.npy'), 'cost.npy: ', 'not a .npy file', 'magic');
    expectInputError(() => decodeNpy(new Uint8Array(0), 'empty.npy'), 'empty.npy: ', 'empty');
    expectInputError(() => decodeNpy(new TextEncoder().encode('hello world, not numpy'), 'txt.npy'), 'txt.npy: ', 'magic');
  });

  it('rejects unknown versions', () => {
    for (const [maj, min] of [[4, 0], [1, 1], [0, 0]]) {
      const bytes = fixture('float32_2d.npy').slice();
      bytes[6] = maj;
      bytes[7] = min;
      expectInputError(() => decodeNpy(bytes, 'cost.npy'), 'cost.npy: ', `unsupported .npy format version ${maj}.${min}`);
    }
  });

  it('rejects files that end inside the preamble', () => {
    const bytes = fixture('float32_2d.npy');
    expectInputError(() => decodeNpy(bytes.subarray(0, 7), 'p.npy'), 'p.npy: ', 'truncated .npy');
    expectInputError(() => decodeNpy(bytes.subarray(0, 9), 'p.npy'), 'p.npy: ', 'truncated .npy', 'header length');
  });

  it('rejects a header that runs past the end of the file', () => {
    const bytes = fixture('float32_2d.npy');
    expectInputError(() => decodeNpy(bytes.subarray(0, 60), 'cost.npy'), 'cost.npy: ', 'truncated .npy', 'header claims 118 bytes');
  });

  it('rejects a header length over 1 MiB', () => {
    const bytes = handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, [2, 0]);
    new DataView(bytes.buffer).setUint32(8, (1 << 20) + 1, true);
    expectInputError(() => decodeNpy(bytes, 'big.npy'), 'big.npy: ', 'header length 1048577 bytes exceeds', '1 MiB');
  });

  it('rejects malformed header dicts', () => {
    const bad: [string, string][] = [
      ["{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "unexpected key 'extra'"],
      ["{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "'fortran_order' must be True or False"],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': 2}", "'shape' must be a tuple"],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1)}", 'shape entries must be non-negative integers, got (2, -1)'],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}", 'got a float'],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': ('a',)}", "shape entries must be non-negative integers, got ('a',)"],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 'malformed .npy header'],
      ["['descr', '<f4']", 'expected a dict'],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk", 'unexpected text after the header dict'],
      ["{'descr': <f4}", 'malformed .npy header'],
      [`{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(5000)}2${')'.repeat(5000)}}`, 'nesting too deep'],
    ];
    for (const [header, fragment] of bad) {
      expectInputError(() => decodeNpy(handMade(header, 8), 'h.npy'), 'h.npy: ', fragment);
    }
  });

  it('rejects unsupported dtypes, naming them', () => {
    const bad: [string, string][] = [
      ["'<c8'", "unsupported dtype '<c8' (complex"],
      ["'|O'", "unsupported dtype '|O' (object"],
      ["'<U10'", "unsupported dtype '<U10' (unicode"],
      ["'<f16'", "unsupported dtype '<f16'"],
      ["'<M8[ns]'", "unsupported dtype '<M8[ns]' (datetime"],
      ["[('a', '<i4'), ('b', '<f4')]", "unsupported dtype [('a', '<i4'), ('b', '<f4')]: structured"],
      ["'|f4'", "invalid dtype '|f4'"],
    ];
    for (const [descr, fragment] of bad) {
      const header = `{'descr': ${descr}, 'fortran_order': False, 'shape': (2,), }`;
      expectInputError(() => decodeNpy(handMade(header, 16), 'd.npy'), 'd.npy: ', fragment);
    }
  });

  it('transposes Fortran order and swaps big-endian bytes (hand-written: column-major 2 x 3 of 0..5)', () => {
    const f = handMade("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24);
    const view = new DataView(f.buffer, f.length - 24);
    // Column-major storage of [[0, 1, 2], [3, 4, 5]] is 0, 3, 1, 4, 2, 5.
    [0, 3, 1, 4, 2, 5].forEach((x, k) => view.setFloat32(4 * k, x, true));
    expect(Array.from(decodeNpy(f, 'cost.npy').data as Float32Array)).toEqual([0, 1, 2, 3, 4, 5]);
    const b = handMade("{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }", 24);
    const bv = new DataView(b.buffer, b.length - 24);
    [0, 3, 1, 4, 2, 5].forEach((x, k) => bv.setInt32(4 * k, x - 2, false));
    expect(Array.from(decodeNpy(b, 'cost.npy').data as Int32Array)).toEqual([-2, -1, 0, 1, 2, 3]);
  });

  it('rejects truncated data and extra trailing bytes, with the sizes', () => {
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), }";
    expectInputError(
      () => decodeNpy(handMade(header, 40), 'cost.npy'),
      'cost.npy: truncated .npy: header says 4x4 float32 (64 bytes of data) but only 40 bytes follow the header',
    );
    expectInputError(
      () => decodeNpy(handMade(header, 72), 'cost.npy'),
      'cost.npy: ',
      'header says 4x4 float32 (64 bytes of data) but 72 bytes follow the header (8 extra trailing bytes)',
    );
    const scalar = "{'descr': '<f8', 'fortran_order': False, 'shape': (), }";
    expectInputError(() => decodeNpy(handMade(scalar, 4), 's.npy'), 's.npy: ', 'header says 0-d float64 (8 bytes of data)');
  });

  it('rejects a shape whose byte size cannot be represented', () => {
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }";
    expectInputError(() => decodeNpy(handMade(header, 0), 'huge.npy'), 'huge.npy: ', 'array too large');
  });
});

describe('encode / decode round trip', () => {
  for (const arr of samples()) {
    it(`${arr.dtype} shape (${arr.shape.join(', ')})`, () => {
      const bytes = encodeNpy(arr);
      const h = parseNpyHeader(bytes, 'rt.npy');
      expect(h.version).toBe('1.0');
      expect(h.headerLength % 64).toBe(0);
      expect(bytes[h.headerLength - 1]).toBe(0x0a);
      const back = decodeNpy(bytes, 'rt.npy');
      expect(back.dtype).toBe(arr.dtype);
      expect(back.shape).toEqual(arr.shape);
      expect(back.data.constructor).toBe(arr.data.constructor);
      expect(Array.from(back.data as ArrayLike<number | bigint>)).toEqual(Array.from(arr.data as ArrayLike<number | bigint>));
    });
  }

  it('writes the header exactly like numpy (modulo padding)', () => {
    const bytes = encodeNpy({ dtype: 'float32', shape: [3, 4], data: new Float32Array(12) });
    const text = Buffer.from(bytes.subarray(10, 128)).toString('latin1');
    expect(text.trimEnd()).toBe("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }");
    const one = encodeNpy({ dtype: 'int64', shape: [5], data: new BigInt64Array(5) });
    expect(Buffer.from(one).toString('latin1')).toContain("'shape': (5,), }");
  });

  it('encodes a subarray view using only its own bytes', () => {
    const big = new Float64Array([1, 2, 3, 4, 5]);
    const back = decodeNpy(encodeNpy({ dtype: 'float64', shape: [2], data: big.subarray(2, 4) }));
    expect(Array.from(back.data as Float64Array)).toEqual([3, 4]);
  });

  it('switches to version 2.0 when the header does not fit in 65535 bytes', () => {
    const shape = new Array<number>(25000).fill(1);
    const bytes = encodeNpy({ dtype: 'uint8', shape, data: new Uint8Array([7]) });
    const h = parseNpyHeader(bytes, 'v2.npy');
    expect(h.version).toBe('2.0');
    expect(h.headerLength % 64).toBe(0);
    expect(h.headerLength).toBeGreaterThan(65535);
    const back = decodeNpy(bytes);
    expect(back.shape.length).toBe(25000);
    expect(Array.from(back.data as Uint8Array)).toEqual([7]);
  });

  it('rejects inconsistent arrays', () => {
    expectInputError(() => encodeNpy({ dtype: 'float32', shape: [3], data: new Float32Array(4) }), 'shape (3,) has 3 elements but the data has 4');
    expectInputError(() => encodeNpy({ dtype: 'float32', shape: [2], data: new Float64Array(2) }), 'needs its data in a Float32Array, got Float64Array');
    expectInputError(() => encodeNpy({ dtype: 'float16', shape: [2], data: new Int16Array(2) }), 'needs its data in a Uint16Array');
    expectInputError(() => encodeNpy({ dtype: 'int32', shape: [-1], data: new Int32Array(0) }), 'non-negative integers');
    expectInputError(() => encodeNpy({ dtype: 'int32', shape: [1.5], data: new Int32Array(1) }), 'non-negative integers');
    expectInputError(() => encodeNpy({ dtype: 'bool', shape: [2], data: new Uint8Array([1, 2]) }), 'bool data must be 0 or 1');
    expectInputError(() => encodeNpy({ dtype: 'complex64' as NpyDtype, shape: [1], data: new Float32Array(2) }), 'cannot write dtype complex64');
  });

  it('dtypeOf maps typed arrays to dtypes', () => {
    expect(dtypeOf(new Float32Array(1))).toBe('float32');
    expect(dtypeOf(new Float64Array(1))).toBe('float64');
    expect(dtypeOf(new Int8Array(1))).toBe('int8');
    expect(dtypeOf(new Uint8Array(1))).toBe('uint8');
    expect(dtypeOf(Buffer.alloc(1))).toBe('uint8');
    expect(dtypeOf(new Int16Array(1))).toBe('int16');
    expect(dtypeOf(new Uint16Array(1))).toBe('uint16');
    expect(dtypeOf(new Int32Array(1))).toBe('int32');
    expect(dtypeOf(new Uint32Array(1))).toBe('uint32');
    expect(dtypeOf(new BigInt64Array(1))).toBe('int64');
    expect(dtypeOf(new BigUint64Array(1))).toBe('uint64');
    expect(() => dtypeOf([1, 2] as unknown as NpyData)).toThrow(SaeMatchInputError);
  });
});

describe('readNpy / writeNpy on disk', () => {
  it('round-trips every dtype through a file and leaves no temp file', async () => {
    const dir = join(tmp, 'rt');
    mkdirSync(dir);
    for (const [i, arr] of samples().entries()) {
      const path = join(dir, `a${i}.npy`);
      await writeNpy(path, arr);
      const back = await readNpy(path);
      expect(back.dtype).toBe(arr.dtype);
      expect(back.shape).toEqual(arr.shape);
      expect(Array.from(back.data as ArrayLike<number | bigint>)).toEqual(Array.from(arr.data as ArrayLike<number | bigint>));
      expect(new Uint8Array(readFileSync(path))).toEqual(encodeNpy(arr));
    }
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(readdirSync(dir).length).toBe(samples().length);
  });

  it('overwrites an existing file atomically', async () => {
    const path = join(tmp, 'over.npy');
    writeFileSync(path, 'old contents');
    await writeNpy(path, { dtype: 'int32', shape: [2], data: new Int32Array([1, 2]) });
    expect(Array.from((await readNpy(path)).data as Int32Array)).toEqual([1, 2]);
    expect(readdirSync(tmp).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('fails cleanly (no temp file) when the target cannot be written', async () => {
    const dir = join(tmp, 'blocked');
    mkdirSync(join(dir, 'target.npy'), { recursive: true }); // a directory where the file should go
    const path = join(dir, 'target.npy');
    await expectInputErrorAsync(writeNpy(path, { dtype: 'uint8', shape: [1], data: new Uint8Array([1]) }), `${path}: `);
    expect(readdirSync(dir)).toEqual(['target.npy']);
    const missing = join(tmp, 'no-such-dir', 'x.npy');
    await expectInputErrorAsync(writeNpy(missing, { dtype: 'uint8', shape: [1], data: new Uint8Array([1]) }), `${missing}: `, 'no such file');
    // Invalid arrays fail before anything is created.
    const bad = join(tmp, 'bad.npy');
    await expectInputErrorAsync(writeNpy(bad, { dtype: 'uint8', shape: [2], data: new Uint8Array([1]) }), `${bad}: `, 'has 2 elements');
    expect(readdirSync(tmp).filter((n) => n.startsWith('bad.npy'))).toEqual([]);
  });

  it('checks expectRank and expectDtype', async () => {
    const path = join(tmp, 'cost.npy');
    await writeNpy(path, { dtype: 'int32', shape: [3], data: new Int32Array(3) });
    await expectInputErrorAsync(readNpy(path, { expectRank: 2 }), `${path}: expected a 2-D array, got shape (3,)`);
    await expectInputErrorAsync(
      readNpy(path, { expectDtype: ['float32', 'float64'] }),
      `${path}: expected dtype float32 or float64, got int32`,
    );
    await expectInputErrorAsync(
      readNpy(path, { expectDtype: ['float16', 'float32', 'float64'] }),
      'expected dtype float16, float32 or float64, got int32',
    );
    const ok = await readNpy(path, { expectRank: 1, expectDtype: ['int32'] });
    expect(ok.shape).toEqual([3]);
    const scalar = join(tmp, 'scalar.npy');
    await writeNpy(scalar, { dtype: 'float32', shape: [], data: new Float32Array([1]) });
    await expectInputErrorAsync(readNpy(scalar, { expectRank: 2 }), 'expected a 2-D array, got shape ()');
  });

  it('fails before allocating when the header claims far more data than the file holds', async () => {
    const path = join(tmp, 'liar.npy');
    writeFileSync(path, handMade("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }", 16));
    await expectInputErrorAsync(
      readNpy(path),
      `${path}: truncated .npy: header says 100000000000 float64 (800000000000 bytes of data) but only 16 bytes follow the header`,
    );
  });

  it('reports trailing bytes, truncated headers and missing files', async () => {
    const extra = join(tmp, 'extra.npy');
    writeFileSync(extra, Buffer.concat([fixture('int32_1d.npy'), Buffer.from([1, 2, 3])]));
    await expectInputErrorAsync(readNpy(extra), `${extra}: `, '3 extra trailing bytes');

    const cut = join(tmp, 'cut-header.npy');
    writeFileSync(cut, fixture('int32_1d.npy').subarray(0, 50));
    await expectInputErrorAsync(readNpy(cut), `${cut}: `, 'truncated .npy', 'header claims');

    const empty = join(tmp, 'empty.npy');
    writeFileSync(empty, '');
    await expectInputErrorAsync(readNpy(empty), `${empty}: `, 'empty');

    const missing = join(tmp, 'missing.npy');
    await expectInputErrorAsync(readNpy(missing), `${missing}: `, 'no such file');
    await expectInputErrorAsync(readNpy(tmp), `${tmp}: `, 'not a regular file');
  });

  it('reads headers longer than the first 64 KiB read', async () => {
    const path = join(tmp, 'longheader.npy');
    const shape = new Array<number>(30000).fill(1);
    shape[0] = 3;
    await writeNpy(path, { dtype: 'int16', shape, data: new Int16Array([5, -6, 7]) });
    const back = await readNpy(path);
    expect(back.shape).toEqual(shape);
    expect(Array.from(back.data as Int16Array)).toEqual([5, -6, 7]);
    expect(parseNpyHeader(new Uint8Array(readFileSync(path)), path).headerLength).toBeGreaterThan(64 * 1024);
  });
});

const hasNumpy = numpyTestsRun();

describe('interop with numpy', () => {
  it.skipIf(!hasNumpy)('numpy loads what writeNpy writes', async () => {
    const dir = join(tmp, 'numpy');
    mkdirSync(dir);
    const arrays = samples();
    const paths: string[] = [];
    for (const [i, arr] of arrays.entries()) {
      const path = join(dir, `w${i}.npy`);
      await writeNpy(path, arr);
      paths.push(path);
    }
    const script = `
import json, sys
import numpy as np
out = []
for p in sys.argv[1:]:
    a = np.load(p, allow_pickle=False)
    if a.dtype == np.float16:
        vals = [int(x) for x in a.view(np.uint16).ravel()]
    elif a.dtype.kind == 'f':
        vals = [('nan' if np.isnan(x) else ('inf' if x > 0 else '-inf')) if not np.isfinite(x) else float(x) for x in a.ravel()]
    elif a.dtype.kind == 'b':
        vals = [int(x) for x in a.ravel()]
    elif a.dtype.itemsize == 8:
        vals = [str(int(x)) for x in a.ravel()]
    else:
        vals = [int(x) for x in a.ravel()]
    out.append({'dtype': a.dtype.name, 'shape': list(a.shape), 'c': bool(a.flags.c_contiguous), 'values': vals})
print(json.dumps(out))
`;
    const res = spawnSync('python3', ['-c', script, ...paths], { encoding: 'utf8' });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const loaded = JSON.parse(res.stdout) as { dtype: string; shape: number[]; c: boolean; values: (number | string)[] }[];
    expect(loaded.length).toBe(arrays.length);
    for (const [i, arr] of arrays.entries()) {
      expect(loaded[i].dtype).toBe(arr.dtype);
      expect(loaded[i].shape).toEqual(arr.shape);
      expect(loaded[i].c).toBe(true);
      expect(loaded[i].values).toEqual(normalize(arr.dtype, arr.data));
    }
  });
});
