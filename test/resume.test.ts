// Resume keys on the files an SAE is actually read from (match/resume.ts), for `pair` and `suite`
// alike: replacing a weight file in place (same folder, same size) must redo the pair. Oracle:
// planted truth — layer B is layer A with its features permuted by a known π, so the optimal
// SAE Match permutation is π; the replacement plants a different σ. The SAE files are written by the
// small writers below (the .npy and safetensors byte layouts by hand), not by the package.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy } from '../src/io/npy.js';
import { writeNpz } from '../src/io/npz-write.js';
import { matchSuite } from '../src/match/suite.js';
import { prng } from './helpers.js';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'sae-match-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const D = 12, N = 20;
type Tensors = { W_enc: Float32Array; W_dec: Float32Array; b_enc: Float32Array; b_dec: Float32Array; threshold: Float32Array };
const SHAPES = { W_enc: [D, N], W_dec: [N, D], b_enc: [N], b_dec: [D], threshold: [N] } as const;

function randomSae(seed: number): Tensors {
  const r = prng(seed);
  const g = (n: number) => Float32Array.from({ length: n }, () => r() * 2 - 1);
  return { W_enc: g(D * N), W_dec: g(N * D), b_enc: g(N), b_dec: g(D), threshold: Float32Array.from({ length: N }, () => 0.5 + r()) };
}

/** The SAE whose feature p[i] is feature i of `s`: SAE Match between s and it is p. */
function permuted(s: Tensors, p: number[]): Tensors {
  const t: Tensors = { W_enc: new Float32Array(D * N), W_dec: new Float32Array(N * D), b_enc: new Float32Array(N), b_dec: s.b_dec.slice(), threshold: new Float32Array(N) };
  for (let i = 0; i < N; i++) {
    for (let d = 0; d < D; d++) t.W_enc[d * N + p[i]!] = s.W_enc[d * N + i]!;
    t.W_dec.set(s.W_dec.subarray(i * D, (i + 1) * D), p[i]! * D);
    t.b_enc[p[i]!] = s.b_enc[i]!;
    t.threshold[p[i]!] = s.threshold[i]!;
  }
  return t;
}

function shuffled(seed: number): number[] {
  const r = prng(seed), p = Array.from({ length: N }, (_, i) => i);
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

/** A little-endian float32 .npy (format 1.0), written byte by byte. */
function npyBytes(shape: readonly number[], data: Float32Array): Buffer {
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + dict.length + 1) % 64) dict += ' ';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(dict.length + 1, 8);
  return Buffer.concat([head, Buffer.from(dict + '\n', 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** A float32 safetensors file: 8-byte header length, JSON header, the tensors back to back. */
function safetensorsBytes(t: Tensors): Buffer {
  const header: Record<string, unknown> = {};
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [k, shape] of Object.entries(SHAPES)) {
    const a = t[k as keyof Tensors];
    header[k] = { dtype: 'F32', shape, data_offsets: [offset, offset + a.byteLength] };
    parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    offset += a.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...parts]);
}

function writeNpyFolder(d: string, t: Tensors) {
  mkdirSync(d, { recursive: true });
  for (const [k, shape] of Object.entries(SHAPES)) writeFileSync(join(d, `${k}.npy`), npyBytes(shape, t[k as keyof Tensors]));
}

function writeSaeLens(d: string, t: Tensors) {
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'cfg.json'), JSON.stringify({ architecture: 'jumprelu', d_in: D, d_sae: N }));
  writeFileSync(join(d, 'sae_weights.safetensors'), safetensorsBytes(t));
}

