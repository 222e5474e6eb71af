// `sae-match bench`: our solver and cost kernel side by side with their peers, in the same run, on the
// same matrices: scipy's linear_sum_assignment (python3, through a .npy file), the `munkres` npm
// package (pure JS, in a worker so it can be timed out), and numpy's float32 matmul for the GEMM.
// Every run checks that all solvers reached the same optimal total. --learned DIR adds the enc-dec cost
// matrices of a trained suite's adjacent pairs (../shared/learned-8k: far harder for JV than the
// synthetic families); --sparse adds the sparse method (solve/sparse.ts) on the same float32 matrix.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { costMatrix } from '../solve/cost.js';
import { type Family, makeInstance, Rng } from './instances.js';
import type { CostMatrix } from '../solve/lap.js';
import { sparseSolve } from '../solve/sparse.js';
import { checkCertificate, solveAssignment, type SolverStats } from '../solve/lap.js';
import { nativeInfo, packageRoot } from '../binding/addon.js';
import { writeNpy } from '../io/npy.js';
import { SaeMatchInputError } from '../errors.js';

export interface BenchOptions {
  families: Family[];
  sizes: number[];
  repeat: number;
  dtype: 'float32' | 'float64';
  seed: number;
  scipy: boolean;
  /** scipy is skipped above this n (its run time grows like n^3 on hard families). */
  scipyMaxN: number;
  munkres: boolean;
  munkresMaxN: number;
  munkresTimeoutSeconds: number;
  /** Also solve in a child `sae-match solve` and report its peak resident memory. */
  memory: boolean;
  /** Cost-matrix shapes [nA, nB, k]; empty to skip. */
  costShapes: [number, number, number][];
  /** A suite of trained SAEs: its first learnedPairs adjacent pairs' enc-dec cost matrices join the instances. */
  learned?: string;
  learnedPairs?: number;
  /** Also run the sparse method (candidates k) on every float32 instance. */
  sparse?: boolean;
  candidates?: number;
  log: (line: string) => void;
}

export interface PeerResult {
  peer: string;
  seconds?: number;
  total?: number;
  /** Why there is no time: skipped, timed out (a lower bound), failed. */
  note?: string;
  /** peer seconds / our seconds */
  ratio?: number;
  agrees?: boolean;
}

export interface SparseBenchResult {
  seconds: number;
  total: number;
  agrees: boolean;
  /** The dense certificate (its own code) over every pair, on the sparse duals. */
  certificateOk: boolean;
  /** dense seconds / sparse seconds */
  speedup: number;
  rounds: number;
}

export interface SolveBenchRow {
  family: Family | 'learned';
  /** learned: which pair ("learned 0->1"). */
  name: string;
  n: number;
  dtype: string;
  seconds: number;
  secondsAll: number[];
  total: number;
  stats: SolverStats;
  certificate: { ok: boolean; maxViolation: number; tolerance: number };
  peers: PeerResult[];
  memory?: { peakRssBytes: number; matrixBytes: number; ratio: number };
  sparse?: SparseBenchResult;
}

export interface CostBenchRow {
  nA: number;
  nB: number;
  k: number;
  kernels: { kernel: string; seconds: number; gflops: number; ratioToNumpy?: number }[];
  numpy?: { seconds: number; gflops: number; note?: string };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function runJson(cmd: string, args: string[]): Promise<{ json?: any; error?: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) => resolve({ error: e.message }));
    p.on('close', (code, signal) => {
      if (signal) return resolve({ error: `killed (${signal})` });
      if (code !== 0) return resolve({ error: (err.trim().split('\n').pop() ?? '') || `exit ${code}` });
      try {
        resolve({ json: JSON.parse(out.trim().split('\n').pop()!) });
      } catch {
        resolve({ error: `unparseable output: ${out.slice(0, 200)}` });
      }
    });
  });
}

let pythonChecked: Promise<string | undefined> | undefined;
/** undefined when python3 with numpy and scipy is usable, else the reason. */
export function pythonUnavailable(): Promise<string | undefined> {
  pythonChecked ??= runJson('python3', ['-c', 'import json, numpy, scipy; print(json.dumps(1))']).then((r) =>
    r.error ? `python3 with numpy and scipy not available (${r.error})` : undefined,
  );
  return pythonChecked;
}

