#!/usr/bin/env node
// The `sae-match` command line. Exit codes: 0 ok, 2 bad input, 1 internal failure.
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBench } from '../tools/bench.js';
import { SaeMatchInputError } from '../errors.js';
import { FAMILIES, type Family } from '../tools/instances.js';
import { checkCertificate, solveAssignment } from '../solve/lap.js';
import { nativeInfo, packageRoot } from '../binding/addon.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { peakRssBytes } from './proc.js';
import { registerMatchCommands } from './match.js';
import { registerAnalysisCommands } from './analysis.js';
import { registerEvalCommands } from './eval.js';
import { registerReportCommands } from './report.js';

const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

function positiveInts(value: string): number[] {
  const xs = value.split(',').map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isInteger(x) || x <= 0)) throw new InvalidArgumentError('expected positive integers, comma-separated');
  return xs;
}

function families(value: string): Family[] {
  const xs = value.split(',').map((s) => s.trim());
  const bad = xs.filter((x) => !(FAMILIES as readonly string[]).includes(x));
  if (bad.length) throw new InvalidArgumentError(`unknown family ${bad.join(', ')} (one of ${FAMILIES.join(', ')})`);
  return xs as Family[];
}

function costShapes(value: string): [number, number, number][] {
  if (value === 'none') return [];
  return value.split(',').map((s) => {
    const m = /^(\d+)x(\d+)x(\d+)$/.exec(s.trim());
    if (!m) throw new InvalidArgumentError(`expected NAxNBxK (e.g. 4096x4096x4608) or 'none', got '${s}'`);
    return [Number(m[1]), Number(m[2]), Number(m[3])];
  });
}

async function solveCommand(file: string, opts: { maximize?: boolean; out?: string; json?: boolean; certificate: boolean }) {
  const arr = await readNpy(file, { expectRank: 2, expectDtype: ['float32', 'float64'] });
  const [nRows, nCols] = arr.shape as [number, number];
  const cost = { data: arr.data as Float32Array | Float64Array, nRows, nCols };
  const sol = await solveAssignment(cost, { maximize: opts.maximize }).catch((e: Error) => {
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

function infoCommand(opts: { json?: boolean }) {
  const i = nativeInfo();
  if (opts.json) return console.log(JSON.stringify({ version, ...i }));
  console.log(`sae-match ${version}`);
  console.log(`addon        ${i.addonPath}`);
  console.log(`build        ${i.buildSystem ?? 'unknown'}${i.avx2 ? ', AVX2 kernels' : ', portable kernels (no AVX2 on this CPU)'}`);
  console.log(`BLAS         ${i.haveBlas ? i.blas : 'none (built-in GEMM kernel)'}`);
  console.log(`threads      ${i.threads}`);
  if (!i.cuda.compiled) console.log(`CUDA         not used: ${i.cuda.error}`);
  else if (i.cuda.devices.length === 0) console.log(`CUDA         compiled (runtime ${i.cuda.runtimeVersion}), no usable device: ${i.cuda.error}`);
  else
    for (const d of i.cuda.devices)
      console.log(`CUDA         device ${d.index}: ${d.name}, compute ${d.computeCapability}, ${(d.totalMemory / 2 ** 30).toFixed(1)} GiB, ${d.multiprocessors} SMs (runtime ${i.cuda.runtimeVersion}, driver ${i.cuda.driverVersion})`);
}

async function benchCommand(o: Record<string, any>) {
  const log = o.json ? (s: string) => process.stderr.write(s + '\n') : (s: string) => console.log(s);
  const result = await runBench({
    families: o.family, sizes: o.n, repeat: o.repeat, dtype: o.dtype === 'f64' ? 'float64' : 'float32', seed: o.seed,
    scipy: o.scipy, scipyMaxN: o.scipyMaxN, munkres: o.munkres, munkresMaxN: 4096, munkresTimeoutSeconds: o.munkresTimeout,
    memory: o.memory, costShapes: o.cost, log,
  });
  if (o.json) console.log(JSON.stringify(result));
  for (const d of result.disagreements) log(`DISAGREEMENT: ${d}`);
  for (const c of result.certFailures) log(`CERTIFICATE FAILED: ${c}`);
  if (result.disagreements.length || result.certFailures.length) process.exitCode = 1;
}

const program = new Command()
  .name('sae-match')
  .description('Exact SAE Match: align sparse-autoencoder features across layers')
  .version(version);

program.command('solve')
  .description('solve the linear assignment problem of a 2-D float32/float64 .npy cost matrix')
  .argument('<cost.npy>', 'cost matrix (+inf = forbidden pair; -inf when --maximize)')
  .option('--maximize', 'maximise the total instead of minimising it')
  .option('--out <assignment.npy>', 'write the int32 row -> column assignment (-1 = unassigned)')
  .option('--json', 'print one JSON summary on stdout')
  .option('--no-certificate', 'skip the dual optimality check')
  .action(solveCommand);

program.command('bench')
  .description('benchmark the solver and the cost kernel against scipy, munkres and numpy in the same run')
  .addOption(new Option('--family <list>', `instance families (${FAMILIES.join(',')})`).argParser(families).default([...FAMILIES]))
  .addOption(new Option('--n <list>', 'sizes, comma-separated').argParser(positiveInts).default([1024]))
  .addOption(new Option('--repeat <k>', 'runs of our solver per instance (median)').argParser((v) => positiveInts(v)[0]!).default(1))
  .addOption(new Option('--dtype <t>', 'cost dtype').choices(['f32', 'f64']).default('f32'))
  .addOption(new Option('--seed <s>', 'instance seed').argParser((v) => positiveInts(v)[0]!).default(1))
  .option('--no-scipy', 'do not run scipy')
  .addOption(new Option('--scipy-max-n <n>', 'skip scipy above this size').argParser((v) => positiveInts(v)[0]!).default(8192))
  .option('--no-munkres', 'do not run the munkres npm package')
  .addOption(new Option('--munkres-timeout <s>', 'stop munkres after this many seconds').argParser((v) => positiveInts(v)[0]!).default(600))
  .option('--memory', 'also solve in a child process and report its peak resident memory')
  .addOption(new Option('--cost <shapes>', "cost-matrix shapes NAxNBxK, comma-separated, or 'none'").argParser(costShapes).default([]))
  .option('--json', 'print the results as one JSON object on stdout (progress on stderr)')
  .action(benchCommand);

registerMatchCommands(program);
registerAnalysisCommands(program);
registerEvalCommands(program);
registerReportCommands(program);

program.command('info')
  .description('addon path, build flags, BLAS, threads, CUDA device or why there is none')
  .option('--json', 'print JSON')
  .action(infoCommand);

program.parseAsync().catch((e: Error & { exitCode?: number }) => {
  process.stderr.write(`sae-match: ${e.message}\n`);
  process.exitCode = e instanceof SaeMatchInputError ? 2 : e.name === 'AbortError' ? 130 : 1;
});
