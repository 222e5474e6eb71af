// SAE Match end to end against independent oracles:
//  - scipy: totals and permutations of every pair of a small Gemma Scope suite written by numpy
//    (scripts/fixtures/make-suite-fixtures.py), for every metric, folded and unfolded, and a rectangular pair;
//  - numpy (float64): an SAE and its folded version reconstruct the same inputs;
//  - planted truth: a synthetic suite's persisting features are matched to their planted partners.
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SaeMatchInputError } from '../src/errors.js';
import { foldThreshold, layerFeatures } from '../src/sae/fold.js';
import { selectBackend, type MatchBackend } from '../src/solve/backend.js';
import { matchFeatures, matchPair } from '../src/match/pair.js';
import { matchSuite } from '../src/match/suite.js';
import { readNpy, writeNpy } from '../src/io/npy.js';
import { readNpz } from '../src/io/npz.js';
import { loadSae, type Sae } from '../src/sae/load.js';
import { KIND, readSynthTruth, writeSynthSuite } from '../src/tools/synth.js';
import { prng } from './helpers.js';

const fixtures = resolve(import.meta.dirname, 'fixtures', 'suite-small');
const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8'));
const tmp = mkdtempSync(join(tmpdir(), 'sae-match-match-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type ExpectedPair = { from: number; to: number; total_cost: number; perm: number[]; second_best_gap: number };

/** The optimum is certain beyond float32 rounding of the costs when the runner-up is this much worse. */
const uniqueEnough = (p: ExpectedPair) => p.second_best_gap > 1e-4 * Math.max(1, Math.abs(p.total_cost));

describe('matchSuite against scipy on a numpy-written Gemma Scope suite', () => {
  const gs = join(fixtures, 'gemmascope');
  const metrics: Array<[string, { metric: any; biasWeight?: number; fold?: boolean }]> = [
    ['enc-dec', { metric: 'enc-dec' }],
    ['dec', { metric: 'dec' }],
    ['enc', { metric: 'enc' }],
    ['cosine-dec', { metric: 'cosine-dec' }],
    ['enc-dec+bias1', { metric: 'enc-dec', biasWeight: 1 }],
    ['unfolded_enc-dec', { metric: 'enc-dec', fold: false }],
  ];
  for (const [key, opts] of metrics) {
    it(`${key}: every pair's total equals scipy's optimum`, async () => {
      const r = await matchSuite(gs, { ...opts, device: 'cpu' });
      const want: ExpectedPair[] = key === 'unfolded_enc-dec' ? expected['unfolded_enc-dec'] : expected.pairs[key];
      expect(r.manifest.pairs.map((p) => [p.from, p.to])).toEqual(want.map((p) => [p.from, p.to]));
      for (const w of want) {
        const got = r.results.get(`${w.from}_${w.to}`)!;
        expect(Math.abs(got.totalCost - w.total_cost)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(w.total_cost)));
        if (uniqueEnough(w)) expect(Array.from(got.perm)).toEqual(w.perm);
        expect(got.certificate.ok).toBe(true);
      }
    });
  }

  it('chooses the canonical SAE per layer as numpy-side expected', async () => {
    const r = await matchSuite(gs, { device: 'cpu' });
    for (const l of r.manifest.layers) expect(l.sae).toBe(expected.chosen[String(l.layer)]);
  });

  it('folding changes the answer on this suite (the thresholds differ between layers)', () => {
    const folded: ExpectedPair[] = expected.pairs['enc-dec'];
    const unfolded: ExpectedPair[] = expected['unfolded_enc-dec'];
    expect(folded.some((p, k) => p.perm.join() !== unfolded[k]!.perm.join())).toBe(true);
  });

  it('a rectangular pair leaves features unassigned with perm -1 and NaN cost', async () => {
    const r = await matchPair(join(fixtures, 'rect', 'a', 'params.npz'), join(fixtures, 'rect', 'b', 'params.npz'));
    const w = expected.rect['enc-dec'];
    expect(r.nFrom).toBe(w.perm.length);
    expect(Math.abs(r.totalCost - w.total_cost)).toBeLessThanOrEqual(1e-5 * Math.max(1, w.total_cost));
    const back = await matchPair(join(fixtures, 'rect', 'b', 'params.npz'), join(fixtures, 'rect', 'a', 'params.npz'));
    expect(back.unassigned).toBe(back.nFrom - back.nTo);
    for (let i = 0; i < back.nFrom; i++) expect(back.perm[i]! < 0).toBe(Number.isNaN(back.costs[i]!));
    expect(new Set(Array.from(back.perm).filter((j) => j >= 0)).size).toBe(back.nTo);
    expect(Math.abs(back.totalCost - w.total_cost)).toBeLessThanOrEqual(1e-5 * Math.max(1, w.total_cost));
  });
});

/** x_hat = JumpReLU(x W_enc + b_enc; θ) W_dec + b_dec in float64. */
function reconstruct(sae: Sae, x: Float64Array, n: number): Float64Array {
  const { dModel: D, dSae: S } = sae;
  const out = new Float64Array(n * D);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < S; i++) {
      let z = sae.b_enc[i]!;
      for (let c = 0; c < D; c++) z += x[r * D + c]! * sae.W_enc[c * S + i]!;
      if (!(z > sae.threshold[i]!)) continue;
      for (let c = 0; c < D; c++) out[r * D + c] += z * sae.W_dec[i * D + c]!;
    }
    for (let c = 0; c < D; c++) out[r * D + c] += sae.b_dec[c]!;
  }
  return out;
}