const peerScript = () => join(packageRoot, 'scripts', 'bench', 'peer_scipy.py');

function agree(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/** munkres in a worker thread so a run that takes too long can be stopped. */
async function runMunkres(data: Float32Array | Float64Array, n: number, timeoutSeconds: number): Promise<PeerResult> {
  const src = `
    const { parentPort, workerData } = require('node:worker_threads');
    import('munkres').then(({ munkres }) => {
      const { data, n } = workerData;
      const rows = Array.from({ length: n }, (_, i) => data.subarray(i * n, (i + 1) * n));
      const t0 = performance.now();
      const pairs = munkres(rows);
      const seconds = (performance.now() - t0) / 1000;
      let total = 0;
      for (const [y, x] of pairs) total += rows[y][x];
      parentPort.postMessage({ seconds, total });
    }).catch((e) => parentPort.postMessage({ error: String(e) }));`;
  const w = new Worker(src, { eval: true, workerData: { data, n } });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      void w.terminate();
      resolve({ peer: 'munkres', note: `did not finish in ${timeoutSeconds} s`, seconds: timeoutSeconds });
    }, timeoutSeconds * 1000);
    w.on('message', (m) => {
      clearTimeout(timer);
      void w.terminate();
      // munkres is a dev dependency: a consumer's install has none, which is a skipped peer, not a failure.
      const absent = m.error && /Cannot find (package|module) 'munkres'|ERR_MODULE_NOT_FOUND/.test(m.error);
      resolve(absent ? { peer: 'munkres', note: 'skipped: the munkres package is not installed (a dev dependency of sae-match; npm install munkres to compare with it)' }
        : m.error ? { peer: 'munkres', note: `failed: ${m.error}` } : { peer: 'munkres', seconds: m.seconds, total: m.total });
    });
    w.on('error', (e) => {
      clearTimeout(timer);
      resolve({ peer: 'munkres', note: `failed: ${e.message}` });
    });
  });
}

