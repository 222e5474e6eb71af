// The synthetic suite generator: layouts and shapes in all three formats (read back by the format
// readers), the truth files' invariants, determinism, and the planted structure itself checked by
// brute force (not by the matcher): in folded coordinates a persisting feature's planted partner is
// its nearest neighbour, and without folding it often is not.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpz } from '../src/npz.js';
import { readNpy } from '../src/npy.js';
import { readSafetensors } from '../src/safetensors.js';
import { discoverSuite } from '../src/suite.js';
import { KIND, readSynthTruth, writeSynthSuite } from '../src/synth.js';

const tmp = mkdtempSync(join(tmpdir(), 'sae-match-synth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const W = 256, D = 48;

describe('layouts', () => {
  it('gemmascope: layer_{L}/width_{W}/average_l0_{K}/params.npz, canonical L0 closest to 100', async () => {
    const dir = join(tmp, 'gs');
    const s = await writeSynthSuite(dir, { layers: 3, width: W, dModel: D, seed: 1, l0Variants: 3 });
    const suite = await discoverSuite(dir);
    expect(suite.layers.map((l) => l.l0)).toEqual(s.canonicalL0);
    for (const l of suite.layers) {
      expect(l.l0Available).toHaveLength(3);
      const t = await readNpz(l.path);
      expect([t.W_enc!.shape, t.W_dec!.shape, t.b_enc!.shape, t.b_dec!.shape, t.threshold!.shape]).toEqual([[D, W], [W, D], [W], [D], [W]]);
      expect(Array.from(t.threshold!.data as Float32Array).every((x) => x > 0)).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(dir, 'suite.json'), 'utf8')).generator).toBe('sae-match synth');
  });

  it('saelens f32/f16/bf16: cfg.json + sae_weights.safetensors, half precision within its rounding', async () => {
    const base = await writeSynthSuite(join(tmp, 'sl32'), { layers: 2, width: W, dModel: D, seed: 2, format: 'saelens' });
    expect(base.format).toBe('saelens');
    const ref = (await readSafetensors(join(tmp, 'sl32', 'layer_1', 'sae_weights.safetensors'))).tensors;
    for (const [dtype, rel] of [['f16', 2 ** -10], ['bf16', 2 ** -7]] as const) {
      await writeSynthSuite(join(tmp, `sl-${dtype}`), { layers: 2, width: W, dModel: D, seed: 2, format: 'saelens', dtype });
      const cfg = JSON.parse(readFileSync(join(tmp, `sl-${dtype}`, 'layer_1', 'cfg.json'), 'utf8'));
      expect([cfg.d_in, cfg.d_sae, cfg.architecture, cfg.hook_name]).toEqual([D, W, 'jumprelu', 'blocks.1.hook_resid_post']);
      const t = (await readSafetensors(join(tmp, `sl-${dtype}`, 'layer_1', 'sae_weights.safetensors'))).tensors;
      expect(t.W_dec!.dtype).toBe(dtype.toUpperCase());
      const a = ref.W_dec!.data, b = t.W_dec!.data;
      for (let i = 0; i < a.length; i += 37) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(rel * Math.abs(a[i]!) + 1e-7);
    }
  });

  it('npy: layer_{L}/<tensor>.npy', async () => {
    await writeSynthSuite(join(tmp, 'npy'), { layers: 2, width: W, dModel: D, format: 'npy' });
    expect((await readNpy(join(tmp, 'npy', 'layer_0', 'W_enc.npy'))).shape).toEqual([D, W]);
    expect((await discoverSuite(join(tmp, 'npy'))).layout).toBe('npy');
  });

  it('is deterministic for a seed and different across seeds', async () => {
    const a = join(tmp, 'det-a'), b = join(tmp, 'det-b'), c = join(tmp, 'det-c');
    const sa = await writeSynthSuite(a, { layers: 2, width: 64, dModel: 8, seed: 9, l0Variants: 1 });
    await writeSynthSuite(b, { layers: 2, width: 64, dModel: 8, seed: 9, l0Variants: 1 });
    await writeSynthSuite(c, { layers: 2, width: 64, dModel: 8, seed: 10, l0Variants: 1 });
    const f = (d: string) => readFileSync(join(d, 'layer_1', 'width_64', `average_l0_${sa.canonicalL0[1]}`, 'params.npz'));
    expect(f(a).equals(f(b))).toBe(true);
    expect(readFileSync(join(a, 'truth', 'perm_0_1.npy')).equals(readFileSync(join(c, 'truth', 'perm_0_1.npy')))).toBe(false);
  });
});