function pair(a: string, b: string, out: string) {
  const r = spawnSync(process.execPath, [cli, 'pair', a, b, '--out', out, '--json'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { skipped: boolean; perm: string };
}

async function permOf(out: string, file = 'perm_0_1.npy') {
  return Array.from((await readNpy(join(out, file))).data as Int32Array);
}

describe('a pair is redone when a file it was read from changes in place', () => {
  const A = randomSae(11), pi = shuffled(12), sigma = shuffled(13);
  const layouts = [['npy folders', writeNpyFolder], ['SAELens folders', writeSaeLens]] as const;
  for (const [name, write] of layouts)
    it(`pair on ${name}: a replaced weight file is matched again, not reported as already done`, async () => {
      const base = join(dir, name.replace(/ /g, '-'));
      const a = join(base, 'A'), b = join(base, 'B'), out = join(base, 'out');
      write(a, A);
      write(b, permuted(A, pi));
      expect(pair(a, b, out).skipped).toBe(false);
      expect(await permOf(out)).toEqual(pi);
      expect(pair(a, b, out).skipped).toBe(true);
      // Same folder, same file names and sizes, new contents (as `cp new/W_enc.npy B/` does).
      write(join(base, 'B2'), permuted(A, sigma));
      for (const f of name === 'npy folders' ? Object.keys(SHAPES).map((k) => `${k}.npy`) : ['sae_weights.safetensors']) {
        const before = statSync(join(b, f)).size;
        writeFileSync(join(b, f), readFileSync(join(base, 'B2', f)));
        expect(statSync(join(b, f)).size).toBe(before);
      }
      expect(pair(a, b, out).skipped).toBe(false);
      expect(await permOf(out)).toEqual(sigma);
      const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
      expect(m.pairs.map((p: { from: number; to: number }) => [p.from, p.to])).toEqual([[0, 1]]);
    });

  it('suite on params.npz: an entry that changes with size and mtime kept is caught by its CRC-32', async () => {
    const suite = join(dir, 'npz-suite'), out = join(dir, 'npz-out');
    const file = (l: number) => join(suite, `layer_${l}`, 'width_1k', 'average_l0_50', 'params.npz');
    const npz = (t: Tensors) => Object.fromEntries(Object.entries(SHAPES).map(([k, shape]) => [k, { dtype: 'float32' as const, shape: [...shape], data: t[k as keyof Tensors] }]));
    for (const l of [0, 1]) mkdirSync(join(suite, `layer_${l}`, 'width_1k', 'average_l0_50'), { recursive: true });
    await writeNpz(file(0), npz(A));
    await writeNpz(file(1), npz(permuted(A, pi)));
    let r = await matchSuite(suite, { out, device: 'cpu' });
    expect([r.computed, r.skipped]).toEqual([1, 0]);
    expect(await permOf(out)).toEqual(pi);
    const { size, atime, mtime } = statSync(file(1));
    await writeNpz(file(1), npz(permuted(A, sigma)));
    utimesSync(file(1), atime, mtime);
    expect(statSync(file(1)).size).toBe(size);
    expect(Math.round(statSync(file(1)).mtimeMs)).toBe(Math.round(mtime.getTime()));
    r = await matchSuite(suite, { out, device: 'cpu' });
    expect([r.computed, r.skipped]).toEqual([1, 0]);
    expect(await permOf(out)).toEqual(sigma);
    r = await matchSuite(suite, { out, device: 'cpu' });
    expect([r.computed, r.skipped]).toEqual([0, 1]);
  });
});

describe('per-pair records', () => {
  it('the manifest is assembled from one record per pair; a folder of an older run gets its records', async () => {
    const A = randomSae(21), p1 = shuffled(22), p2 = shuffled(23);
    const suite = join(dir, 'rec-suite'), out = join(dir, 'rec-out');
    const layers = [A, permuted(A, p1), permuted(permuted(A, p1), p2)];
    layers.forEach((t, l) => writeNpyFolder(join(suite, `layer_${l}`), t));
    await matchSuite(suite, { out, device: 'cpu' });
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    for (const p of m.pairs) {
      const rec = JSON.parse(readFileSync(join(out, 'pairs', `${p.from}_${p.to}.json`), 'utf8'));
      expect(rec.pair).toEqual(p);
      expect(rec.source_root).toBe(m.source_root);
    }
    expect(await permOf(out, 'perm_0_1.npy')).toEqual(p1);
    expect(await permOf(out, 'perm_1_2.npy')).toEqual(p2);
    // An output folder from before records: only manifest.json. A rerun keeps its pairs as finished.
    rmSync(join(out, 'pairs'), { recursive: true });
    const r = await matchSuite(suite, { out, device: 'cpu' });
    expect([r.computed, r.skipped]).toEqual([0, 2]);
    expect(JSON.parse(readFileSync(join(out, 'pairs', '1_2.json'), 'utf8')).pair.settings).toBe(m.pairs[1].settings);
  });
});
