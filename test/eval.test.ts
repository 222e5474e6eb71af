// Reconstruction evaluation (src/analysis/eval.ts, native/core/eval/eval.cpp): every method against float64 numpy
// values (scripts/fixtures/make-eval-fixtures.py), folded and raw; input errors; and on a synthetic suite with
// planted chains and activations, SAE Match must explain far more than chance and nearly as much as
// the next layer's own SAE.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SaeMatchInputError } from '../src/errors.js';
import { evaluateSuite, evaluationIsCurrent, HYBRID_QUANTILES, type PairEvaluation } from '../src/analysis/eval.js';
import { buildReport } from '../src/analysis/report.js';
import { matchSuite } from '../src/match/suite.js';
import { readNpy, writeNpy } from '../src/io/npy.js';
import { writeSynthSuite } from '../src/tools/synth.js';

const FIX = resolve('test/fixtures/eval');
const tmp = mkdtempSync(join(tmpdir(), 'sae-match-eval-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Expected = { ev: PairEvaluation['ev']; hybrid: PairEvaluation['hybrid']; matching_score: number };

/** An output folder over the fixture SAEs (d_sae features each), as `sae-match suite` would leave it. */
function fixtureOut(name: string, fold: boolean, fix = FIX, dSae = 12): string {
  const out = join(tmp, name);
  mkdirSync(out, { recursive: true });
  for (const f of ['perm_0_1.npy', 'cost_0_1.npy']) copyFileSync(join(fix, f), join(out, f));
  const manifest = {
    tool: 'sae-match', version: 'test', source_root: fix, metric: 'enc-dec', bias_weight: 0, fold, updated: '',
    layers: [0, 1].map((layer) => ({ layer, sae: `layer_${layer}`, format: 'npy' })),
    pairs: [{ from: 0, to: 1, n_from: dSae, n_to: dSae, perm: 'perm_0_1.npy', costs: 'cost_0_1.npy', settings: 'fixture' }],
  };
  writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest));
  return out;
}

const close = (got: number | null, want: number | null) => {
  if (want === null) return expect(got).toBeNull();
  expect(Math.abs(got! - want)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));
};

describe('explained variance against numpy', () => {
  // eval: d_model 8 (one partial 64-column decode chunk); eval-wide: d_model 136 (two full chunks and
  // a tail). Each also with engine option evalKernel 'generic': the built-in GEMM and the portable decode loops
  // that machines without BLAS or AVX2 run.
  const sets = [
    { name: 'eval', fix: FIX, dSae: 12 },
    { name: 'eval-wide', fix: resolve('test/fixtures/eval-wide'), dSae: 40 },
  ];
  for (const { name, fix, dSae } of sets)
    for (const generic of [false, true])
      for (const mode of ['folded', 'raw'] as const)
        it(`every method, ${name}, ${mode}${generic ? ', generic kernels' : ''}`, async () => {
          const expected = JSON.parse(readFileSync(join(fix, 'expected.json'), 'utf8')) as { rows: number; folded: Expected; raw: Expected };
          const out = fixtureOut(`${name}-${mode}-${generic}`, mode === 'folded', fix, dSae);
          const r = await evaluateSuite(out, join(fix, 'acts'), { engine: { evalKernel: generic ? 'generic' : 'auto' } });
          const want = expected[mode], got = r.pairs[0]!;
          expect(r.rows).toBe(expected.rows);
          expect(Object.keys(got).sort()).toEqual(['ev', 'from', 'hybrid', 'matching_score', 'seconds', 'settings', 'to']);
          for (const k of ['sae_match', 'own', 'no_permutation', 'reuse_previous'] as const) close(got.ev[k], want.ev[k]);
          expect(got.hybrid.map((h) => h.q)).toEqual([...HYBRID_QUANTILES]);
          got.hybrid.forEach((h, i) => close(h.ev, want.hybrid[i]!.ev));
          expect(got.hybrid.at(-1)!.ev).toBe(got.ev.sae_match); // q = 1 is SAE Match itself
          close(got.matching_score, want.matching_score);
          // eval.json holds exactly the returned object.
          expect(JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(r)));
        });

  it('float16 and bfloat16-as-uint16 activations give exactly what their float32 decodings give', async () => {
    const out = fixtureOut('half', true);
    const full = (await evaluateSuite(out, join(FIX, 'acts'))).pairs[0]!;
    for (const kind of ['f16', 'bf16']) {
      const half = (await evaluateSuite(out, join(FIX, `acts-${kind}`))).pairs[0]!;
      const ref = (await evaluateSuite(out, join(FIX, `acts-${kind}-f32`))).pairs[0]!; // numpy's decoding
      for (const k of ['sae_match', 'own', 'no_permutation', 'reuse_previous'] as const) {
        expect(half.ev[k], `${kind} ${k}`).toBe(ref.ev[k]);
        expect(half.ev[k], `${kind} ${k} differs from the float32 original`).not.toBe(full.ev[k]);
      }
      expect(half.matching_score).toBe(ref.matching_score);
    }
  });

  it('bad activations are input errors naming the file', async () => {
    const out = fixtureOut('bad', true);
    const acts = join(tmp, 'bad-acts');
    mkdirSync(acts, { recursive: true });
    copyFileSync(join(FIX, 'acts', 'layer_0.npy'), join(acts, 'layer_0.npy'));
    await writeNpy(join(acts, 'layer_1.npy'), { dtype: 'float32', shape: [20, 7], data: new Float32Array(140) });
    await expect(evaluateSuite(out, acts)).rejects.toThrow(/layer_1\.npy.*7 columns/);
    await writeNpy(join(acts, 'layer_1.npy'), { dtype: 'float32', shape: [19, 8], data: new Float32Array(152) });
    await expect(evaluateSuite(out, acts)).rejects.toThrow(/layer_1\.npy: 19 rows/);
    await writeNpy(join(acts, 'layer_1.npy'), { dtype: 'float64', shape: [20, 8], data: new Float64Array(160) });
    const e = await evaluateSuite(out, acts).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SaeMatchInputError);
    expect((e as Error).message).toMatch(/layer_1\.npy/);
  });
});

