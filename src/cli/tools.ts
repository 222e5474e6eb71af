// The CLI's tooling commands: bench (our solver and cost kernel against scipy, munkres and numpy in
// the same run), synth (a synthetic suite with planted matches) and demo (synth, match, score).
import { Command, InvalidArgumentError, Option } from 'commander';
import { SaeMatchInputError } from '../errors.js';
import { intAtLeast as int } from './args.js';
import { candidatesOption, metricOption } from './match.js';
import { progressBar } from '../progress.js';
import { DEMO_DEFAULTS } from '../tools/demo-defaults.js';
import { FAMILIES, type Family } from '../tools/instances.js';
import { SYNTH_ARCHITECTURES, SYNTH_FORMATS } from '../tools/synth-formats.js';
// Command implementations are imported when the command runs, so a `solve` does not load the suite
// matcher, the evaluator and the report (startup time, BENCHMARKS.md).

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toFixed(d)) : String(x));

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

async function benchCommand(o: Record<string, any>) {
  const log = o.json ? (s: string) => process.stderr.write(s + '\n') : (s: string) => console.log(s);
  const { runBench } = await import('../tools/bench.js');
  const result = await runBench({
    families: o.family, sizes: o.n, repeat: o.repeat, dtype: o.dtype === 'f64' ? 'float64' : 'float32', seed: o.seed,
    scipy: o.scipy, scipyMaxN: o.scipyMaxN, munkres: o.munkres, munkresMaxN: 4096, munkresTimeoutSeconds: o.munkresTimeout,
    memory: o.memory, costShapes: o.cost, learned: o.learned, learnedPairs: o.learnedPairs, sparse: o.sparse, candidates: o.candidates, log,
  });
  if (o.json) console.log(JSON.stringify(result));
  for (const d of result.disagreements) log(`DISAGREEMENT: ${d}`);
  for (const c of result.certFailures) log(`CERTIFICATE FAILED: ${c}`);
  if (result.disagreements.length || result.certFailures.length) process.exitCode = 1;
}

/** --num-layers, or its old name --layers (a count here; a range in ls, suite and plan). */
function layerCount(o: Record<string, any>, fallback?: number): number {
  const n = o.numLayers ?? o.layers ?? fallback;
  if (n === undefined) throw new SaeMatchInputError("required option '--num-layers <L>' not specified");
  return n as number;
}

async function synthCommand(dir: string, o: Record<string, any>) {
  o.layers = layerCount(o);
  const bar = o.json ? { update: () => undefined, end: () => undefined } : progressBar(process.stderr, 'synth ');
  const { writeSynthSuite } = await import('../tools/synth.js');
  const s = await writeSynthSuite(dir, {
    layers: o.layers, width: o.width, dModel: o.dModel, format: o.format, architecture: o.architecture, dtype: o.dtype, seed: o.seed,
    l0Variants: o.l0Variants, acts: o.acts, onProgress: (done, total, what) => bar.update({ done, total, what }),
  });
  bar.end();
  if (o.json) return console.log(JSON.stringify(s));
  console.log(`${s.root}: ${s.format} suite of ${s.architecture} SAEs, ${s.layers} layers × ${s.width} features, d_model ${s.dModel}, seed ${s.seed}, in ${s.seconds.toFixed(1)} s`);
  for (const p of s.pairs) console.log(`  ${p.from} → ${p.to}: ${p.persisted} persist, ${p.split} split, ${p.died} die, ${p.born} born`);
  console.log(`planted truth: ${s.root}/truth/`);
}

