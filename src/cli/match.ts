// The suite commands of the CLI: ls, pair, suite, synth, demo. Each is a thin shell over the library
// (suite.ts, match.ts, synth.ts, demo.ts): parse, call, print — a table for people, one JSON object
// on stdout with --json, a progress bar on stderr when it is a terminal.
import { Command, Option } from 'commander';
import { intAtLeast as int, nonNegative } from './args.js';
import { resolve } from 'node:path';
import { DEVICES, type DeviceChoice } from '../solve/backend.js';
import { DEMO_DEFAULTS, runDemo } from '../tools/demo.js';
import { METRICS, type MatchMetric } from '../sae/fold.js';
import { manifestPair, matchPair, matchSuite, type PairResult } from '../match/match.js';
import {
  fileIdentity, pairIsDone, prepareOutDir, readManifest, settingsKey, toolVersion,
  writeManifest, writePairFiles, type Manifest, type ManifestPair,
} from '../match/contract.js';
import { peakRssBytes } from './proc.js';
import { progressBar } from '../progress.js';
import { detectSaeFormat } from '../sae/load.js';
import { discoverSuite, parseL0, parseLayers, type DiscoverOptions } from '../sae/discover.js';
import { writeSynthSuite } from '../tools/synth.js';


async function discoverOptions(o: { width?: string; l0?: string; layers?: string }): Promise<DiscoverOptions> {
  return {
    width: o.width,
    l0: o.l0 === undefined ? 'canonical' : await parseL0(o.l0),
    layers: o.layers === undefined ? undefined : parseLayers(o.layers),
  };
}

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toFixed(d)) : String(x));

function pairLine(p: ManifestPair, skipped: boolean): string {
  const t = p.timings;
  const steps = skipped ? 'already done' : `${p.seconds.toFixed(2)} s (cost ${fmt(t.cost ?? 0, 2)}, solve ${fmt(t.solve ?? 0, 2)}, check ${fmt(t.certificate ?? 0, 2)})`;
  return `layer ${p.from} → ${p.to}  ${p.n_from}×${p.n_to}  total ${fmt(p.total_cost)}  mean ${fmt(p.mean_cost)}  median ${fmt(p.median_cost)}` +
    `${p.unassigned ? `  unassigned ${p.unassigned}` : ''}  optimal (max dual violation ${p.certificate.max_violation.toExponential(1)})  ${steps}`;
}

async function lsCommand(root: string, o: { width?: string; l0?: string; layers?: string; json?: boolean }) {
  const suite = await discoverSuite(root, await discoverOptions(o));
  if (o.json) return console.log(JSON.stringify(suite));
  console.log(`${suite.root}: ${suite.layout} layout, ${suite.layers.length} layers${suite.width ? `, width ${suite.width} (available: ${suite.widthsAvailable!.join(', ')})` : ''}`);
  for (const l of suite.layers) {
    const l0s = l.l0Available ? `  L0 ${l.l0Available.map((k) => (k === l.l0 ? `[${k}]` : String(k))).join(' ')} (${l.l0Rule})` : '';
    console.log(`  layer ${String(l.layer).padStart(3)}  ${l.rel}${l0s}`);
  }
}

async function suiteCommand(root: string, o: Record<string, any>) {
  const bar = o.json ? { update: () => undefined, end: () => undefined } : progressBar(process.stderr, 'suite ');
  const r = await matchSuite(root, {
    ...(await discoverOptions(o)), out: o.out, metric: o.metric, biasWeight: o.biasWeight, fold: o.fold,
    device: o.device, force: o.force, topk: o.topk, onProgress: bar.update,
    onPair: (p, skipped) => {
      if (o.json) return;
      bar.end();
      console.log(pairLine(p, skipped));
    },
  });
  bar.end();
  const summary = {
    out: resolve(o.out), source_root: r.manifest.source_root, metric: r.manifest.metric, backend: r.backend,
    backend_reason: r.backendReason, computed: r.computed, skipped: r.skipped, seconds: r.seconds,
    peak_rss_bytes: peakRssBytes(), layers: r.manifest.layers, pairs: r.manifest.pairs,
  };
  if (o.json) return console.log(JSON.stringify(summary));
  console.log(`${r.computed} pairs matched, ${r.skipped} already done, in ${r.seconds.toFixed(1)} s on ${r.backend} (${r.backendReason})`);
  console.log(`results: ${summary.out}/manifest.json, perm_{l}_{l+1}.npy, cost_{l}_{l+1}.npy`);
}

/** Layer numbers for the two SAEs of `pair`: from their paths (layer_{L}) when both have one, else 0 and 1. */
function pairLayers(a: string, b: string): [number, number] {
  const la = /layer_(\d+)/.exec(resolve(a))?.[1], lb = /layer_(\d+)/.exec(resolve(b))?.[1];
  return la !== undefined && lb !== undefined && la !== lb ? [Number(la), Number(lb)] : [0, 1];
}

