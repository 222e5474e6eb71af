// The CLI's `solve` command: the exact linear assignment of a cost matrix given as .npy, with its
// dual certificate; the low-level entry point for benchmarking LAP solvers from the shell.
import type { Command } from 'commander';
import { SaeMatchInputError } from '../errors.js';
import { exactFloats } from '../io/convert.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { checkCertificate, solveAssignment } from '../solve/lap.js';
import type { EngineOptions } from '../solve/engine.js';
import { engineOption } from './args.js';
import { peakRssBytes } from './proc.js';
import { interrupt } from './signals.js';

async function solveCommand(file: string, opts: { maximize?: boolean; out?: string; json?: boolean; certificate: boolean; engine?: EngineOptions }) {
  // Any numeric matrix numpy writes, as scipy's linear_sum_assignment takes it, converted exactly.
  const arr = await readNpy(file, { expectRank: 2 });
  const [nRows, nCols] = arr.shape as [number, number];
  const cost = { data: await exactFloats(arr, file), nRows, nCols };
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

export function registerSolveCommands(program: Command): void {
  program.command('solve')
  .description('solve the linear assignment problem of a 2-D float32/float64 .npy cost matrix')
  .argument('<cost.npy>', 'cost matrix: any float, integer or bool dtype (+inf = forbidden pair; -inf when --maximize)')
  .option('--maximize', 'maximise the total instead of minimising it')
  .option('--out <assignment.npy>', 'write the int32 row -> column assignment (-1 = unassigned)')
  .option('--json', 'print one JSON summary on stdout')
  .option('--no-certificate', 'skip the dual optimality check')
  .addOption(engineOption())
  .action(solveCommand);
}