async function demoCommand(o: Record<string, any>) {
  o.layers = layerCount(o, DEMO_DEFAULTS.layers);
  const bar = o.json ? { update: () => undefined, end: () => undefined } : progressBar(process.stderr, 'demo ');
  if (!o.json) console.log(`sae-match demo: a synthetic ${o.layers}-layer suite, ${o.width} features per layer, d_model ${o.dModel}, planted matches`);
  const { runDemo } = await import('../tools/demo.js');
  const r = await runDemo({ dir: o.dir, layers: o.layers, width: o.width, dModel: o.dModel, seed: o.seed, metric: o.metric, onProgress: bar.update });
  bar.end();
  if (o.json) return console.log(JSON.stringify({ root: r.root, suite: r.suite, out: r.out, seconds: r.seconds, backend: r.match.backend, pairs: r.pairs }));
  console.log(`suite written in ${r.synth.seconds.toFixed(1)} s: ${r.suite}`);
  console.log(`matched on ${r.match.backend} (${r.match.backendReason})`);
  console.log('pair      recovered planted matches   split parents → primary child   median cost: persisting / died   EV: SAE Match / own / no perm   time');
  for (const p of r.pairs) {
    const pct = (100 * p.recovered) / Math.max(1, p.persisting);
    const ev = p.ev ? `${p.ev.saeMatch.toFixed(3)} / ${p.ev.own.toFixed(3)} / ${p.ev.noPermutation === null ? '-' : p.ev.noPermutation.toFixed(3)}` : '-';
    console.log(`${`${p.from} → ${p.to}`.padEnd(9)} ${`${p.recovered}/${p.persisting} (${pct.toFixed(1)}%)`.padEnd(27)} ` +
      `${`${p.splitRecovered}/${p.split}`.padEnd(31)} ${`${fmt(p.medianCostPersisting)} / ${fmt(p.medianCostDied)}`.padEnd(32)} ${ev.padEnd(29)} ${p.seconds.toFixed(2)} s`);
  }
  console.log(`total ${r.seconds.toFixed(1)} s. Outputs left in ${r.root} (suite/, matches/manifest.json, matches/perm_*.npy, matches/cost_*.npy)`);
}

export function registerToolCommands(program: Command): void {
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
  .option('--learned <dir>', "a suite of trained SAEs: its adjacent pairs' enc-dec cost matrices join the instances (e.g. ../shared/learned-8k)")
  .addOption(new Option('--learned-pairs <k>', 'how many of its adjacent pairs').argParser((v) => positiveInts(v)[0]!).default(1))
  .option('--sparse', 'also run the sparse method on every float32 instance (exactness and the dense certificate checked)')
  .addOption(candidatesOption())
  .option('--json', 'print the results as one JSON object on stdout (progress on stderr)')
  .action(benchCommand);

  program.command('synth')
    .description('write a synthetic SAE suite with planted matches (and the truth in truth/)')
    .argument('<dir>', 'output folder')
    .addOption(new Option('--num-layers <L>', 'number of layers (required)').argParser(int(1)))
    .addOption(new Option('--layers <L>', 'the old name of --num-layers (elsewhere --layers is a range)').argParser(int(1)).hideHelp())
    .requiredOption('--width <N>', 'features per layer', int(1))
    .requiredOption('--d-model <D>', 'model width', int(1))
    .addOption(new Option('--format <f>', 'file layout').choices([...SYNTH_FORMATS]).default('gemmascope'))
    .addOption(new Option('--architecture <a>', 'SAELens architecture (sparsify is topk, the others jumprelu)').choices([...SYNTH_ARCHITECTURES]))
    .addOption(new Option('--dtype <t>', 'tensor dtype of the safetensors formats (llamascope: bf16 unless f16)').choices(['f32', 'f16', 'bf16']).default('f32'))
    .addOption(new Option('--seed <s>', 'random seed').argParser(int(0)).default(0))
    .addOption(new Option('--l0-variants <k>', 'SAEs of other L0s per layer (Gemma Scope average_l0 folders, Gemma Scope 2 small/medium/big)').argParser(int(1)).default(3))
    .addOption(new Option('--acts <N>', 'also write acts/layer_{L}.npy: N rows of activations following the planted chains').argParser(int(2)))
    .option('--json', 'print the summary as JSON')
    .action(synthCommand);

  program.command('demo')
    .description('write a synthetic suite, match it, and score the matches against the planted truth')
    .option('--dir <dir>', 'where to leave the suite and the results (default: a new temp folder)')
    .addOption(new Option('--num-layers <L>', 'number of layers').argParser(int(2)))
    .addOption(new Option('--layers <L>', 'the old name of --num-layers').argParser(int(2)).hideHelp())
    .addOption(new Option('--width <N>', 'features per layer').argParser(int(1)).default(DEMO_DEFAULTS.width))
    .addOption(new Option('--d-model <D>', 'model width').argParser(int(1)).default(DEMO_DEFAULTS.dModel))
    .addOption(new Option('--seed <s>', 'random seed').argParser(int(0)).default(DEMO_DEFAULTS.seed))
    .addOption(metricOption())
    .option('--json', 'print JSON')
    .action(demoCommand);
}
