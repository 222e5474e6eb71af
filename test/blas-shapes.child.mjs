// Run by test/blas.test.ts under a chosen OPENBLAS_CORETYPE (OpenBLAS picks its kernels when it
// loads, so each core type needs a process of its own): the rules blasRules measured, and whether the
// sparse method's entries are the dense matrix's, bit for bit, where pricing recomputes rows (a square
// pair with k = 1) and on a pair with more features in a than in b (the method runs on C^T). Prints
// one JSON line.
import { blasRules, costMatrix, sparseAssignment } from '../dist/index.js';
import { callNative } from '../dist/binding/addon.js';

function gaussian(n, dim, seed) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const data = new Float32Array(n * dim);
  for (let k = 0; k < data.length; k++) data[k] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return { data, rows: n, dim };
}

const d = 256;  // 12 or 16 rows x 600 columns x 256 is past OpenBLAS's small-matrix kernels
const rules = blasRules(d);
const out = { rules, pairs: [], rows: [] };
// Rows recomputed through the cost panels (what pricing does), in an order of their own and with a
// slot count that leaves tiles short, against the whole matrix: of (a, b), and of its transpose.
{
  const a = gaussian(1500, d, 5), b = gaussian(1700, d, 6);  // 12 rows x 1500 x 256: past the small-matrix kernels
  const ab = await costMatrix(a, b, { kernel: 'blas' }), ba = await costMatrix(b, a, { kernel: 'blas' });
  for (const transposed of [false, true]) {
    const n = transposed ? b.rows : a.rows, w = transposed ? a.rows : b.rows;
    const rows = Int32Array.from({ length: 101 }, (_, q) => (q * 37 + 11) % n);
    const got = new Float32Array(rows.length * w);
    const r = await callNative((addon, token) => addon.costRows({ a: a.data, nA: a.rows, b: b.data, nB: b.rows, k: d, metric: 'sqeuclidean',
      kernel: 'blas', threads: 0, rows, transposed, out: got }, token));
    // C^T's rows are the (a, b) matrix's columns, or, on a BLAS whose column subsets differ, the (b, a) matrix's rows.
    const entry = (i, j) => (!transposed ? ab.data[i * w + j] : rules.columnSubsets ? ab.data[j * n + i] : ba.data[i * w + j]);
    let mismatched = 0;
    rows.forEach((i, q) => { for (let j = 0; j < w; j++) if (!Object.is(got[q * w + j], entry(i, j))) mismatched++; });
    out.rows.push({ transposed, kernel: r.kernel, mismatched });
  }
}
for (const [na, nb, seed] of [[600, 3000, 1], [3000, 600, 2]]) {
  const a = gaussian(na, d, seed), b = gaussian(nb, d, seed + 10);
  const sp = await sparseAssignment(a, b, { candidates: 1, keep: 8, kernel: 'blas' });
  // The entries the method's are: the (a, b) matrix's, or, for a pair with more features in a on a
  // BLAS whose column subsets differ, the (b, a) matrix's transposed.
  const tall = na > nb && !rules.columnSubsets;
  const dense = tall ? await costMatrix(b, a, { kernel: 'blas' }) : await costMatrix(a, b, { kernel: 'blas' });
  const entry = (i, j) => (tall ? dense.data[j * na + i] : dense.data[i * nb + j]);
  let mismatched = 0, assigned = 0;
  for (let i = 0; i < na; i++) {
    const j = sp.rowToCol[i];
    if (j < 0) continue;
    assigned++;
    if (!Object.is(sp.costs[i], entry(i, j))) mismatched++;
  }
  out.pairs.push({ na, nb, kernel: sp.kernel, assigned, mismatched, rowsEvaluated: sp.pricing.rowsEvaluated, rowsPartial: sp.pricing.rowsPartial });
}
console.log(JSON.stringify(out));