describe('planted truth', () => {
  it('perm is an injection with -1 exactly where a feature died; counts match the summary', async () => {
    const dir = join(tmp, 'truth');
    const s = await writeSynthSuite(dir, { layers: 4, width: 1000, dModel: 8, seed: 4, l0Variants: 1 });
    for (const p of s.pairs) {
      const { perm, kind } = await readSynthTruth(dir, p.from);
      const seen = new Set<number>();
      let died = 0, split = 0, persist = 0;
      for (let i = 0; i < perm.length; i++) {
        if (kind[i] === KIND.died) {
          died++;
          expect(perm[i]).toBe(-1);
          continue;
        }
        kind[i] === KIND.split ? split++ : persist++;
        expect(perm[i]).toBeGreaterThanOrEqual(0);
        expect(perm[i]).toBeLessThan(1000);
        expect(seen.has(perm[i]!)).toBe(false);
        seen.add(perm[i]!);
      }
      expect({ died, split, persist }).toEqual({ died: p.died, split: p.split, persist: p.persisted });
      expect(p.persisted + 2 * p.split + p.born).toBe(1000);
      expect(died / 1000).toBeGreaterThan(0.02);
      expect(split / 1000).toBeGreaterThan(0.01);
    }
  });

  /** Nearest neighbour of each persisting feature by squared distance of [W_dec·θ, W_enc/θ] (or unfolded). */
  async function nearestPartnerRate(dir: string, from: number, fold: boolean): Promise<number> {
    const suite = await discoverSuite(dir);
    const [A, B] = await Promise.all([from, from + 1].map((l) => readNpz(suite.layers[l]!.path)));
    const vec = (t: Record<string, any>, i: number) => {
      const th = fold ? t.threshold.data[i] : 1;
      const v = new Float64Array(2 * D);
      for (let c = 0; c < D; c++) {
        v[c] = t.W_dec.data[i * D + c] * th;
        v[D + c] = t.W_enc.data[c * W + i] / th;
      }
      return v;
    };
    const bs = Array.from({ length: W }, (_, j) => vec(B!, j));
    const { perm, kind } = await readSynthTruth(dir, from);
    let hit = 0, n = 0;
    for (let i = 0; i < W; i++) {
      if (kind[i] !== KIND.persist) continue;
      const a = vec(A!, i);
      let best = -1, bestD = Infinity;
      for (let j = 0; j < W; j++) {
        let d = 0;
        for (let c = 0; c < 2 * D; c++) d += (a[c]! - bs[j]![c]!) ** 2;
        if (d < bestD) [best, bestD] = [j, d];
      }
      n++;
      if (best === perm[i]) hit++;
    }
    return hit / n;
  }

  it('folded: the planted partner is the nearest neighbour; unfolded: much less often', async () => {
    const dir = join(tmp, 'nn');
    await writeSynthSuite(dir, { layers: 3, width: W, dModel: D, seed: 6, l0Variants: 1 });
    for (const from of [0, 1]) {
      const folded = await nearestPartnerRate(dir, from, true);
      const unfolded = await nearestPartnerRate(dir, from, false);
      expect(folded).toBeGreaterThanOrEqual(0.95);
      expect(unfolded).toBeLessThan(folded - 0.1);
    }
  });
});
