// Suite analysis from an output folder: unmatched rules, composition against explicit index chasing,
// trajectories and lifetimes on a hand-made 4-layer example (values worked out by hand below), and on
// a synthetic suite against its planted truth.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { composeMatches, costQuantile, lifetimes, pairSummaries, traceFeature, unmatchedMask } from '../src/analysis/analyze.js';
import { readSuiteOutput, writeManifest, writePairFiles } from '../src/match/folder.js';
import { matchSuite } from '../src/match/suite.js';
import { permFile, costFile, type Manifest } from '../src/match/contract.js';
import { KIND, readSynthTruth, writeSynthSuite } from '../src/tools/synth.js';

const tmp = mkdtempSync(join(tmpdir(), 'sae-match-analysis-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Layers 0..3, 4 features each. perm and costs per pair; cost 9 marks a bad match.
const P = [
  { perm: [1, 0, 3, 2], costs: [0.1, 0.2, 9, 0.3] },
  { perm: [2, 3, 0, 1], costs: [0.1, 9, 0.2, 0.1] },
  { perm: [0, 1, 2, 3], costs: [0.5, 0.1, 9, 0.2] },
];

async function handMade(): Promise<string> {
  const out = join(tmp, 'hand');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(out);
  const m: Manifest = { tool: 'sae-match', version: 'test', source_root: '/x', metric: 'enc-dec', bias_weight: 0, fold: true, layers: [], pairs: [], updated: '' };
  for (let l = 0; l < 3; l++) {
    await writePairFiles(out, l, l + 1, Int32Array.from(P[l]!.perm), Float32Array.from(P[l]!.costs));
    m.pairs.push({ from: l, to: l + 1, n_from: 4, n_to: 4, perm: permFile(l, l + 1), costs: costFile(l, l + 1), total_cost: 0, mean_cost: 0, median_cost: 0,
      unassigned: 0, device: 'cpu', seconds: 0, timings: {}, certificate: { ok: true, max_violation: 0, tolerance: 0 }, settings: '', sae_from: '', sae_to: '' });
  }
  await writeManifest(out, m);
  return out;
}

describe('hand-made 4-layer example', () => {
  it('unmatched by absolute cost and by quantile', async () => {
    const o = await readSuiteOutput(await handMade());
    expect(Array.from(unmatchedMask(o.pairs[0]!, { maxCost: 1 }))).toEqual([0, 0, 1, 0]);
    expect(Array.from(unmatchedMask(o.pairs[0]!, {}))).toEqual([0, 0, 0, 0]);
    // sorted costs 0.1 0.2 0.3 9: the 0.5-quantile is 0.25 (numpy's linear interpolation)
    expect(costQuantile(o.pairs[0]!.costs, 0.5)).toBeCloseTo(0.25, 6);
    expect(Array.from(unmatchedMask(o.pairs[0]!, { quantile: 0.5 }))).toEqual([0, 0, 1, 1]);
    expect(pairSummaries(o, { maxCost: 1 }).map((s) => s.unmatched)).toEqual([1, 1, 1]);
  });

  it('lifetimes: 1 + consecutive matched steps forward (worked out by hand)', async () => {
    const o = await readSuiteOutput(join(tmp, 'hand'));
    const life = lifetimes(o, { maxCost: 1 });
    // layer 3: all 1. layer 2: [2,2,1,2]. layer 1: f0->2 (life 1) => 2; f1 unmatched => 1; f2->0 => 3; f3->1 => 3.
    // layer 0: f0->1 (1) => 2; f1->0 (2) => 3; f2 unmatched => 1; f3->2 (3) => 4.
    expect(Array.from(life.perLayer.get(3)!)).toEqual([1, 1, 1, 1]);
    expect(Array.from(life.perLayer.get(2)!)).toEqual([2, 2, 1, 2]);
    expect(Array.from(life.perLayer.get(1)!)).toEqual([2, 1, 3, 3]);
    expect(Array.from(life.perLayer.get(0)!)).toEqual([2, 3, 1, 4]);
    expect(life.histograms[0]).toEqual({ layer: 0, counts: [1, 1, 1, 1], mean: 2.5 });
  });

  it('compose equals explicit index chasing; trace follows the same path', async () => {
    const o = await readSuiteOutput(join(tmp, 'hand'));
    for (const rule of [{}, { maxCost: 1 }]) {
      const c = composeMatches(o, 0, 3, rule);
      for (let i = 0; i < 4; i++) {
        let f = i;
        for (let l = 0; l < 3 && f >= 0; l++) f = 'maxCost' in rule && P[l]!.costs[f]! > 1 ? -1 : P[l]!.perm[f]!;
        expect(c[i]).toBe(f);
      }
    }
    expect(traceFeature(o, 0, 3, { maxCost: 1 })).toEqual([
      { layer: 0, feature: 3, cost: expect.closeTo(0.3, 6), matched: true },
      { layer: 1, feature: 2, cost: expect.closeTo(0.2, 6), matched: true },
      { layer: 2, feature: 0, cost: expect.closeTo(0.5, 6), matched: true },
      { layer: 3, feature: 0, cost: null, matched: false },
    ]);
    expect(traceFeature(o, 0, 2, { maxCost: 1 })).toEqual([{ layer: 0, feature: 2, cost: 9, matched: false }]);
    expect(() => composeMatches(o, 2, 1)).toThrow(/must be after/);
    expect(() => traceFeature(o, 0, 4)).toThrow(/out of range/);
  });
});

describe('planted truth', () => {
  it('composed matches follow the planted chains of persisting features', async () => {
    const suite = join(tmp, 'synth');
    await writeSynthSuite(suite, { layers: 4, width: 400, dModel: 32, seed: 8, l0Variants: 1 });
    const out = join(tmp, 'synth-out');
    await matchSuite(suite, { out });
    const o = await readSuiteOutput(out);
    const composed = composeMatches(o, 0, 3);
    let chains = 0, agree = 0;
    for (let i = 0; i < 400; i++) {
      let f = i;
      for (let l = 0; l < 3 && f >= 0; l++) {
        const t = await readSynthTruth(suite, l);
        f = t.kind[f] === KIND.persist ? t.perm[f]! : -1;
      }
      if (f < 0) continue;
      chains++;
      if (composed[i] === f) agree++;
    }
    expect(chains).toBeGreaterThan(300);
    expect(agree / chains).toBeGreaterThanOrEqual(0.95);
  });
});

describe('top-k candidates', () => {
  it('equal brute force over folded enc-dec distances, written next to the matches', async () => {
    const { loadSae } = await import('../src/sae/load.js');
    const { readNpy } = await import('../src/io/npy.js');
    const { resolve } = await import('node:path');
    const root = resolve(import.meta.dirname, 'fixtures', 'suite-small', 'gemmascope');
    const out = join(tmp, 'topk-out');
    const r = await matchSuite(root, { out, topk: 5 });
    const p = r.manifest.pairs[0]!;
    expect(p.topk).toEqual({ k: 5, indices: 'topk_idx_0_1.npy', costs: 'topk_cost_0_1.npy' });
    const idx = await readNpy(join(out, p.topk!.indices));
    const cst = await readNpy(join(out, p.topk!.costs));
    expect(idx.shape).toEqual([64, 5]);
    const [A, B] = await Promise.all(r.manifest.layers.slice(0, 2).map((l) => loadSae(join(root, l.sae))));
    const vec = (s: any, i: number) => {
      const D = s.dModel, S = s.dSae, th = s.threshold[i];
      return [...Array.from({ length: D }, (_, c) => s.W_dec[i * D + c] * th), ...Array.from({ length: D }, (_, c) => s.W_enc[c * S + i] / th)];
    };
    for (let i = 0; i < 64; i++) {
      const a = vec(A, i);
      const d = Array.from({ length: 64 }, (_, j) => [vec(B, j).reduce((acc, x, c) => acc + (a[c]! - x) ** 2, 0), j] as [number, number]).sort((x, y) => x[0] - y[0]);
      for (let r2 = 0; r2 < 5; r2++) {
        expect((idx.data as Int32Array)[i * 5 + r2]).toBe(d[r2]![1]);
        expect((cst.data as Float32Array)[i * 5 + r2]).toBeCloseTo(d[r2]![0], 3);
      }
    }
    // a rerun with the same k skips; asking for top-k where the earlier run had none recomputes
    expect((await matchSuite(root, { out, topk: 5 })).skipped).toBe(3);
    expect((await matchSuite(root, { out })).computed).toBe(3);
  });
});

describe('analyze records its counts in the manifest', () => {
  it('manifest.analysis holds the per-pair counts under the rule, recounted here from the arrays', async () => {
    const { recordAnalysis } = await import('../src/analysis/analyze.js');
    const { readFileSync } = await import('node:fs');
    const out = join(tmp, 'hand');
    await recordAnalysis(await readSuiteOutput(out), { maxCost: 1 });
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(m.analysis.rule).toEqual({ max_cost: 1 });
    expect(m.analysis.pairs.map((p: any) => p.unmatched)).toEqual(P.map((p) => p.costs.filter((c) => c > 1).length));
    expect(m.pairs).toHaveLength(3);
  });
});
