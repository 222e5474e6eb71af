#!/usr/bin/env node
// The sparse method's streaming pass against our dense cost kernel on the same shapes and GEMM
// backend, in one process, alternating so that both see the same machine: the pass computes every
// panel through the dense kernel's own GEMM and epilogue and keeps the candidate lists, so the ratio
// is what the lists cost. numpy's `A @ B.T` on the same feature matrices is measured in the same run
// (scripts/bench/peer_scipy.py matmul, on random matrices of the shape), the floor of any exact cost matrix.
// Usage: node scripts/bench/stream.mjs [--pair DIR] [--width 16384] [--d-model 2304] [--reps 3]
//        [--kernels blas,builtin] [--candidates 16] [--rows N] [--no-numpy] [--json]
// --rows N: only the first N features of the first layer against all of the second (both passes are
// linear in the rows: a 65k pair's full dense pass is 8 times its first 8192 rows').
// Without --pair, a synthetic two-layer suite is written once under /tmp (sae-match synth).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cli, flag, opt, root } from './common.mjs';

const dist = (p) => import(join(root, 'dist', p));
const { loadSae } = await dist('sae/load.js');
const { layerFeatures } = await dist('sae/fold.js');
const { costMatrix } = await dist('solve/cost.js');
const { callNative } = await dist('binding/addon.js');

const width = opt('width', '16384');
const dModel = opt('d-model', '2304');
const reps = Number(opt('reps', '3'));
const kernels = opt('kernels', 'blas,builtin').split(',').filter(Boolean);
const candidates = Number(opt('candidates', '16'));
let dir = opt('pair', '');
if (!dir) {
  dir = `/tmp/sae-match-sparse-bench/w${width}-d${dModel}`;
  if (!existsSync(join(dir, 'truth'))) {
    const r = spawnSync(process.execPath, [cli, 'synth', dir, '--layers', '2', '--width', width, '--d-model', dModel, '--l0-variants', '1', '--json'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  }
}
const ls = JSON.parse(spawnSync(process.execPath, [cli, 'ls', dir, '--json'], { encoding: 'utf8' }).stdout);
const [pa, pb] = ls.layers.slice(0, 2).map((l) => join(ls.root, l.rel));
const a0 = await layerFeatures(await loadSae(pa));
const nRows = Math.min(a0.rows, Number(opt('rows', String(a0.rows))));
const a = { data: a0.data.subarray(0, nRows * a0.dim), rows: nRows, dim: a0.dim };
const b = await layerFeatures(await loadSae(pb));
const panelRows = Math.min(2048, Math.max(64, Math.floor(2 ** 29 / (4 * b.rows))));  // src/solve/sparse.ts's choice
// Touched once before any timing: the dense kernel is timed on memory already mapped (a first
// touch costs 10 us a 4 KiB page on this project's VMs, 5 s for the 2 GiB of 8192 rows of a 65536-wide
// pair), as the stream's own panel is reused across its panels.
const out = new Float32Array(a.rows * b.rows).fill(1);

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const rows = [];
for (const kernel of kernels) {
  const dense = [], stream = [];
  for (let r = 0; r < reps; ++r) {
    dense.push((await costMatrix(a, b, { kernel, out })).seconds);
    const s = await callNative((addon, token) => addon.sparseMatch({
      a: a.data, nA: a.rows, b: b.data, nB: b.rows, k: a.dim, metric: 'sqeuclidean', kernel,
      threads: 0, costPanelRows: panelRows, candidates, tolerance: 0, fullPassShare: 0.25, streamOnly: true,
    }, token));
    stream.push(s.seconds.stream);
  }
  rows.push({ kernel, dense, stream, denseMedian: median(dense), streamMedian: median(stream), ratio: median(stream) / median(dense) });
}
let numpy = null;
if (!flag('no-numpy')) {
  const r = spawnSync('python3', [join(root, 'scripts', 'bench', 'peer_scipy.py'), 'matmul', String(a.rows), String(b.rows), String(a.dim), '--repeat', String(reps)], { encoding: 'utf8' });
  numpy = r.status === 0 ? JSON.parse(r.stdout) : { error: r.stderr.slice(0, 300) };
}
const shape = `${a.rows} x ${b.rows} x d ${a.dim}`;
if (flag('json')) console.log(JSON.stringify({ date: new Date().toISOString(), shape, candidates, panelRows, rows, numpy }));
else {
  for (const r of rows)
    console.log(`${shape}, ${r.kernel}: dense kernel ${r.denseMedian.toFixed(2)} s (${r.dense.map((x) => x.toFixed(2)).join(', ')}), ` +
      `stream ${r.streamMedian.toFixed(2)} s (${r.stream.map((x) => x.toFixed(2)).join(', ')}): ${r.ratio.toFixed(3)}x` +
      (numpy?.seconds ? `; numpy A @ B.T ${numpy.seconds.toFixed(2)} s: dense ${(r.denseMedian / numpy.seconds).toFixed(2)}x, stream ${(r.streamMedian / numpy.seconds).toFixed(2)}x numpy's time` : ''));
  if (numpy?.error) console.log(`numpy: ${numpy.error}`);
}