async function pairCommand(a: string, b: string, o: Record<string, any>) {
  const out = resolve(o.out);
  await prepareOutDir(out);
  const [from, to] = pairLayers(a, b);
  const [fa, fb] = await Promise.all([detectSaeFormat(resolve(a)), detectSaeFormat(resolve(b))]);
  const metric: MatchMetric = o.metric;
  const key = settingsKey({
    metric, biasWeight: o.biasWeight, fold: metric === 'cosine-dec' ? false : o.fold,
    from: await fileIdentity([fa.file]), to: await fileIdentity([fb.file]),
  });
  const previous = o.force ? undefined : await readManifest(out);
  const old = previous?.pairs.find((p) => p.from === from && p.to === to);
  let entry: ManifestPair;
  let skipped = false;
  if (await pairIsDone(out, old, key)) {
    entry = old!;
    skipped = true;
  } else {
    const bar = o.json ? undefined : progressBar(process.stderr, 'pair ');
    bar?.update({ done: 0, total: 1, what: 'load, fold, cost, solve' });
    const r: PairResult = await matchPair(a, b, { metric, biasWeight: o.biasWeight, fold: o.fold, device: o.device });
    bar?.end();
    await writePairFiles(out, from, to, r.perm, r.costs);
    entry = manifestPair(r, from, to, key, fa.file, fb.file);
    const manifest: Manifest = {
      tool: 'sae-match', version: toolVersion, source_root: '', metric, bias_weight: o.biasWeight,
      fold: metric === 'cosine-dec' ? false : o.fold,
      layers: [{ layer: from, sae: fa.file, format: fa.format }, { layer: to, sae: fb.file, format: fb.format }],
      pairs: [entry], updated: '',
    };
    await writeManifest(out, manifest);
  }
  if (o.json) return console.log(JSON.stringify({ out, skipped, peak_rss_bytes: peakRssBytes(), ...entry }));
  console.log(pairLine(entry, skipped));
  if (!skipped) console.log(`  load ${fmt(entry.timings.load ?? 0, 2)} s, fold ${fmt(entry.timings.features ?? 0, 2)} s; peak memory ${(peakRssBytes() / 2 ** 20).toFixed(0)} MiB`);
  console.log(`results: ${out}/manifest.json, ${entry.perm}, ${entry.costs}`);
}

async function synthCommand(dir: string, o: Record<string, any>) {
  const bar = o.json ? { update: () => undefined, end: () => undefined } : progressBar(process.stderr, 'synth ');
  const s = await writeSynthSuite(dir, {
    layers: o.layers, width: o.width, dModel: o.dModel, format: o.format, dtype: o.dtype, seed: o.seed,
    l0Variants: o.l0Variants, acts: o.acts, onProgress: (done, total, what) => bar.update({ done, total, what }),
  });
  bar.end();
  if (o.json) return console.log(JSON.stringify(s));
  console.log(`${s.root}: ${s.format} suite, ${s.layers} layers × ${s.width} features, d_model ${s.dModel}, seed ${s.seed}, in ${s.seconds.toFixed(1)} s`);
  for (const p of s.pairs) console.log(`  ${p.from} → ${p.to}: ${p.persisted} persist, ${p.split} split, ${p.died} die, ${p.born} born`);
  console.log(`planted truth: ${s.root}/truth/`);
}

async function demoCommand(o: Record<string, any>) {
  const bar = o.json ? { update: () => undefined, end: () => undefined } : progressBar(process.stderr, 'demo ');
  if (!o.json) console.log(`sae-match demo: a synthetic ${o.layers}-layer suite, ${o.width} features per layer, d_model ${o.dModel}, planted matches`);
  const r = await runDemo({ dir: o.dir, layers: o.layers, width: o.width, dModel: o.dModel, seed: o.seed, metric: o.metric, onProgress: bar.update });
  bar.end();
  if (o.json) return console.log(JSON.stringify({ root: r.root, suite: r.suite, out: r.out, seconds: r.seconds, backend: r.match.backend, pairs: r.pairs }));
  console.log(`suite written in ${r.synth.seconds.toFixed(1)} s: ${r.suite}`);
  console.log(`matched on ${r.match.backend} (${r.match.backendReason})`);
  console.log('pair      recovered planted matches   split parents → primary child   median cost: persisting / died   time');
  for (const p of r.pairs) {
    const pct = (100 * p.recovered) / Math.max(1, p.persisting);
    console.log(`${`${p.from} → ${p.to}`.padEnd(9)} ${`${p.recovered}/${p.persisting} (${pct.toFixed(1)}%)`.padEnd(27)} ` +
      `${`${p.splitRecovered}/${p.split}`.padEnd(31)} ${`${fmt(p.medianCostPersisting)} / ${fmt(p.medianCostDied)}`.padEnd(32)} ${p.seconds.toFixed(2)} s`);
  }
  console.log(`total ${r.seconds.toFixed(1)} s. Outputs left in ${r.root} (suite/, matches/manifest.json, matches/perm_*.npy, matches/cost_*.npy)`);
}

