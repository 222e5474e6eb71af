// Times the parts of `sae-match eval` for one pair: loading both SAEs, encoding both layers' activations
// (native JumpReLU encode), and the native pair step (decodes, hybrids, matching score), twice.
// Usage: node scripts/bench/eval-profile.mjs OUT ACTS [from] (OUT: a `sae-match suite` output folder; needs dist/).
import { join } from 'node:path';
import { readActivations } from '../../dist/analysis/eval.js';
import { callNative } from '../../dist/binding/addon.js';
import { readNpy } from '../../dist/io/npy.js';
import { readManifest } from '../../dist/match/folder.js';
import { loadSae } from '../../dist/sae/load.js';

const [out, acts, fromArg] = process.argv.slice(2);
if (!out || !acts) throw new Error('usage: node scripts/bench/eval-profile.mjs OUT ACTS [from]');
const m = await readManifest(out);
const p = m.pairs.find((q) => q.from === Number(fromArg ?? m.pairs[0].from));
const path = (L) => join(m.source_root, m.layers.find((l) => l.layer === L).sae);
const t = () => performance.now() / 1000;
let t0 = t();
const [a, b] = [await loadSae(path(p.from)), await loadSae(path(p.to))];
const [A, B] = [await readActivations(join(acts, `layer_${p.from}.npy`), a.dModel), await readActivations(join(acts, `layer_${p.to}.npy`), b.dModel)];
console.log(`load both SAEs and activations: ${(t() - t0).toFixed(2)} s`);
const enc = (s, X, n) => callNative((x, token) => x.evaluateSae({ op: 'encode', X, n, dModel: s.dModel, W_enc: s.W_enc, b_enc: s.b_enc, threshold: s.threshold, dSae: s.dSae, threads: 0, evalKernel: 'auto' }, token));
t0 = t();
const fa = await enc(a, A.X, A.rows);
console.log(`encode layer ${p.from}: ${(t() - t0).toFixed(2)} s, ${(fa.idx.length / A.rows).toFixed(1)} nonzeros a row`);
t0 = t();
const fb = await enc(b, B.X, B.rows);
console.log(`encode layer ${p.to}: ${(t() - t0).toFixed(2)} s, ${(fb.idx.length / B.rows).toFixed(1)} nonzeros a row`);
const perm = (await readNpy(join(out, p.perm))).data, costs = (await readNpy(join(out, p.costs))).data;
const sorted = Float64Array.from(costs.filter(Number.isFinite)).sort();
const thresholds = Float64Array.from([0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1], (q) => (q >= 1 ? Infinity : sorted[Math.floor(q * (sorted.length - 1))]));
for (let rep = 0; rep < 2; rep++) {
  t0 = t();
  const r = await callNative((x, token) => x.evaluateSae({
    op: 'pair', X: B.X, n: B.rows, dModel: b.dModel, ft: fa, fn: fb, W_dec_t: a.W_dec, b_dec_t: a.b_dec, W_dec_next: b.W_dec, b_dec_next: b.b_dec,
    perm, costs, thresholds, threads: 0, theta_t: m.fold !== false ? a.threshold : null, theta_next: m.fold !== false ? b.threshold : null,
    evalKernel: 'auto',
  }, token));
  console.log(`pair step ${p.from} → ${p.to}: ${(t() - t0).toFixed(2)} s (EV sae_match ${r.saeMatch.toFixed(4)}, own ${r.own.toFixed(4)})`);
}
