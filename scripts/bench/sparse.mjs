#!/usr/bin/env node
// The sparse method against the dense one, whole `sae-match pair` processes side by side: for each
// width, a synthetic two-layer suite (written once under --dir) matched with --method dense and
// --method sparse; wall time, peak RSS, the certificate's figures, and whether the totals agree.
// --learned DIR adds a pair of a Gemma-Scope-layout suite of trained SAEs (../shared/learned-8k);
// --scipy also runs the numpy + scipy peer (scripts/bench/peer_pipeline.py) on every pair, same run.
// Usage: node scripts/bench/sparse.mjs [--widths 4096,16384] [--d-model 2304] [--candidates 16]
//        [--methods dense,sparse] [--learned ../shared/learned-8k] [--reps 1] [--dir /tmp/sae-match-sparse-bench] [--json]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cli, flag, opt, root } from './common.mjs';

const widths = opt('widths', '4096,16384').split(',').filter(Boolean).map(Number);
const dModel = opt('d-model', '2304');
const candidates = opt('candidates', '16');
const methods = opt('methods', 'dense,sparse').split(',');
const dir = opt('dir', '/tmp/sae-match-sparse-bench');
const learned = opt('learned', '');
const reps = Number(opt('reps', '1'));
mkdirSync(dir, { recursive: true });

function sae(args) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`sae-match ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function pairOf(root) {
  const ls = sae(['ls', root, '--json']);
  return ls.layers.slice(0, 2).map((l) => join(ls.root, l.rel));
}

const rows = [];
const cases = widths.map((w) => ({ name: `synthetic ${w} × d_model ${dModel}`, root: join(dir, `w${w}-d${dModel}`), width: w }));
if (learned) cases.push({ name: `learned ${learned}`, root: learned });
for (const c of cases) {
  if (c.width && !existsSync(join(c.root, 'truth')))
    sae(['synth', c.root, '--layers', '2', '--width', String(c.width), '--d-model', dModel, '--l0-variants', '1', '--json']);
  const [a, b] = pairOf(c.root);
  const row = { case: c.name };
  // --reps R: the methods alternate R times (a noisy machine slows both alike); each method's row is
  // its median run, with every wall time listed.
  const runs = Object.fromEntries(methods.map((m) => [m, []]));
  for (let rep = 0; rep < reps; rep++)
    for (const m of methods) {
      const out = join(dir, `out-${m}`);
      rmSync(out, { recursive: true, force: true });
      const t = performance.now();
      const r = sae(['pair', a, b, '--out', out, '--method', m, '--candidates', candidates, '--json']);
      runs[m].push({ wall: (performance.now() - t) / 1000, seconds: r.seconds, timings: r.timings, peakRss: r.peak_rss_bytes, total: r.total_cost, certificate: r.certificate });
    }
  for (const m of methods) {
    const sorted = [...runs[m]].sort((x, y) => x.wall - y.wall);
    row[m] = { ...sorted[Math.floor(sorted.length / 2)], walls: runs[m].map((x) => x.wall) };
  }
  if (flag('scipy')) {
    const r = spawnSync('python3', [join(root, 'scripts', 'bench', 'peer_pipeline.py'), '--a', a, '--b', b, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status === 0) {
      const j = JSON.parse(r.stdout);
      row.scipy = { wall: j.total_s, solve: j.solve_s, total: j.total_cost, peakRss: j.peak_rss_bytes };
    } else row.scipy = { error: r.stderr.slice(0, 200) };
  }
  if (row.dense && row.sparse) row.relativeDifference = Math.abs(row.dense.total - row.sparse.total) / Math.abs(row.dense.total);
  rows.push(row);
  if (!flag('json')) {
    const f = (x) => x && `${x.wall.toFixed(1)} s${x.walls.length > 1 ? ` (median of ${x.walls.map((w) => w.toFixed(1)).join(', ')})` : ''} (cost ${x.timings.cost.toFixed(1)}, solve ${x.timings.solve.toFixed(1)}, certificate ${x.timings.certificate.toFixed(1)}), peak ${(x.peakRss / 2 ** 30).toFixed(2)} GiB`;
    const p = row.sparse?.certificate;
    console.log(`${c.name}: dense ${f(row.dense) ?? '-'}; sparse ${f(row.sparse) ?? '-'}` +
      (p ? `; pairs ${p.pairs}: candidates ${p.in_graph}, bounds ${p.proven_by_row_bound + p.proven_by_column_bound}, evaluated ${p.evaluated}, rounds ${p.pricing_rounds}, added ${p.violations_added}, rows completed ${p.rows_completed}` : '') +
      (row.relativeDifference !== undefined ? `; totals differ by ${row.relativeDifference.toExponential(2)} relative` : '') +
      (row.scipy?.solve !== undefined ? `; numpy + scipy ${row.scipy.wall.toFixed(1)} s (linear_sum_assignment ${row.scipy.solve.toFixed(1)} s, total ${row.scipy.total}): whole pair ${(row.scipy.wall / row.sparse.wall).toFixed(1)}x sparse, scipy's solve ${(row.scipy.solve / (row.sparse.timings.solve + row.sparse.timings.certificate)).toFixed(1)}x our solve + pricing` : ''));
  }
}
if (flag('json')) console.log(JSON.stringify({ date: new Date().toISOString(), candidates, rows }));
