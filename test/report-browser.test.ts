// The report in a real headless browser (Debian's chromium; .ci/run installs it, the test is skipped
// with a note where there is none): the page's own script runs, the explorer is driven through the
// address (#layer=L&feature=F), and the chain it renders is checked against the perm and cost files.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../src/io/npy.js';
import { matchSuite } from '../src/match/suite.js';
import { writeReport } from '../src/analysis/report.js';
import { writeSynthSuite } from '../src/tools/synth.js';

const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
const tmp = mkdtempSync(join(tmpdir(), 'sae-match-browser-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const out = join(tmp, 'out'), page = join(tmp, 'report.html');

/** The page's DOM after its scripts ran. */
function dom(hash: string): string {
  const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=5000', '--dump-dom', `file://${page}${hash}`], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 }); // the page inlines ECharts: over spawnSync's 1 MB default
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe.skipIf(!chromium)('the report in headless Chromium', () => {
  beforeAll(async () => {
    await writeSynthSuite(join(tmp, 'suite'), { layers: 4, width: 256, dModel: 64, seed: 9, l0Variants: 1 });
    await matchSuite(join(tmp, 'suite'), { out, topk: 3, device: 'cpu' });
    await writeReport(out, page, { rule: { quantile: 0.9 } });
  }, 60_000);

  it('draws every chart and walks a feature\'s chain as the files say', async () => {
    const html = dom('#layer=1&feature=7');
    for (const id of ['costs', 'matched', 'lifetimes', 'flow']) expect(html).toMatch(new RegExp(`id="chart-${id}"[^>]*>\\s*<div`)); // ECharts filled it
    const rows = [...html.matchAll(/<tr[^>]*data-layer="(\d+)" data-feature="(\d+)"><td>\d+<\/td><td>\d+[^<]*(?:<a[^>]*>[^<]*<\/a>)?<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><td class="event">([^<]*)<\/td>/g)]
      .map((m) => ({ layer: Number(m[1]), feature: Number(m[2]), cost: m[3], alts: m[4], event: m[5] }));
    // The oracle: the chain through layer 1's feature 7 walked in the .npy files, backward then forward.
    const perms = [], costs: Float32Array[] = [], idx: Int32Array[] = [];
    for (let l = 0; l < 3; l++) {
      perms.push((await readNpy(join(out, `perm_${l}_${l + 1}.npy`))).data as Int32Array);
      costs.push((await readNpy(join(out, `cost_${l}_${l + 1}.npy`))).data as Float32Array);
      idx.push((await readNpy(join(out, `topk_idx_${l}_${l + 1}.npy`))).data as Int32Array);
    }
    const thresholds = costs.map((c) => { const s = Float64Array.from(c).sort(); const pos = 0.9 * (s.length - 1), lo = Math.floor(pos); return s[lo]! + (pos - lo) * (s[Math.ceil(pos)]! - s[lo]!); });
    const ok = (l: number, i: number) => perms[l]![i]! >= 0 && costs[l]![i]! <= thresholds[l]!;
    let l = 1, f = 7;
    while (l > 0) { const i = perms[l - 1]!.findIndex((j, k) => j === f && ok(l - 1, k)); if (i < 0) break; f = i; l--; }
    const want: Array<{ layer: number; feature: number }> = [];
    for (;;) { want.push({ layer: l, feature: f }); if (l === 3 || !ok(l, f)) break; f = perms[l]![f]!; l++; }
    expect(rows.map((r) => ({ layer: r.layer, feature: r.feature }))).toEqual(want);
    expect(rows.some((r) => r.layer === 1 && r.feature === 7)).toBe(true);
    for (const r of rows.slice(0, -1)) {
      expect(Number(r.cost)).toBeCloseTo(costs[r.layer]![r.feature]!, 2);
      expect(r.alts.split(', ')[0]!.split(' ')[0]).toBe(String(idx[r.layer]![r.feature * 3]));
    }
    const last = rows.at(-1)!;
    expect(last.event).toMatch(last.layer === 3 ? /last layer of the suite/ : /dies here/);
    expect(rows[0]!.event).toMatch(rows[0]!.layer === 0 ? /first layer of the suite/ : /born here/);
  }, 120_000);

  it('a layer the suite does not have is said so', () => {
    expect(dom('#layer=9&feature=0')).toContain('no layer 9 in this suite');
  }, 60_000);
});
