// One writer of the many-writers test (test/shard.test.ts): waits until the agreed start time, then
// writes its pair's arrays and record and assembles the manifest, as a shard finishing its last pair does.
import { assembleManifest, writePairResult } from '../dist/match/folder.js';

const [out, from, startAt, sourceRoot] = process.argv.slice(2);
const header = JSON.parse(process.argv[6]);
const f = Number(from);
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
const perm = Int32Array.from({ length: 8 }, (_, i) => (i + f) % 8);
const costs = Float32Array.from({ length: 8 }, (_, i) => i * 0.5 + f);
const entry = {
  from: f, to: f + 1, n_from: 8, n_to: 8, perm: `perm_${f}_${f + 1}.npy`, costs: `cost_${f}_${f + 1}.npy`, total_cost: 1, mean_cost: 1, median_cost: 1,
  unassigned: 0, device: 'cpu', seconds: 0, timings: {}, certificate: { ok: true, max_violation: 0, tolerance: 0 }, settings: `s${f}`,
};
await writePairResult(out, sourceRoot, entry, { perm, costs });
// Up to 300 ms between listing the records and renaming the manifest into place: a writer that
// listed early and renames late would leave a manifest without the others' pairs but for the re-check.
const pause = () => new Promise((r) => setTimeout(r, Math.random() * 300));
await assembleManifest(out, header, { afterListing: pause });