describe('planted truth', () => {
  it('SAE Match explains the next layer far better than chance, below its own SAE', async () => {
    const root = join(tmp, 'synth'), out = join(tmp, 'synth-out');
    await writeSynthSuite(root, { layers: 3, width: 256, dModel: 128, acts: 2000, seed: 3 });
    await matchSuite(root, { out });
    const r = await evaluateSuite(out, join(root, 'acts'));
    expect(r.rows).toBe(2000);
    expect(r.pairs.map((p) => [p.from, p.to])).toEqual([[0, 1], [1, 2]]);
    for (const p of r.pairs) {
      expect(p.ev.sae_match - p.ev.no_permutation!).toBeGreaterThan(0.3);
      // Between no permutation and the layer's own SAE, as in the paper (two active codes per row
      // here, so one code carried wrongly weighs more than on the demo's suites).
      expect(p.ev.sae_match).toBeLessThan(p.ev.own);
      expect(p.ev.sae_match).toBeGreaterThan(0.5);
      expect(p.ev.own).toBeGreaterThan(0.8);
      // Chance would be ~L0/width (4/256); misses are mostly the untrained SAEs' spurious firings.
      expect(p.matching_score).toBeGreaterThan(0.6);
    }
    // Raw units beside folded ones: layer t's raw JumpReLU codes decoded by layer t+1's raw decoder,
    // recomputed here in plain loops (float64) from the SAEs and activations on disk.
    const { loadSae } = await import('../src/sae/load.js');
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    for (const p of r.pairs) {
      expect(p.ev.sae_match_folded).toBe(p.ev.sae_match);
      const sae = async (l: number) => loadSae(join(m.source_root, m.layers.find((x: { layer: number }) => x.layer === l).sae));
      const [A, B] = [await sae(p.from), await sae(p.to)];
      const Xa = (await readNpy(join(root, 'acts', `layer_${p.from}.npy`))).data as Float32Array;
      const Xb = (await readNpy(join(root, 'acts', `layer_${p.to}.npy`))).data as Float32Array;
      const perm = (await readNpy(join(out, `perm_${p.from}_${p.to}.npy`))).data as Int32Array;
      const D = A.dModel, S = A.dSae, n = Xa.length / D;
      let sse = 0, sst = 0;
      const mean = new Float64Array(D);
      for (let r2 = 0; r2 < n; r2++) for (let c = 0; c < D; c++) mean[c]! += Xb[r2 * D + c]! / n;
      for (let r2 = 0; r2 < n; r2++) {
        const xh = Float64Array.from(B.b_dec);
        for (let i = 0; i < S; i++) {
          let pre = A.b_enc[i]!;
          for (let c = 0; c < D; c++) pre += Xa[r2 * D + c]! * A.W_enc[c * S + i]!;
          if (!(pre > A.threshold![i]!) || perm[i]! < 0) continue;
          for (let c = 0; c < D; c++) xh[c]! += pre * B.W_dec[perm[i]! * D + c]!;
        }
        for (let c = 0; c < D; c++) {
          sse += (Xb[r2 * D + c]! - xh[c]!) ** 2;
          sst += (Xb[r2 * D + c]! - mean[c]!) ** 2;
        }
      }
      expect(Math.abs(p.ev.sae_match_raw! - (1 - sse / sst))).toBeLessThan(1e-4 * Math.max(1, Math.abs(1 - sse / sst)));
    }
    // eval.json now covers these matches on these activations, and no others.
    expect(await evaluationIsCurrent(out, join(root, 'acts'))).toBe(true);
    expect(await evaluationIsCurrent(out, join(root, 'other-acts'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    manifest.pairs[1].settings = 'redone-differently';
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest));
    expect(await evaluationIsCurrent(out, join(root, 'acts'))).toBe(false);
  }, 20_000);

  it('report --acts runs the evaluation once, then reuses eval.json; stale pairs are left out of the page', async () => {
    const root = join(tmp, 'synth-r'), out = join(tmp, 'synth-r-out');
    await writeSynthSuite(root, { layers: 3, width: 128, dModel: 64, acts: 500, seed: 5, l0Variants: 1 });
    await matchSuite(root, { out });
    const cli = resolve(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
    const report = () => {
      const r = spawnSync(process.execPath, [cli, 'report', out, '--acts', join(root, 'acts'), '--json'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { evaluated: boolean; file: string };
    };
    expect(report().evaluated).toBe(true);
    const ev = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
    expect(ev.pairs).toHaveLength(2);
    const second = report();
    expect(second.evaluated).toBe(false);
    const dataOf = (html: string) => JSON.parse(/<script type="application\/json" id="data-eval"[^>]*>([\s\S]*?)<\/script>/.exec(html)![1]!);
    expect(dataOf(readFileSync(second.file, 'utf8')).pairs).toHaveLength(2);
    // The suite redoes pair 1 -> 2 differently: that pair's scores are stale and not plotted.
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    manifest.pairs[1].settings = 'redone-differently';
    writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest));
    const html = await buildReport(out);
    const shown = dataOf(html);
    expect(shown.pairs.map((p: PairEvaluation) => p.from)).toEqual([0]);
    expect(shown.stale).toBe(1);
    expect(html).toContain('1 pair(s) of eval.json scored earlier matches');
  }, 30_000);
});