describe('folding (paper eq. 4)', () => {
  it('the folded SAE reconstructs random inputs as the original does (numpy float64 oracle)', async () => {
    const sae = await loadSae(join(fixtures, expected.chosen['0'].replace(/^/, 'gemmascope/')));
    const folded = await foldThreshold(sae);
    expect(Array.from(folded.threshold).every((t) => t === 1)).toBe(true);
    const rec = await readNpz(join(fixtures, 'recon.npz'));
    const x = Float64Array.from(rec.x!.data as Float64Array);
    const n = rec.x!.shape[0]!;
    const a = reconstruct(sae, x, n), b = reconstruct(folded, x, n);
    const want = rec.xhat!.data as Float64Array;
    const wantFolded = rec.xhat_folded!.data as Float64Array;
    const scale = Math.max(...Array.from(want, Math.abs));
    for (let k = 0; k < want.length; k++) {
      expect(Math.abs(a[k]! - want[k]!)).toBeLessThanOrEqual(1e-5 * scale);
      expect(Math.abs(b[k]! - want[k]!)).toBeLessThanOrEqual(1e-5 * scale);
      expect(Math.abs(wantFolded[k]! - want[k]!)).toBeLessThanOrEqual(1e-12 * scale);
    }
  });

  it('feature vectors are the folded decoder row then the folded encoder column (brute force)', async () => {
    const sae = await loadSae(join(fixtures, 'gemmascope', expected.chosen['1']));
    const f = await layerFeatures(sae, { metric: 'enc-dec', biasWeight: 0.5 });
    const D = sae.dModel, S = sae.dSae;
    expect(f.dim).toBe(2 * D + 1);
    for (const i of [0, 7, S - 1]) {
      const th = sae.threshold[i]!;
      for (let c = 0; c < D; c++) {
        expect(f.data[i * f.dim + c]).toBeCloseTo(sae.W_dec[i * D + c]! * th, 5);
        expect(f.data[i * f.dim + D + c]).toBeCloseTo(sae.W_enc[c * S + i]! / th, 5);
      }
      expect(f.data[i * f.dim + 2 * D]).toBeCloseTo((0.5 * sae.b_enc[i]!) / th, 5);
    }
  });

  it('refuses thresholds <= 0, naming the file and the first bad index', async () => {
    const dir = join(tmp, 'zero-threshold');
    mkdirSync(dir);
    const rnd = prng(3);
    const D = 4, S = 6;
    const t = (shape: number[]) => ({ dtype: 'float32' as const, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd() + 0.1) });
    const th = t([S]);
    th.data[4] = 0;
    for (const [k, v] of Object.entries({ W_enc: t([D, S]), W_dec: t([S, D]), b_enc: t([S]), b_dec: t([D]), threshold: th }))
      await writeNpy(join(dir, `${k}.npy`), v);
    await expect(loadSae(dir)).rejects.toThrow(/1 threshold is <= 0 \(first: threshold\[4\] = 0\)/);
    const sae = await loadSae(dir, { skipValueChecks: true });
    await expect(foldThreshold(sae)).rejects.toThrow(/threshold\[4\] = 0 is not > 0/);
  });
});