const metricOption = () => new Option('--metric <m>', 'feature comparison').choices([...METRICS]).default('enc-dec');
const deviceOption = () => new Option('--device <d>', 'where to compute').choices([...DEVICES]).default('auto' as DeviceChoice);
const biasOption = () => new Option('--bias-weight <w>', 'add w·b_enc′ as one more coordinate (0 = off)').argParser(nonNegative).default(0);

export function registerMatchCommands(program: Command): void {
  program.command('ls')
    .description('list the SAEs of a suite and which one each layer would use')
    .argument('<root>', 'suite root (Gemma Scope layer_{L}/width_{W}/average_l0_{K}/params.npz, or SAELens layer_{L}/)')
    .option('--width <w>', 'Gemma Scope width, e.g. 16k (needed when there are several)')
    .option('--l0 <choice>', "'canonical' (closest to 100), a number, or a map file (JSON {layer: l0} or 'layer l0' lines)")
    .option('--layers <a-b>', 'inclusive layer range')
    .option('--json', 'print JSON')
    .action(lsCommand);

  program.command('pair')
    .description('match the features of two SAEs (paths to params.npz or SAE folders)')
    .argument('<saeA>', 'SAE of layer l')
    .argument('<saeB>', 'SAE of layer l+1')
    .requiredOption('--out <dir>', 'output folder (manifest.json, perm_{l}_{l+1}.npy, cost_{l}_{l+1}.npy)')
    .addOption(metricOption())
    .addOption(biasOption())
    .option('--no-fold', 'compare unfolded parameters (the paper always folds)')
    .addOption(deviceOption())
    .option('--force', 'recompute even if the output folder has this pair with the same settings')
    .option('--json', 'print one JSON summary on stdout')
    .action(pairCommand);

  program.command('suite')
    .description('match every adjacent pair of layers of a suite; reruns skip finished pairs')
    .argument('<root>', 'suite root')
    .requiredOption('--out <dir>', 'output folder')
    .option('--width <w>', 'Gemma Scope width, e.g. 16k')
    .option('--l0 <choice>', "'canonical', a number, or a map file")
    .option('--layers <a-b>', 'inclusive layer range')
    .addOption(metricOption())
    .addOption(biasOption())
    .option('--no-fold', 'compare unfolded parameters')
    .addOption(deviceOption())
    .addOption(new Option('--topk <k>', 'also write each feature\'s k lowest-cost candidates (topk_idx/topk_cost_{l}_{l+1}.npy)').argParser(int(1)))
    .option('--force', 'recompute every pair')
    .option('--json', 'print one JSON summary on stdout')
    .action(suiteCommand);

  program.command('synth')
    .description('write a synthetic SAE suite with planted matches (and the truth in truth/)')
    .argument('<dir>', 'output folder')
    .requiredOption('--layers <L>', 'number of layers', int(1))
    .requiredOption('--width <N>', 'features per layer', int(1))
    .requiredOption('--d-model <D>', 'model width', int(1))
    .addOption(new Option('--format <f>', 'file layout').choices(['gemmascope', 'saelens', 'npy']).default('gemmascope'))
    .addOption(new Option('--dtype <t>', 'SAELens tensor dtype').choices(['f32', 'f16', 'bf16']).default('f32'))
    .addOption(new Option('--seed <s>', 'random seed').argParser(int(0)).default(0))
    .addOption(new Option('--l0-variants <k>', 'average_l0 folders per layer (Gemma Scope)').argParser(int(1)).default(3))
    .addOption(new Option('--acts <N>', 'also write acts/layer_{L}.npy: N rows of activations following the planted chains').argParser(int(2)))
    .option('--json', 'print the summary as JSON')
    .action(synthCommand);

  program.command('demo')
    .description('write a synthetic suite, match it, and score the matches against the planted truth')
    .option('--dir <dir>', 'where to leave the suite and the results (default: a new temp folder)')
    .addOption(new Option('--layers <L>', 'layers').argParser(int(2)).default(DEMO_DEFAULTS.layers))
    .addOption(new Option('--width <N>', 'features per layer').argParser(int(1)).default(DEMO_DEFAULTS.width))
    .addOption(new Option('--d-model <D>', 'model width').argParser(int(1)).default(DEMO_DEFAULTS.dModel))
    .addOption(new Option('--seed <s>', 'random seed').argParser(int(0)).default(DEMO_DEFAULTS.seed))
    .addOption(metricOption())
    .option('--json', 'print JSON')
    .action(demoCommand);
}
