// The HTML report: self-contained (no network at view time), one JSON data block per plot, and each
// block's numbers equal to an independent computation from the perm/cost .npy files (loops here, not
// the analysis helpers); the EV section exists exactly when eval.json does.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchSuite } from '../src/match/suite.js';
import { readNpy } from '../src/io/npy.js';
import { buildReport, writeReport } from '../src/analysis/report.js';
import { writeSynthSuite } from '../src/tools/synth.js';

const LAYERS = 5, WIDTH = 512;
const tmp = mkdtempSync(join(tmpdir(), 'sae-match-report-'));
const out = join(tmp, 'out');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  await writeSynthSuite(join(tmp, 'suite'), { layers: LAYERS, width: WIDTH, dModel: 32, l0Variants: 1 });
  await matchSuite(join(tmp, 'suite'), { out });
});

/** Every `<script type="application/json" id="data-X">` block, parsed. */
function blocks(html: string): Record<string, any> {
  const r: Record<string, any> = {};
  for (const m of html.matchAll(/<script type="application\/json" id="data-(\w+)"[^>]*>([\s\S]*?)<\/script>/g)) r[m[1]!] = JSON.parse(m[2]!);
  return r;
}

async function pairArrays(l: number) {
  const perm = (await readNpy(join(out, `perm_${l}_${l + 1}.npy`))).data as Int32Array;
  const cost = (await readNpy(join(out, `cost_${l}_${l + 1}.npy`))).data as Float32Array;
  return { perm, cost };
}

/** numpy's default (linear) quantile, by hand. */
function quantile(xs: Float32Array, q: number): number {
  const s = Array.from(xs).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const pos = q * (s.length - 1), lo = Math.floor(pos);
  return s[lo]! + (pos - lo) * (s[Math.ceil(pos)]! - s[lo]!);
}

