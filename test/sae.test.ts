// loadSae on every layout against values numpy wrote (test/fixtures/sae, scripts/fixtures/make-sae-fixtures.py),
// and every validation error: missing tensor, wrong rank or shape, non-finite values, unsupported
// dtype, cfg.json disagreeing with the weights, a non-JumpReLU SAE, not an SAE at all.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SaeMatchInputError } from '../src/errors.js';
import { readNpy, writeNpy, type NpyArray } from '../src/io/npy.js';
import { loadSae, SAE_TENSORS } from '../src/sae/load.js';

const fx = resolve(import.meta.dirname, 'fixtures', 'sae');
const tmp = mkdtempSync(join(tmpdir(), 'sae-match-sae-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function expectedTensors(kind: 'f32' | 'f16' | 'bf16') {
  const out: Record<string, NpyArray> = {};
  for (const n of SAE_TENSORS) out[n] = await readNpy(join(fx, 'expected', kind, `${n}.npy`));
  return out;
}

describe('loadSae reads every layout to the values numpy wrote', () => {
  const cases: Array<[string, string, 'f32' | 'f16' | 'bf16', string]> = [
    ['Gemma Scope np.savez', 'params.npz', 'f32', 'gemmascope'],
    ['Gemma Scope folder', '.', 'f32', 'gemmascope'],
    ['np.savez_compressed', 'params_compressed.npz', 'f32', 'gemmascope'],
    ['ZIP64 records', 'params_zip64.npz', 'f32', 'gemmascope'],
    ['npy folder', 'npy', 'f32', 'npy'],
    ['SAELens F32', 'saelens_f32', 'f32', 'saelens'],
    ['SAELens F16', 'saelens_f16', 'f16', 'saelens'],
    ['SAELens BF16', 'saelens_bf16', 'bf16', 'saelens'],
  ];
  for (const [name, path, kind, format] of cases)
    it(name, async () => {
      const sae = await loadSae(join(fx, path));
      const want = await expectedTensors(kind);
      expect(sae.format).toBe(format);
      expect([sae.dModel, sae.dSae]).toEqual(want.W_enc!.shape);
      for (const n of SAE_TENSORS) expect(Array.from(sae[n])).toEqual(Array.from(want[n]!.data as Float32Array));
    });
});

/** A writable copy of the npy-folder SAE with one tensor replaced. */
async function variant(name: string, tensor: string, arr: NpyArray | null): Promise<string> {
  const dir = join(tmp, name);
  cpSync(join(fx, 'npy'), dir, { recursive: true });
  if (arr) await writeNpy(join(dir, `${tensor}.npy`), arr);
  else rmSync(join(dir, `${tensor}.npy`));
  return dir;
}

describe('validation names the file, the tensor and the problem', () => {
  it('missing tensor', async () => {
    const dir = await variant('missing', 'b_enc', null);
    await expect(loadSae(dir)).rejects.toThrow(new RegExp(`${dir}: missing tensor b_enc for a jumprelu sae \\(found: W_enc, W_dec, b_dec, threshold\\)`));
  });

  it('wrong rank and wrong shape', async () => {
    const w = await readNpy(join(fx, 'npy', 'W_enc.npy'));
    const [D, S] = w.shape as [number, number];
    const flat = await variant('rank', 'W_enc', { ...w, shape: [D * S] });
    await expect(loadSae(flat)).rejects.toThrow(/tensor 'W_enc' must have rank 2 \[d_in, d_sae\], got shape \[\d+\]/);
    const dec = await readNpy(join(fx, 'npy', 'W_dec.npy'));
    const transposed = await variant('shape', 'W_dec', { ...dec, shape: [D, S] });
    await expect(loadSae(transposed)).rejects.toThrow(new RegExp(`tensor 'W_dec' has shape \\[${D}, ${S}\\], expected \\[${S}, ${D}\\]`));
    const th = await variant('threshold-shape', 'threshold', { dtype: 'float32', shape: [S - 1], data: new Float32Array(S - 1).fill(1) });
    await expect(loadSae(th)).rejects.toThrow(new RegExp(`tensor 'threshold' has shape \\[${S - 1}\\], expected \\[${S}\\]`));
  });

  it('non-finite values, with the position of the first', async () => {
    const dec = await readNpy(join(fx, 'npy', 'W_dec.npy'));
    const D = dec.shape[1]!;
    const data = Float32Array.from(dec.data as Float32Array);
    data[3 * D + 5] = NaN;
    data[7 * D + 1] = Infinity;
    const dir = await variant('nan', 'W_dec', { ...dec, data });
    await expect(loadSae(dir)).rejects.toThrow(/tensor 'W_dec' has 2 non-finite values \(first: W_dec\[3, 5\] = NaN\)/);
  });

  it('unsupported dtype', async () => {
    const b = await readNpy(join(fx, 'npy', 'b_dec.npy'));
    const dir = await variant('int', 'b_dec', { dtype: 'int32', shape: b.shape, data: new Int32Array(b.data.length) });
    await expect(loadSae(dir)).rejects.toThrow(/tensor 'b_dec' has dtype int32; supported/);
  });

  it('float64 and float16 .npy tensors are converted, not refused', async () => {
    const b = await readNpy(join(fx, 'npy', 'b_enc.npy'));
    const dir = await variant('f64', 'b_enc', { dtype: 'float64', shape: b.shape, data: Float64Array.from(b.data as Float32Array) });
    expect(Array.from((await loadSae(dir)).b_enc)).toEqual(Array.from(b.data as Float32Array));
  });

  it('cfg.json that disagrees with the weights, and one that is not JSON', async () => {
    const dir = join(tmp, 'cfg');
    cpSync(join(fx, 'saelens_f32'), dir, { recursive: true });
    const w = (await readNpy(join(fx, 'expected', 'f32', 'W_enc.npy'))).shape;
    writeFileSync(join(dir, 'cfg.json'), JSON.stringify({ architecture: 'jumprelu', d_in: w[0]! + 1, d_sae: w[1] }));
    await expect(loadSae(dir)).rejects.toThrow(new RegExp(`cfg.json: declares d_in = ${w[0]! + 1} but tensor 'W_enc' in ${dir}/sae_weights.safetensors has shape \\[${w[0]}, ${w[1]}\\] \\(d_in = ${w[0]}\\)`));
    writeFileSync(join(dir, 'cfg.json'), '{ not json');
    await expect(loadSae(dir)).rejects.toThrow(/cfg.json: not valid JSON/);
  });

  it('a path that holds no SAE', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    await expect(loadSae(empty)).rejects.toThrow(/no SAE found in this folder/);
    await expect(loadSae(join(tmp, 'missing.npz'))).rejects.toThrow(/no such file or folder/);
    writeFileSync(join(tmp, 'x.txt'), 'hello');
    await expect(loadSae(join(tmp, 'x.txt'))).rejects.toBeInstanceOf(SaeMatchInputError);
  });

  it('a corrupt params.npz is an input error naming the file', async () => {
    const bad = join(tmp, 'corrupt.npz');
    writeFileSync(bad, 'PK\u0003\u0004 definitely not a complete zip archive');
    const e = await loadSae(bad).catch((x) => x);
    expect(e).toBeInstanceOf(SaeMatchInputError);
    expect(e.message).toContain(bad);
  });
});
