#!/usr/bin/env node
// End-to-end benchmark of the suite path, each measurement side by side with its peer in the same run:
//   1. load a params.npz (readNpz, fresh process)       vs  `cat params.npz > /dev/null`
//   2. one pair: load + fold + cost + solve (`sae-match pair`, fresh process, peak RSS)
//                                                     vs  numpy + scipy (scripts/bench/peer_pipeline.py)
//   3. a whole suite run (`sae-match suite`): peak RSS vs one f32 cost matrix + two layers' weights.
// The suite is synthetic (`sae-match synth`, float32 Gemma Scope layout on local disk) and is kept in
// --dir between runs. Usage:
//   node scripts/bench/bench-suite.mjs [--width 16384] [--d-model 2304] [--layers 4] [--dir /tmp/sae-match-bench]
//                                [--no-peer] [--repeat 3] [--json]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cli, flag, opt, root } from './common.mjs';
const width = Number(opt('width', 16384)), dModel = Number(opt('d-model', 2304)), layers = Number(opt('layers', 4));
const repeat = Number(opt('repeat', 3));
const dir = resolve(opt('dir', `/tmp/sae-match-bench-${width}x${dModel}`));
const log = (s) => process.stderr.write(s + '\n');

function sh(cmd, argv, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { seconds, stdout: r.stdout, stderr: r.stderr };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const suite = join(dir, 'suite');
if (!existsSync(join(suite, 'suite.json'))) {
  log(`writing a ${layers}-layer synthetic suite (${width} x d_model ${dModel}, float32) to ${suite}`);
  rmSync(suite, { recursive: true, force: true });
  sh(process.execPath, [cli, 'synth', suite, '--layers', String(layers), '--width', String(width), '--d-model', String(dModel), '--l0-variants', '1', '--seed', '1']);
}
const npz = (l) => {
  const w = join(suite, `layer_${l}`);
  const wd = readdirSync(w)[0];
  const k = readdirSync(join(w, wd))[0];
  return join(w, wd, k, 'params.npz');
};
const A = npz(0), B = npz(1);
const bytes = statSync(A).size;
const result = { date: new Date().toISOString(), width, dModel, layers, fileBytes: bytes };

// 1. load vs cat (page cache warm for both: each is run once before timing)
sh('cat', [A], { stdio: ['ignore', 'ignore', 'pipe'] });
const loadScript = `import { readNpz } from ${JSON.stringify(join(root, 'dist', 'io', 'npz.js'))};
const t0 = performance.now(); await readNpz(process.argv[1]); console.log((performance.now() - t0) / 1000);`;
const loads = [], cats = [];
for (let i = 0; i < repeat + 1; i++) {
  const r = sh(process.execPath, ['--input-type=module', '-e', loadScript, A]);
  if (i) loads.push(Number(r.stdout.trim()));
  const c = sh('bash', ['-c', `TIMEFORMAT=%R; time cat '${A}' > /dev/null`]);
  if (i) cats.push(Number(c.stderr.trim()));
}
result.load = { readNpzSeconds: median(loads), catSeconds: median(cats), readNpzGBps: bytes / median(loads) / 1e9, catGBps: bytes / median(cats) / 1e9 };
result.load.speedVsCat = result.load.catSeconds / result.load.readNpzSeconds;
log(`load ${(bytes / 1e6).toFixed(0)} MB params.npz: readNpz ${result.load.readNpzSeconds.toFixed(3)} s, cat ${result.load.catSeconds.toFixed(3)} s -> ${(100 * result.load.speedVsCat).toFixed(0)}% of cat's speed`);

// 2. one pair end to end, fresh process each time
const pairs = [];
for (let i = 0; i < repeat; i++) {
  const out = join(dir, `pair-out-${i}`);
  rmSync(out, { recursive: true, force: true });
  const r = sh(process.execPath, [cli, 'pair', A, B, '--out', out, '--json']);
  const j = JSON.parse(r.stdout);
  pairs.push({ wall: r.seconds, ...j });
}
const best = pairs.sort((a, b) => a.wall - b.wall)[Math.floor(pairs.length / 2)];
result.pair = { wallSeconds: best.wall, seconds: best.seconds, timings: best.timings, totalCost: best.total_cost, peakRssBytes: best.peak_rss_bytes };
log(`pair ${width}x${width}: ${best.wall.toFixed(2)} s wall (${Object.entries(best.timings).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}), peak RSS ${(best.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB`);

if (!flag('no-peer')) {
  log('numpy + scipy pipeline on the same pair (scipy at 16k takes many minutes) ...');
  const r = sh('python3', [join(root, 'scripts', 'bench', 'peer_pipeline.py'), '--a', A, '--b', B, '--json'], { timeout: 4 * 3600 * 1000 });
  const p = JSON.parse(r.stdout);
  result.peer = p;
  result.pair.speedup = p.total_s / best.wall;
  result.pair.sameTotal = Math.abs(p.total_cost - best.total_cost) <= 1e-4 * Math.abs(p.total_cost);
  log(`peer: ${p.total_s.toFixed(1)} s (load ${p.load_s.toFixed(2)}, fold ${p.fold_s.toFixed(2)}, cost ${p.cost_s.toFixed(2)}, solve ${p.solve_s.toFixed(1)}); ` +
    `sae-match is ${result.pair.speedup.toFixed(1)}x faster end to end; totals ${result.pair.sameTotal ? 'agree' : 'DIFFER'} (${p.total_cost} vs ${best.total_cost})`);
}

// 3. the whole suite, fresh process: peak RSS against one cost matrix + two layers' weights
const out = join(dir, 'suite-out');
rmSync(out, { recursive: true, force: true });
const s = sh(process.execPath, [cli, 'suite', suite, '--out', out, '--json']);
const sj = JSON.parse(s.stdout);
const budget = width * width * 4 + 2 * bytes;
result.suite = { wallSeconds: s.seconds, pairs: sj.computed, peakRssBytes: sj.peak_rss_bytes, budgetBytes: budget, ratio: sj.peak_rss_bytes / budget,
  perPair: sj.pairs.map((p) => ({ from: p.from, to: p.to, seconds: p.seconds, timings: p.timings })) };
log(`suite of ${layers} layers: ${s.seconds.toFixed(1)} s wall for ${sj.computed} pairs, peak RSS ${(sj.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB = ${result.suite.ratio.toFixed(2)} x (one f32 cost matrix + two layers' weights = ${(budget / 2 ** 20).toFixed(0)} MiB)`);
if (flag('json')) console.log(JSON.stringify(result, null, 2));