describe('planted truth', () => {
  it('recovers the planted partners of persisting features on a synthetic suite', async () => {
    const dir = join(tmp, 'synth');
    await writeSynthSuite(dir, { layers: 4, width: 512, dModel: 64, seed: 11, l0Variants: 2 });
    const r = await matchSuite(dir, { device: 'cpu' });
    for (const p of r.manifest.pairs) {
      const { perm: truth, kind } = await readSynthTruth(dir, p.from);
      const got = r.results.get(`${p.from}_${p.to}`)!.perm;
      let persist = 0, hit = 0;
      for (let i = 0; i < truth.length; i++)
        if (kind[i] === KIND.persist) {
          persist++;
          if (got[i] === truth[i]) hit++;
        }
      expect(persist).toBeGreaterThan(400);
      expect(hit / persist).toBeGreaterThanOrEqual(0.95);
    }
  });
});

describe('pipelined backends', () => {
  it('a device-style backend gets pair k+1\'s matrix started while pair k is solved, with the same results', async () => {
    const dir = join(tmp, 'synth-pipe');
    await writeSynthSuite(dir, { layers: 5, width: 256, dModel: 32, seed: 5, l0Variants: 1 });
    const plain = await matchSuite(dir, { device: 'cpu', out: join(tmp, 'pipe-plain') });
    const cpu = selectBackend('cpu').backend;
    const events: string[] = [];
    let solving = 0;
    const backend: MatchBackend = {
      ...cpu,
      device: 'cpu',
      description: 'cpu, pipelined (test)',
      pipelined: true,
      async costMatrix(a, b, metric, out, signal) {
        events.push(`cost-start solving=${solving}`);
        await new Promise((r) => setTimeout(r, 5)); // a device takes its time
        return cpu.costMatrix(a, b, metric, out, signal);
      },
      async solveAssignment(cost, signal) {
        solving++;
        try {
          await new Promise((r) => setTimeout(r, 30));
          return await cpu.solveAssignment(cost, signal);
        } finally {
          solving--;
        }
      },
    };
    const piped = await matchSuite(dir, { backend, out: join(tmp, 'pipe-piped') });
    expect(piped.backend).toBe('cpu, pipelined (test)');
    // 4 pairs: the first matrix starts alone, the other three while the previous pair is being solved.
    expect(events).toEqual(['cost-start solving=0', 'cost-start solving=1', 'cost-start solving=1', 'cost-start solving=1']);
    for (const [k, r] of plain.results) {
      const p = piped.results.get(k)!;
      expect(Array.from(p.perm)).toEqual(Array.from(r.perm));
      expect(p.totalCost).toBe(r.totalCost);
    }
    for (const f of ['perm_0_1.npy', 'cost_2_3.npy', 'perm_3_4.npy'])
      expect(readFileSync(join(tmp, 'pipe-piped', f))).toEqual(readFileSync(join(tmp, 'pipe-plain', f)));
  });
});

