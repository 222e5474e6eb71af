#!/usr/bin/env node
// CI's check of the sparse method at a width the dense one cannot hold (issue 12): a 131072-wide
// planted pair at a small d_model (the 64 GiB dense matrix of Gemma Scope 9B's width, at a d_model CI
// can afford), through `sae-match pair --method sparse --duals`, then checked from outside the method:
//  - the certificate passed over all 131072² pairs and the peak memory stayed small;
//  - 288 sampled rows recomputed by the dense cost kernel (package API, a separate code path from the
//    stream) have no pair with a negative reduced cost under the written duals, and are tight on the
//    assignment;
//  - the planted partners (synth's truth) are recovered for most features (at d_model 32, 98.7 %; at
//    d_model 8 synth's noise crowds 131072 features so that only 27 % are the optimum's).
// Usage: node scripts/check/sparse-131k.mjs [--width 131072] [--d-model 32]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, opt, root } from '../bench/common.mjs';

const width = Number(opt('width', '131072'));
const dModel = opt('d-model', '32');
const dist = (p) => import(join(root, 'dist', p));
const { decodeNpy } = await dist('io/npy.js');
const { loadSae } = await dist('sae/load.js');
const { layerFeatures } = await dist('sae/fold.js');
const { costMatrix } = await dist('solve/cost.js');

const dir = mkdtempSync(join(tmpdir(), 'sae-match-131k-'));
const fail = (msg) => { console.error(`sparse-131k: FAILED: ${msg}`); process.exitCode = 1; };
try {
  const run = (...args) => {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`sae-match ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const t0 = performance.now();
  run('synth', join(dir, 's'), '--layers', '2', '--width', String(width), '--d-model', dModel, '--l0-variants', '1', '--json');
  const sae = (l) => {
    const w = join(dir, 's', `layer_${l}`);
    const wd = join(w, readdirSync(w)[0]);
    return join(wd, readdirSync(wd)[0], 'params.npz');
  };
  const [a, b] = [sae(0), sae(1)];
  const t1 = performance.now();
  const p = run('pair', a, b, '--out', join(dir, 'o'), '--method', 'sparse', '--duals', '--json');
  const t2 = performance.now();
  const c = p.certificate;
  console.log(`sparse-131k: ${width} x ${width} at d_model ${dModel}: pair ${((t2 - t1) / 1000).toFixed(1)} s (stream ${p.timings.cost.toFixed(1)}, solve ${p.timings.solve.toFixed(1)}, pricing ${p.timings.certificate.toFixed(1)}), ` +
    `peak ${(p.peak_rss_bytes / 2 ** 30).toFixed(2)} GiB; ${c.pricing_rounds} rounds; synth ${((t1 - t0) / 1000).toFixed(1)} s`);
  if (!c.ok || c.pairs !== width * width) fail(`certificate ${JSON.stringify(c)}`);
  if (c.in_graph + c.proven_by_row_bound + c.proven_by_column_bound + c.evaluated !== c.pairs) fail('the pairs proven do not add up to all pairs');
  if (p.peak_rss_bytes > 4 * 2 ** 30) fail(`peak memory ${p.peak_rss_bytes} bytes (the dense matrix alone would be ${4 * width * width})`);
  const read = (f) => decodeNpy(readFileSync(join(dir, 'o', f))).data;
  const perm = read(p.perm), u = read(p.duals.u), v = read(p.duals.v);
  // Sampled rows through the dense cost kernel: reduced costs >= -tol everywhere, 0 on the assignment.
  const fa = await layerFeatures(await loadSae(a), { metric: 'enc-dec' });
  const fb = await layerFeatures(await loadSae(b), { metric: 'enc-dec' });
  // Blocks of 48 consecutive rows at multiples of 48: each sampled row sits in the GEMM tile slot it
  // had in the stream (its index mod 48, a multiple of the 16 of OpenBLAS's SkylakeX kernels and of
  // the 12 of its Haswell kernels, whose entries depend on the slot: native/core/cost/blas_rules.cpp),
  // so its entries are the stream's bit for bit.
  const block = 48, rows = 6 * block, sample = new Float32Array(rows * fa.dim), picked = [];
  for (let s = 0; s < rows; s++) {
    const q = Math.floor(s / block);
    const start = Math.floor(((q * 2654435761 + 12345) % 4294967296) / 4294967296 * (width / block)) * block;
    const i = start + (s % block);
    picked.push(i);
    sample.set(fa.data.subarray(i * fa.dim, (i + 1) * fa.dim), s * fa.dim);
  }
  const C = await costMatrix({ data: sample, rows, dim: fa.dim }, fb, { metric: 'sqeuclidean' });
  let worst = 0, slack = 0;
  for (let s = 0; s < rows; s++) {
    const i = picked[s];
    for (let j = 0; j < width; j++) worst = Math.min(worst, C.data[s * width + j] - u[i] - v[j]);
    slack = Math.max(slack, Math.abs(C.data[s * width + perm[i]] - u[i] - v[perm[i]]));
  }
  if (worst < -c.tolerance) fail(`a sampled pair has reduced cost ${worst} (tolerance ${c.tolerance})`);
  if (slack > 1e-6 * (1 + Math.abs(p.mean_cost))) fail(`an assigned pair is ${slack} from tight`);
  // Planted partners: synth's truth (perm_0_1.npy, -1 for unplanted features).
  const truth = decodeNpy(readFileSync(join(dir, 's', 'truth', 'perm_0_1.npy'))).data;
  let planted = 0, found = 0;
  for (let i = 0; i < width; i++) if (truth[i] >= 0) planted++, found += perm[i] === truth[i] ? 1 : 0;
  console.log(`sparse-131k: sampled rows' worst reduced cost ${worst.toExponential(2)}, assignment slack ${slack.toExponential(2)}; planted partners recovered ${found} / ${planted}`);
  if (found < 0.9 * planted) fail(`only ${found} of ${planted} planted partners recovered`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
