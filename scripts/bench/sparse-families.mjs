#!/usr/bin/env node
// The sparse method on stored matrices, side by side with the dense solver on the very same float32
// matrix, in one process: every benchmark family (uniform and int are where the bounds prune least)
// and, with --learned DIR, the enc-dec cost matrices of every adjacent pair of a trained suite
// (../shared/learned-8k; for benchmarks, not a test fixture). Exactness is the totals' relative
// difference (the sparse duals also pass the dense certificate, checked here); --scipy adds scipy's
// linear_sum_assignment on the same matrix.
// Usage: node scripts/bench/sparse-families.mjs [--families uniform,int,geometric,sae,machol-wien]
//        [--sizes 4096,16384] [--candidates 16] [--learned ../shared/learned-8k] [--scipy] [--json]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flag, opt, root } from './common.mjs';

const dist = (p) => import(join(root, 'dist', p));
const { makeInstance } = await dist('tools/instances.js');
const { solveAssignment, checkCertificate } = await dist('solve/lap.js');
const { sparseSolve } = await dist('solve/sparse.js');
const { costMatrix } = await dist('solve/cost.js');
const { encodeNpy } = await dist('io/npy.js');

const families = opt('families', 'uniform,int,geometric,sae,machol-wien').split(',').filter(Boolean);
const sizes = opt('sizes', '4096,16384').split(',').filter(Boolean).map(Number);
const candidates = Number(opt('candidates', '16'));
const learned = opt('learned', '');
const tmp = mkdtempSync(join(tmpdir(), 'sae-match-families-'));
const rows = [];

async function measure(name, m) {
  const t0 = performance.now();
  const dense = await solveAssignment(m);
  const tDense = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const sp = await sparseSolve(m, { candidates });
  const tSparse = (performance.now() - t1) / 1000;
  const cert = await checkCertificate(m, { rowToCol: sp.rowToCol, u: sp.u, v: sp.v });
  const row = {
    case: name, n: `${m.nRows}x${m.nCols}`, dense: tDense, sparse: tSparse, ratio: tSparse / tDense,
    timings: sp.seconds, relativeDifference: Math.abs(sp.totalCost - dense.totalCost) / Math.max(1, Math.abs(dense.totalCost)),
    denseCertificateOfSparseDuals: cert.ok, pricing: sp.pricing,
  };
  if (flag('scipy')) {
    const f = join(tmp, 'c.npy');
    writeFileSync(f, encodeNpy({ dtype: 'float32', shape: [m.nRows, m.nCols], data: m.data }));
    const r = spawnSync('python3', [join(root, 'scripts', 'bench', 'peer_scipy.py'), 'lsa', f], { encoding: 'utf8' });
    if (r.status === 0) row.scipy = JSON.parse(r.stdout).seconds;
  }
  rows.push(row);
  if (!flag('json')) {
    const p = sp.pricing;
    console.log(`${name} ${row.n}: dense ${tDense.toFixed(2)} s, sparse ${tSparse.toFixed(2)} s (${row.ratio.toFixed(2)}x; stream ${sp.seconds.stream.toFixed(2)}, solve ${sp.seconds.solve.toFixed(2)}, pricing ${sp.seconds.pricing.toFixed(2)}), ` +
      `totals differ by ${row.relativeDifference.toExponential(1)}, dense certificate of the sparse duals ${cert.ok ? 'passed' : 'FAILED'}; ` +
      `${p.rounds} rounds, ${(100 * (p.provenByRowBound + p.provenByColumnBound) / p.pairs).toFixed(1)} % by bounds, ${(100 * p.evaluated / p.pairs).toFixed(1)} % evaluated` +
      (row.scipy !== undefined ? `; scipy ${row.scipy.toFixed(2)} s (${(row.scipy / tSparse).toFixed(1)}x sparse, ${(row.scipy / tDense).toFixed(1)}x dense)` : ''));
  }
}

try {
  for (const n of sizes)
    for (const family of families) await measure(family, await makeInstance(family, n, { seed: 0, dtype: 'float32' }));
  if (learned) {
    const { discoverSuite } = await dist('sae/discover.js');
    const { loadSae } = await dist('sae/load.js');
    const { layerFeatures } = await dist('sae/fold.js');
    const suite = await discoverSuite(learned, {});
    const feats = [];
    for (const l of suite.layers) feats.push(await layerFeatures(await loadSae(l.path), { metric: 'enc-dec' }));
    for (let k = 0; k + 1 < feats.length; k++) {
      const C = await costMatrix(feats[k], feats[k + 1], { metric: 'sqeuclidean' });
      await measure(`learned ${suite.layers[k].layer}->${suite.layers[k + 1].layer}`, { data: C.data, nRows: feats[k].rows, nCols: feats[k + 1].rows });
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (flag('json')) console.log(JSON.stringify({ date: new Date().toISOString(), candidates, rows }));
