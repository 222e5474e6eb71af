// Every layout of issue 13 (Gemma Scope 2, SAELens v6 architectures and pre-6.0 configs, sparsify,
// Llama Scope) against what numpy wrote: test/fixtures/formats/, made by
// scripts/fixtures/make-format-fixtures.py with its own safetensors writer. Each SAE is checked value
// by value in SAE Match's orientation and model units, its fold scale θ and folded feature vectors
// against numpy's, and the optimal assignment of seven pairs against scipy's linear_sum_assignment.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy } from '../src/io/npy.js';
import { loadSae } from '../src/sae/load.js';
import { layerFeatures, type MatchMetric } from '../src/sae/fold.js';
import { matchPair } from '../src/match/pair.js';

const fx = resolve(import.meta.dirname, 'fixtures', 'formats');
const tmp = mkdtempSync(join(tmpdir(), 'sae-match-layouts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
interface Expected {
  expected: string; format: string; architecture: string; kind: string;
  d_in: number; d_out: number; d_sae: number; layer: number; foldable: boolean; fold_rule: string;
}
const index = JSON.parse(readFileSync(join(fx, 'expected', 'index.json'), 'utf8')) as Record<string, Expected>;
const pairs = JSON.parse(readFileSync(join(fx, 'expected', 'pairs.json'), 'utf8')) as Array<{ name: string; a: string; b: string; metric: MatchMetric; perm: number[]; total: number }>;
const npy = async (e: Expected, name: string) => (await readNpy(join(fx, 'expected', e.expected, `${name}.npy`))).data as Float32Array;

/** Largest |a - b| relative to max(1, |b|): the loaders round once from double, numpy too, so ~1 ulp. */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

describe('every layout loads to the values numpy wrote', () => {
  for (const [path, e] of Object.entries(index)) {
    it(`${path} (${e.format}, ${e.architecture} ${e.kind})`, async () => {
      const sae = await loadSae(join(fx, path));
      expect({ format: sae.format, architecture: sae.architecture, kind: sae.kind, d_in: sae.dModel, d_out: sae.dOut, d_sae: sae.dSae })
        .toEqual({ format: e.format, architecture: e.architecture, kind: e.kind, d_in: e.d_in, d_out: e.d_out, d_sae: e.d_sae });
      expect(sae.meta.layer).toBe(e.layer);
      for (const t of ['W_enc', 'W_dec', 'b_enc', 'b_dec'] as const) expect(maxRelDiff(sae[t], await npy(e, t)), t).toBeLessThan(2e-7);
      if (!e.foldable) {
        expect(sae.foldScale).toBeNull();
        await expect(layerFeatures(sae)).rejects.toThrow(new RegExp(`${sae.source}: a topk SAE cannot be folded .*use --metric dec or cosine-dec`));
        return;
      }
      expect(maxRelDiff(sae.foldScale!, await npy(e, 'theta'))).toBeLessThan(2e-7);
      // The enc-dec feature of latent i: folded decoder row, then folded encoder column.
      const f = await layerFeatures(sae, { metric: 'enc-dec' });
      const [Wd, We] = [await npy(e, 'W_dec_folded'), await npy(e, 'W_enc_folded')];
      const want = new Float32Array(e.d_sae * (e.d_out + e.d_in));
      for (let i = 0; i < e.d_sae; i++) {
        for (let c = 0; c < e.d_out; c++) want[i * f.dim + c] = Wd[i * e.d_out + c]!;
        for (let r = 0; r < e.d_in; r++) want[i * f.dim + e.d_out + r] = We[r * e.d_sae + i]!;
      }
      expect(f.dim).toBe(e.d_out + e.d_in);
      expect(maxRelDiff(f.data, want)).toBeLessThan(1e-6);
    });
  }
});

describe('pairs of every layout reach scipy\'s optimum', () => {
  for (const p of pairs) {
    it(`${p.name} (${p.metric})`, async () => {
      const r = await matchPair(join(fx, p.a), join(fx, p.b), { metric: p.metric, device: 'cpu' });
      expect(Array.from(r.perm)).toEqual(p.perm);
      expect(Math.abs(r.totalCost - p.total) / p.total).toBeLessThan(1e-6);
      expect(r.certificate.ok).toBe(true);
    });
  }
});

describe('folding rules beyond the fixtures', () => {
  it('a scalar threshold changes nothing for dec alone but reweights enc-dec by θ_A·θ_B', async () => {
    // Llama Scope without sparsity_include_decoder_norm: one θ per SAE (0.3 and 0.35 here).
    const dirs = [0, 1].map((l) => {
      const dir = join(tmp, `scalar-${l}`);
      cpSync(join(fx, 'llamascope', `Llama3_1-8B-Base-L${l}R-8x`), dir, { recursive: true });
      const cfg = JSON.parse(readFileSync(join(dir, 'hyperparams.json'), 'utf8'));
      writeFileSync(join(dir, 'hyperparams.json'), JSON.stringify({ ...cfg, sparsity_include_decoder_norm: false }));
      return { dir, theta: cfg.jump_relu_threshold as number, e: index[`llamascope/Llama3_1-8B-Base-L${l}R-8x`]! };
    });
    const [A, B] = await Promise.all(dirs.map((d) => loadSae(d.dir)));
    expect(Array.from(new Set(A!.foldScale))).toEqual([Math.fround(dirs[0]!.theta)]);
    // The folded features are numpy's model-unit arrays scaled by the one θ.
    for (const [sae, d] of [[A!, dirs[0]!], [B!, dirs[1]!]] as const) {
      const f = await layerFeatures(sae, { metric: 'enc-dec' });
      const [Wd, We] = [await npy(d.e, 'W_dec'), await npy(d.e, 'W_enc')];
      const th = Math.fround(d.theta), inv = Math.fround(1 / th);
      const want = new Float32Array(f.data.length);
      for (let i = 0; i < 24; i++) {
        for (let c = 0; c < 16; c++) want[i * 32 + c] = Math.fround(Wd[i * 16 + c]! * th);
        for (let r = 0; r < 16; r++) want[i * 32 + 16 + r] = Math.fround(We[r * 24 + i]! * inv);
      }
      expect(maxRelDiff(f.data, want)).toBeLessThan(1e-6);
    }
    // dec alone: folding scales both sides' rows by their θ; the optimum is the unfolded one.
    const decFolded = await matchPair(A!, B!, { metric: 'dec', device: 'cpu' });
    const decRaw = await matchPair(A!, B!, { metric: 'dec', fold: false, device: 'cpu' });
    expect(Array.from(decFolded.perm)).toEqual(Array.from(decRaw.perm));
    // enc-dec: the decoder half is weighted by θ_A·θ_B against the encoder half's 1/(θ_A·θ_B), so the
    // folded costs are not one multiple of the unfolded ones (they would be if folding were a no-op).
    const encdecFolded = await matchPair(A!, B!, { metric: 'enc-dec', device: 'cpu' });
    const [tA, tB] = [Math.fround(dirs[0]!.theta), Math.fround(dirs[1]!.theta)];
    const [WdA, WeA, WdB, WeB] = await Promise.all([npy(dirs[0]!.e, 'W_dec'), npy(dirs[0]!.e, 'W_enc'), npy(dirs[1]!.e, 'W_dec'), npy(dirs[1]!.e, 'W_enc')]);
    const ratios: number[] = [];
    for (let i = 0; i < 24; i++) {
      const j = encdecFolded.perm[i]!;
      let folded = 0, raw = 0;
      for (let c = 0; c < 16; c++) {
        folded += (tA * WdA[i * 16 + c]! - tB * WdB[j * 16 + c]!) ** 2 + (WeA[c * 24 + i]! / tA - WeB[c * 24 + j]! / tB) ** 2;
        raw += (WdA[i * 16 + c]! - WdB[j * 16 + c]!) ** 2 + (WeA[c * 24 + i]! - WeB[c * 24 + j]!) ** 2;
      }
      expect(Math.abs(encdecFolded.costs[i]! - folded) / folded).toBeLessThan(1e-4);
      ratios.push(folded / raw);
    }
    expect(Math.max(...ratios) / Math.min(...ratios)).toBeGreaterThan(1.5);
  });

  it('a TopK SAE without decoder-norm rescaling matches on its decoder', async () => {
    const [a, b] = ['sparsify/old/layer_0', 'sparsify/old/layer_1'].map((x) => join(fx, x));
    await expect(matchPair(a!, b!, { metric: 'enc-dec', device: 'cpu' })).rejects.toThrow(/cannot be folded \(none \(TopK: a scale would change which k latents fire\)\)/);
    const raw = await matchPair(a!, b!, { metric: 'enc-dec', fold: false, device: 'cpu' });
    expect(raw.certificate.ok).toBe(true);
  });
});
