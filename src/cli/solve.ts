// The CLI's `solve` command: the exact linear assignment of a cost matrix given as .npy, with its
// dual certificate; the low-level entry point for benchmarking LAP solvers from the shell.
import { Option, type Command } from 'commander';
import { SaeMatchInputError } from '../errors.js';
import { exactFloats } from '../io/convert.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { checkCertificate, solveAssignment } from '../solve/lap.js';
import type { EngineOptions } from '../solve/engine.js';
import { engineOption, intAtLeast as int } from './args.js';
import { DEFAULT_CANDIDATES, sparseSolve } from '../solve/sparse.js';
import { peakRssBytes } from './proc.js';
import { interrupt } from './signals.js';

async function solveCommand(file: string, opts: { maximize?: boolean; out?: string; json?: boolean; certificate: boolean; engine?: EngineOptions; method: 'dense' | 'sparse'; candidates: number }) {
  // Any numeric matrix numpy writes, as scipy's linear_sum_assignment takes it, converted exactly.
  const arr = await readNpy(file, { expectRank: 2 });
  const [nRows, nCols] = arr.shape as [number, number];
  const cost = { data: await exactFloats(arr, file), nRows, nCols };
  if (opts.method === 'sparse') return sparseSolveCommand(file, cost, arr.dtype, opts);
  const sol = await solveAssignment(cost, { maximize: opts.maximize, engine: opts.engine, signal: interrupt }).catch((e: Error) => {
    if (e instanceof SaeMatchInputError) throw new SaeMatchInputError(`${file}: ${e.message}`, { cause: e });
    throw e;
  });
  const cert = opts.certificate ? await checkCertificate(cost, sol, { maximize: opts.maximize }) : undefined;
  if (opts.out) await writeNpy(opts.out, { dtype: 'int32', shape: [nRows], data: sol.rowToCol });
  const summary = {
    file, nRows, nCols, dtype: arr.dtype, maximize: !!opts.maximize, totalCost: sol.totalCost, seconds: sol.seconds,
    certificate: cert && { ok: cert.ok, maxViolation: cert.maxViolation, tolerance: cert.tolerance, message: cert.message, seconds: cert.seconds },
    stats: sol.stats, out: opts.out ?? null, peakRssBytes: peakRssBytes(),
  };
  if (opts.json) console.log(JSON.stringify(summary));
  else {
    console.log(`${file}: ${nRows}x${nCols} ${arr.dtype}${opts.maximize ? ' (maximize)' : ''}`);
    console.log(`total cost   ${sol.totalCost}`);
    console.log(`time         ${sol.seconds.toFixed(3)} s (init ${sol.stats.secondsInit.toFixed(3)} s, ${sol.stats.augmentations} augmentations / ${sol.stats.dijkstraSteps} Dijkstra steps ${sol.stats.secondsAugment.toFixed(3)} s)`);
    if (cert) console.log(`certificate  ${cert.ok ? 'optimal' : 'FAILED'}: max violation ${cert.maxViolation.toExponential(2)} (tolerance ${cert.tolerance.toExponential(2)})${cert.message ? ` — ${cert.message}` : ''}`);
    if (opts.out) console.log(`assignment   ${opts.out} (int32 row -> column)`);
  }
  if (cert && !cert.ok) process.exitCode = 1;
}

/** `solve --method sparse`: the sparse method on the stored matrix, its certificate over all pairs. */
async function sparseSolveCommand(file: string, cost: { data: Float32Array | Float64Array; nRows: number; nCols: number }, dtype: string,
  opts: { maximize?: boolean; out?: string; json?: boolean; engine?: EngineOptions; candidates: number }) {
  if (opts.maximize) throw new SaeMatchInputError(`${file}: --method sparse minimises; use --method dense with --maximize`);
  const t0 = performance.now();
  const sp = await sparseSolve(cost, { candidates: opts.candidates, engine: opts.engine, signal: interrupt }).catch((e: Error) => {
    if (e instanceof SaeMatchInputError) throw new SaeMatchInputError(`${file}: ${e.message}`, { cause: e });
    throw e;
  });
  const seconds = (performance.now() - t0) / 1000;
  if (opts.out) await writeNpy(opts.out, { dtype: 'int32', shape: [cost.nRows], data: sp.rowToCol });
  const p = sp.pricing;
  const summary = {
    file, nRows: cost.nRows, nCols: cost.nCols, dtype, method: 'sparse', candidates: sp.candidates, totalCost: sp.totalCost, seconds,
    timings: sp.seconds, certificate: { ok: p.ok, maxViolation: p.maxViolation, tolerance: p.tolerance, pricing: p },
    out: opts.out ?? null, peakRssBytes: peakRssBytes(),
  };
  if (opts.json) return console.log(JSON.stringify(summary));
  console.log(`${file}: ${cost.nRows}x${cost.nCols} ${dtype}, sparse (k = ${sp.candidates})`);
  console.log(`total cost   ${sp.totalCost}`);
  console.log(`time         ${seconds.toFixed(3)} s (stream ${sp.seconds.stream.toFixed(3)}, solve ${sp.seconds.solve.toFixed(3)}, pricing ${sp.seconds.pricing.toFixed(3)})`);
  console.log(`certificate  optimal over all ${p.pairs} pairs: ${p.inGraph} in the graph, ${p.provenByRowBound + p.provenByColumnBound} by bounds, ${p.evaluated} evaluated; ${p.rounds} pricing rounds (max violation ${p.maxViolation.toExponential(2)})`);
  if (opts.out) console.log(`assignment   ${opts.out} (int32 row -> column)`);
}

export function registerSolveCommands(program: Command): void {
  program.command('solve')
  .description('solve the linear assignment problem of a 2-D float32/float64 .npy cost matrix')
  .argument('<cost.npy>', 'cost matrix: any float, integer or bool dtype (+inf = forbidden pair; -inf when --maximize)')
  .option('--maximize', 'maximise the total instead of minimising it')
  .option('--out <assignment.npy>', 'write the int32 row -> column assignment (-1 = unassigned)')
  .option('--json', 'print one JSON summary on stdout')
  .option('--no-certificate', 'skip the dual optimality check')
  .addOption(new Option('--method <m>', 'dense: Jonker-Volgenant on the whole matrix; sparse: the streamed candidates and pricing of the pair method, on this matrix (float32, finite, minimised)').choices(['dense', 'sparse']).default('dense'))
  .addOption(new Option('--candidates <k>', 'the sparse method\'s candidates per column (twice as many per row)').argParser(int(1)).default(DEFAULT_CANDIDATES))
  .addOption(engineOption())
  .action(solveCommand);
}