async function benchSolve(family: Family | 'learned', name: string, inst: CostMatrix, o: BenchOptions, dir: string): Promise<SolveBenchRow> {
  const n = inst.nRows;
  const times: number[] = [];
  let sol;
  for (let r = 0; r < o.repeat; r++) {
    sol = await solveAssignment(inst);
    times.push(sol.seconds);
  }
  sol = sol!;
  const cert = await checkCertificate(inst, sol);
  const seconds = median(times);
  const dtype = inst.data instanceof Float32Array ? 'float32' : 'float64';
  const row: SolveBenchRow = {
    family, name, n, dtype, seconds, secondsAll: times, total: sol.totalCost, stats: sol.stats,
    certificate: { ok: cert.ok, maxViolation: cert.maxViolation, tolerance: cert.tolerance }, peers: [],
  };
  o.log(`  ${name} n=${n}: sae-match ${seconds.toFixed(3)} s, total ${sol.totalCost}, certificate ${cert.ok ? 'ok' : 'FAILED'} (max violation ${cert.maxViolation.toExponential(2)})`);

  let file: string | undefined;
  const npyFile = async () => {
    if (!file) {
      file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}-${n}.npy`);
      await writeNpy(file, { dtype, shape: [n, inst.nCols], data: inst.data });
    }
    return file;
  };
  if (o.scipy) {
    const why = await pythonUnavailable();
    let p: PeerResult;
    if (why) p = { peer: 'scipy', note: `skipped: ${why}` };
    else if (n > o.scipyMaxN) p = { peer: 'scipy', note: `skipped: n > --scipy-max-n ${o.scipyMaxN}` };
    else {
      const r = await runJson('python3', [peerScript(), 'lsa', await npyFile()]);
      p = r.error ? { peer: 'scipy', note: `failed: ${r.error}` } : { peer: `scipy ${r.json.version}`, seconds: r.json.seconds, total: r.json.total };
    }
    row.peers.push(p);
  }
  if (o.munkres) {
    row.peers.push(n > o.munkresMaxN ? { peer: 'munkres', note: `skipped: n > ${o.munkresMaxN}` }
      : await runMunkres(inst.data, n, o.munkresTimeoutSeconds));
  }
  if (o.memory) {
    const r = await runJson(process.execPath, [join(packageRoot, 'dist', 'cli', 'main.js'), 'solve', await npyFile(), '--json', '--no-certificate']);
    if (r.json) {
      const matrixBytes = inst.data.byteLength;
      row.memory = { peakRssBytes: r.json.peakRssBytes, matrixBytes, ratio: r.json.peakRssBytes / matrixBytes };
      o.log(`    peak RSS of \`sae-match solve\`: ${(r.json.peakRssBytes / 2 ** 20).toFixed(0)} MiB = ${row.memory.ratio.toFixed(3)} x the ${o.dtype} matrix`);
    } else o.log(`    memory run failed: ${r.error}`);
  }
  if (o.sparse && inst.data instanceof Float32Array) {
    const m = { data: inst.data, nRows: inst.nRows, nCols: inst.nCols };
    const t0 = performance.now();
    const sp = await sparseSolve(m, { candidates: o.candidates });
    const s = (performance.now() - t0) / 1000;
    const c = await checkCertificate(m, { rowToCol: sp.rowToCol, u: sp.u, v: sp.v });
    row.sparse = { seconds: s, total: sp.totalCost, agrees: agree(sp.totalCost, sol.totalCost), certificateOk: c.ok, speedup: seconds / s, rounds: sp.pricing.rounds };
    o.log(`    sparse method (k = ${sp.candidates}): ${s.toFixed(3)} s (${row.sparse.speedup.toFixed(2)}x the dense solve), ${sp.pricing.rounds} pricing rounds, ` +
      `${row.sparse.agrees ? 'same total' : `DIFFERENT total ${sp.totalCost}`}, dense certificate on its duals ${c.ok ? 'ok' : 'FAILED'}`);
  }
  for (const p of row.peers) {
    if (p.seconds !== undefined) p.ratio = p.seconds / seconds;
    if (p.total !== undefined) p.agrees = agree(p.total, sol.totalCost);
    const vsSparse = row.sparse && p.seconds !== undefined ? `, ${(p.seconds / row.sparse.seconds).toFixed(1)}x the sparse method` : '';
    const time = p.seconds === undefined ? p.note : `${p.note ? '>' : ''}${p.seconds.toFixed(3)} s (${p.note ? '>' : ''}${p.ratio!.toFixed(1)}x${vsSparse})`;
    const agreement = p.agrees === undefined ? '' : p.agrees ? ', same total' : `, DIFFERENT total ${p.total}`;
    o.log(`    ${p.peer}: ${time}${agreement}`);
  }
  if (file) await rm(file, { force: true });
  return row;
}

async function benchCost(nA: number, nB: number, k: number, o: BenchOptions): Promise<CostBenchRow> {
  const rng = new Rng(o.seed);
  const a = { data: Float32Array.from({ length: nA * k }, () => rng.next() - 0.5), rows: nA, dim: k };
  const b = { data: Float32Array.from({ length: nB * k }, () => rng.next() - 0.5), rows: nB, dim: k };
  const out = new Float32Array(nA * nB);
  const flop = 2 * nA * nB * k;
  const row: CostBenchRow = { nA, nB, k, kernels: [] };
  const kernels = nativeInfo().haveBlas ? ['blas', 'builtin'] : ['builtin'];
  const why = await pythonUnavailable();
  if (why) row.numpy = { seconds: NaN, gflops: NaN, note: `skipped: ${why}` };
  else {
    const r = await runJson('python3', [peerScript(), 'matmul', String(nA), String(nB), String(k), '--repeat', String(Math.max(3, o.repeat))]);
    if (r.json) row.numpy = { seconds: r.json.seconds, gflops: flop / r.json.seconds / 1e9 };
    else row.numpy = { seconds: NaN, gflops: NaN, note: `failed: ${r.error}` };
  }
  for (const kernel of kernels) {
    await costMatrix(a, b, { kernel: kernel as 'blas', out }); // warm up: page-in `out`, start threads
    const times: number[] = [];
    for (let r = 0; r < Math.max(3, o.repeat); r++) {
      const t0 = performance.now();
      await costMatrix(a, b, { kernel: kernel as 'blas', out });
      times.push((performance.now() - t0) / 1000);
    }
    const s = median(times);
    const ratio = row.numpy && Number.isFinite(row.numpy.seconds) ? s / row.numpy.seconds : undefined;
    row.kernels.push({ kernel, seconds: s, gflops: flop / s / 1e9, ratioToNumpy: ratio });
  }
  o.log(`  cost ${nA}x${nB} k=${k}: ` + row.kernels.map((x) => `${x.kernel} ${x.seconds.toFixed(3)} s (${x.gflops.toFixed(0)} GFLOP/s${x.ratioToNumpy ? `, ${x.ratioToNumpy.toFixed(2)}x numpy` : ''})`).join(', ') +
    (row.numpy?.note ? `; numpy ${row.numpy.note}` : `; numpy matmul ${row.numpy!.seconds.toFixed(3)} s (${row.numpy!.gflops.toFixed(0)} GFLOP/s)`));
  return row;
}

