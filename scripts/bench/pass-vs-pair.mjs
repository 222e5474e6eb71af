#!/usr/bin/env node
// A sparse pair against one pass of our dense cost kernel on the same shapes (issue 12's wall-time
// target), alternating in one run so both see the same machine. The dense pass of a 65536-wide
// pair needs the 16 GiB matrix; it is timed on its first --rows rows (the pass is linear in the
// rows; scripts/bench/stream.mjs, which also times the stream on them) and scaled to all rows.
// Usage: node scripts/bench/pass-vs-pair.mjs --pair DIR [--rows 8192] [--reps 2] [--json]
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { cli, flag, opt, root } from './common.mjs';

const dir = opt('pair', '');
if (!dir) throw new Error('--pair DIR: a suite whose first two layers are the pair');
const rowsAsked = Number(opt('rows', '8192'));
const reps = Number(opt('reps', '2'));
const run = (args) => {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
const ls = run([cli, 'ls', dir, '--json']);
const [a, b] = ls.layers.slice(0, 2).map((l) => join(ls.root, l.rel));
const out = '/tmp/sae-match-pass-vs-pair';
const results = [];
for (let rep = 0; rep < reps; rep++) {
  const s = run([join(root, 'scripts', 'bench', 'stream.mjs'), '--pair', dir, '--rows', String(rowsAsked), '--reps', '1', '--kernels', 'blas', '--no-numpy', '--json']);
  rmSync(out, { recursive: true, force: true });
  const t = performance.now();
  const p = run([cli, 'pair', a, b, '--out', out, '--method', 'sparse', '--json']);
  const wall = (performance.now() - t) / 1000;
  const nRows = p.n_from;
  const scale = nRows / Number(s.shape.split(' x ')[0]);
  const dense = s.rows[0].dense[0] * scale;
  results.push({ denseSubset: s.rows[0].dense[0], streamSubset: s.rows[0].stream[0], scale, densePass: dense, pairWall: wall, timings: p.timings, ratio: wall / dense, total: p.total_cost, certificate: p.certificate?.ok });
  if (!flag('json')) console.log(`rep ${rep + 1}: dense pass ${dense.toFixed(1)} s (${s.rows[0].dense[0].toFixed(2)} s x ${scale}), sparse pair ${wall.toFixed(1)} s: ${(wall / dense).toFixed(3)}x; timings ${JSON.stringify(p.timings)}`);
}
rmSync(out, { recursive: true, force: true });
if (flag('json')) console.log(JSON.stringify({ date: new Date().toISOString(), pair: dir, results }));