describe('sae-match report', () => {
  it('is one self-contained file with a data block per plot', async () => {
    const html = await buildReport(out, { rule: { quantile: 0.9 } });
    // Nothing is loaded from the network: no remote src, no <link>, no fetch (Neuronpedia links are plain anchors).
    expect(html).not.toMatch(/src\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b|<script[^>]*\bsrc=|\bfetch\(|XMLHttpRequest|@import/i);
    expect(html).toContain('echarts'); // the library itself is inlined
    expect(html.length).toBeGreaterThan(900_000);
    expect(Object.keys(blocks(html)).sort()).toEqual(['costs', 'explorer', 'flow', 'lifetimes', 'matched']);
    for (const id of ['costs', 'flow', 'lifetimes', 'matched']) expect(html).toContain(`id="chart-${id}"`);
    expect(html).not.toContain('chart-eval');
    expect(html).toContain('enc-dec');
    expect(html).toContain(resolve(tmp, 'suite'));
  });

  it('matched counts and cost histograms equal a recount from the npy files', async () => {
    const b = blocks(await buildReport(out, { rule: { quantile: 0.9 } }));
    expect(b.matched.pairs).toHaveLength(LAYERS - 1);
    for (let l = 0; l + 1 < LAYERS; l++) {
      const { perm, cost } = await pairArrays(l);
      const t = quantile(cost, 0.9);
      let matched = 0;
      for (let i = 0; i < perm.length; i++) if (perm[i]! >= 0 && cost[i]! <= t) matched++;
      expect(b.matched.pairs[l]).toMatchObject({ from: l, to: l + 1, n_from: WIDTH, matched, unmatched: WIDTH - matched, unassigned: 0 });
      // deaths: the unmatched features of l; births: the features of l + 1 no matched feature maps to
      const parent = new Uint8Array(WIDTH);
      for (let i = 0; i < perm.length; i++) if (perm[i]! >= 0 && cost[i]! <= t) parent[perm[i]!] = 1;
      expect(b.matched.turnover[l]).toMatchObject({ from: l, to: l + 1, died: WIDTH - matched, born: WIDTH - parent.reduce((a, x) => a + x, 0) });
      // the explorer carries the perm and costs themselves
      expect(b.explorer.pairs[l].perm).toEqual(Array.from(perm));
      expect(b.explorer.pairs[l].threshold).toBeCloseTo(t, 5);
      const { edges, pairs } = b.costs;
      const counts = new Array(edges.length - 1).fill(0);
      for (const c of cost) {
        let k = 0;
        while (k + 1 < counts.length && c >= edges[k + 1] * (1 + 1e-12)) k++;
        counts[k]++;
      }
      // a cost within rounding of an edge may land either side; the totals must agree exactly
      expect(pairs[l].counts.reduce((a: number, x: number) => a + x, 0)).toBe(WIDTH);
      const moved = pairs[l].counts.reduce((a: number, x: number, k: number) => a + Math.abs(x - counts[k]), 0);
      expect(moved).toBeLessThanOrEqual(2);
      expect(pairs[l].threshold).toBeCloseTo(t, 5);
    }
  });

  it('lifetime histograms equal a backward recount; flow links follow perm with 1/(1+cost)', async () => {
    const b = blocks(await buildReport(out, { rule: { maxCost: 1e9 }, features: 7 }));
    let next = new Int32Array(WIDTH).fill(1);
    const life = new Map<number, Int32Array>([[LAYERS - 1, next]]);
    for (let l = LAYERS - 2; l >= 0; l--) {
      const { perm, cost } = await pairArrays(l);
      const cur = new Int32Array(WIDTH);
      for (let i = 0; i < WIDTH; i++) cur[i] = perm[i]! >= 0 && cost[i]! <= 1e9 ? 1 + next[perm[i]!]! : 1;
      life.set(l, (next = cur));
    }
    for (const h of b.lifetimes.histograms) {
      expect(h.counts.reduce((a: number, x: number) => a + x, 0)).toBe(WIDTH);
      const counts: number[] = [];
      for (const x of life.get(h.layer)!) counts[x - 1] = (counts[x - 1] ?? 0) + 1;
      expect(h.counts).toEqual(Array.from(counts, (x) => x ?? 0));
    }
    expect(b.flow.features).toHaveLength(7);
    // the chosen features have the longest chains of layer 0
    const best = Math.max(...life.get(0)!);
    expect(life.get(0)![b.flow.features[0]]).toBe(best);
    for (const link of b.flow.links) {
      const [, l, f] = /^L(\d+):f(\d+)$/.exec(link.source)!.map(Number);
      const { perm, cost } = await pairArrays(l!);
      expect(link.target).toBe(`L${l! + 1}:f${perm[f!]}`);
      expect(link.cost).toBeCloseTo(cost[f!]!, 6);
      expect(link.value).toBeCloseTo(1 / (1 + cost[f!]!), 6);
    }
  });

  it('has the EV section exactly when eval.json exists, and rejects a malformed one naming it', async () => {
    const ev = { rows: 64, acts: 'synthetic', pairs: [0, 1, 2, 3].map((l) => ({ from: l, to: l + 1, ev: { sae_match: 0.8, own: 0.9, no_permutation: l ? null : 0.1, reuse_previous: 0.5 },
      hybrid: [{ q: 0.5, ev: 0.7 }, { q: 1, ev: 0.8 }], matching_score: 0.9, seconds: 0.1 })) };
    writeFileSync(join(out, 'eval.json'), JSON.stringify(ev));
    try {
      const html = await buildReport(out);
      expect(blocks(html).eval).toEqual(ev);
      expect(html).toContain('id="chart-hybrid"');
      writeFileSync(join(out, 'eval.json'), '{"pairs": 3}');
      await expect(buildReport(out)).rejects.toThrow(/eval\.json/);
    } finally {
      rmSync(join(out, 'eval.json'));
    }
  });

  it('writes atomically from the library and the CLI; bad folders are input errors naming them', async () => {
    const file = join(tmp, 'r.html');
    const bytes = await writeReport(out, file, { features: 3 });
    expect(readFileSync(file).length).toBe(bytes);
    const cli = resolve(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
    const r = spawnSync(process.execPath, [cli, 'report', out, '--max-cost', '2'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    const bad = spawnSync(process.execPath, [cli, 'report', join(tmp, 'nope')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(join(tmp, 'nope'));
    await expect(buildReport(out, { features: 0 })).rejects.toThrow(/features/);
  });
});