/**
 * The enc-dec cost matrices (float32, the matrices `suite` solves) of the first `pairs` adjacent
 * pairs of a suite of trained SAEs.
 */
async function learnedInstances(dir: string, pairs: number, o: BenchOptions): Promise<{ name: string; inst: CostMatrix }[]> {
  const { discoverSuite } = await import('../sae/discover.js');
  const { loadSae } = await import('../sae/load.js');
  const { layerFeatures } = await import('../sae/fold.js');
  const suite = await discoverSuite(dir, {});
  const out: { name: string; inst: CostMatrix }[] = [];
  let prev = suite.layers.length ? await layerFeatures(await loadSae(suite.layers[0]!.path)) : undefined;
  for (let k = 0; k + 1 < suite.layers.length && out.length < pairs; k++) {
    const next = await layerFeatures(await loadSae(suite.layers[k + 1]!.path));
    const c = await costMatrix(prev!, next);
    out.push({ name: `learned ${suite.layers[k]!.layer}->${suite.layers[k + 1]!.layer}`, inst: { data: c.data, nRows: prev!.rows, nCols: next.rows } });
    prev = next;
  }
  if (!out.length) throw new SaeMatchInputError(`--learned ${dir}: the suite has ${suite.layers.length} layer(s), no adjacent pair to benchmark`);
  o.log(`  learned suite ${suite.root}: ${out.length} adjacent pair(s) of ${suite.layers.length} layers`);
  return out;
}

export async function runBench(o: BenchOptions) {
  const dir = await mkdtemp(join(tmpdir(), 'sae-match-bench-'));
  try {
    const solve: SolveBenchRow[] = [];
    for (const family of o.families)
      for (const n of o.sizes) solve.push(await benchSolve(family, family, await makeInstance(family, n, { dtype: o.dtype, seed: o.seed }), o, dir));
    if (o.learned) for (const l of await learnedInstances(o.learned, o.learnedPairs ?? 1, o)) solve.push(await benchSolve('learned', l.name, l.inst, o, dir));
    const cost: CostBenchRow[] = [];
    for (const [nA, nB, k] of o.costShapes) cost.push(await benchCost(nA, nB, k, o));
    const disagreements = [
      ...solve.flatMap((r) => r.peers.filter((p) => p.agrees === false).map((p) => `${r.name} n=${r.n}: ${p.peer} total ${p.total} vs ${r.total}`)),
      ...solve.filter((r) => r.sparse && !r.sparse.agrees).map((r) => `${r.name} n=${r.n}: sparse method total ${r.sparse!.total} vs ${r.total}`),
    ];
    const certFailures = [
      ...solve.filter((r) => !r.certificate.ok).map((r) => `${r.name} n=${r.n}`),
      ...solve.filter((r) => r.sparse && !r.sparse.certificateOk).map((r) => `${r.name} n=${r.n} (sparse duals)`),
    ];
    return { date: new Date().toISOString(), solve, cost, disagreements, certFailures };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