describe('resume', () => {
  it('skips pairs done with the same settings, redoes those whose inputs changed, refuses other settings without --force', async () => {
    const suite = join(tmp, 'resume-suite');
    cpSync(join(fixtures, 'gemmascope'), suite, { recursive: true });
    const out = join(tmp, 'resume-out');
    const first = await matchSuite(suite, { out });
    expect([first.computed, first.skipped]).toEqual([3, 0]);
    const again = await matchSuite(suite, { out });
    expect([again.computed, again.skipped]).toEqual([0, 3]);
    expect(again.manifest.pairs).toEqual(first.manifest.pairs);
    // new weights for layer 2 (same bytes, new mtime): the two pairs it belongs to are redone
    const l2 = join(suite, first.manifest.layers.find((l) => l.layer === 2)!.sae);
    const st = statSync(l2);
    utimesSync(l2, st.atime, new Date(st.mtimeMs + 5000));
    const changed = await matchSuite(suite, { out });
    expect([changed.computed, changed.skipped]).toEqual([2, 1]);
    expect([...changed.results.keys()].sort()).toEqual(['1_2', '2_3']);
    // another metric into the same folder is refused, naming what differs (the folder would mix two)
    await expect(matchSuite(suite, { out, metric: 'dec' })).rejects.toThrow(/holds results of other settings \(metric "enc-dec" → "dec"\); use another --out, or --force/);
    // with --force everything is redone, and the files now hold the dec results
    const dec = await matchSuite(suite, { out, metric: 'dec', force: true });
    expect(dec.computed).toBe(3);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(m.metric).toBe('dec');
    const perm = (await readNpy(join(out, 'perm_0_1.npy'))).data as Int32Array;
    expect(Array.from(perm)).toEqual(Array.from(dec.results.get('0_1')!.perm));
  });

  it('a pair whose files are missing or truncated is redone', async () => {
    const out = join(tmp, 'resume-out2');
    await matchSuite(join(fixtures, 'gemmascope'), { out });
    copyFileSync(join(out, 'cost_1_2.npy'), join(out, 'cost_1_2.npy.bak'));
    rmSync(join(out, 'perm_1_2.npy'));
    const r = await matchSuite(join(fixtures, 'gemmascope'), { out });
    expect([...r.results.keys()]).toEqual(['1_2']);
  });
});

describe('validation across layers', () => {
  it('refuses a suite whose layers differ in d_model, naming the layer', async () => {
    const root = join(tmp, 'dmodel');
    for (const [l, D] of [[0, 8], [1, 8], [2, 6]] as const) {
      const dir = join(root, `layer_${l}`);
      mkdirSync(dir, { recursive: true });
      const rnd = prng(l + 1);
      const t = (shape: number[]) => ({ dtype: 'float32' as const, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd() + 0.05) });
      for (const [k, v] of Object.entries({ W_enc: t([D, 10]), W_dec: t([10, D]), b_enc: t([10]), b_dec: t([D]), threshold: t([10]) }))
        await writeNpy(join(dir, `${k}.npy`), v);
    }
    await expect(matchSuite(root)).rejects.toThrow(/layer_2: d_model is 6 but layer 0 has 8/);
    await expect(matchSuite(root)).rejects.toBeInstanceOf(SaeMatchInputError);
  });
});

describe('memory is checked before it is spent', () => {
  it('a pair whose dense cost matrix cannot fit is refused up front (input error, the sizes named), before any allocation', async () => {
    // 2^21 features a side with 1-D features: 16 MiB of features, a 16 TiB matrix no machine here has.
    const n = 2 ** 21;
    const f = { data: new Float32Array(n), rows: n, dim: 1 };
    const { backend } = selectBackend('cpu');
    const err = await matchFeatures(f, f, backend, { method: 'dense' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SaeMatchInputError);
    expect((err as Error).message).toMatch(/cost matrix of a 2097152 × 2097152 pair needs 16384\.0 GiB, but only .* GiB can be allocated \(.*\)/);
  });
});
