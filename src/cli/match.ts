// The matching commands of the CLI: ls, pair, suite. Each is a thin shell over the library
// (sae/discover.ts, match/pair.ts, match/suite.ts): parse, call, print — a table for people, one JSON object
// on stdout with --json, a progress bar on stderr when it is a terminal.
import { Command, Option } from 'commander';
import { engineOption, intAtLeast as int, nonNegative } from './args.js';
import { resolve } from 'node:path';
import { DEVICES, type DeviceChoice } from '../solve/backend.js';
import { METRICS } from '../sae/fold.js';
import { METHODS, type MethodChoice } from '../solve/method.js';
import { DEFAULT_CANDIDATES } from '../solve/sparse.js';
import type { ManifestPair } from '../match/contract.js';
import { peakRssBytes } from './proc.js';
import { interrupt } from './signals.js';
import { progressBar } from '../progress.js';
import type { DiscoverOptions } from '../sae/discover.js';
// Command implementations are imported when the command runs, so a `solve` does not load the suite
// matcher, the evaluator and the report (startup time, BENCHMARKS.md).


async function discoverOptions(o: { width?: string; l0?: string; layers?: string }): Promise<DiscoverOptions> {
  const { parseL0, parseLayers } = await import('../sae/discover.js');
  return {
    width: o.width,
    l0: o.l0 === undefined ? 'canonical' : await parseL0(o.l0),
    layers: o.layers === undefined ? undefined : parseLayers(o.layers),
  };
}

const fmt = (x: number, d = 4) => (Number.isFinite(x) ? (Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toFixed(d)) : String(x));

/** The sparse method's certificate in words: how the n^2 pairs were proven. */
function pricing(p: ManifestPair): string {
  const c = p.certificate;
  if (p.method !== 'sparse' || c.pairs === undefined) return '';
  const pct = (x = 0) => `${((100 * x) / c.pairs!).toFixed(x && x < c.pairs! / 1000 ? 3 : 1)}%`;
  return `; sparse k=${p.candidates}: all ${c.pairs} pairs proven — ${pct(c.in_graph)} candidates, ${pct((c.proven_by_row_bound ?? 0) + (c.proven_by_column_bound ?? 0))} by bounds, ${pct(c.evaluated)} evaluated, ${c.pricing_rounds} pricing round${c.pricing_rounds === 1 ? '' : 's'}`;
}

function pairLine(p: ManifestPair, skipped: boolean): string {
  const t = p.timings;
  const steps = skipped ? 'already done' : `${p.seconds.toFixed(2)} s (cost ${fmt(t.cost ?? 0, 2)}, solve ${fmt(t.solve ?? 0, 2)}, check ${fmt(t.certificate ?? 0, 2)})`;
  return `layer ${p.from} → ${p.to}  ${p.n_from}×${p.n_to}  total ${fmt(p.total_cost)}  mean ${fmt(p.mean_cost)}  median ${fmt(p.median_cost)}` +
    `${p.unassigned ? `  unassigned ${p.unassigned}` : ''}  optimal (max dual violation ${p.certificate.max_violation.toExponential(1)}${pricing(p)})  ${steps}`;
}

async function lsCommand(root: string, o: { width?: string; l0?: string; layers?: string; json?: boolean }) {
  const { discoverSuite } = await import('../sae/discover.js');
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
  const { matchSuite } = await import('../match/suite.js');
  const r = await matchSuite(root, {
    ...(await discoverOptions(o)), out: o.out, metric: o.metric, biasWeight: o.biasWeight, fold: o.fold,
    device: o.device, engine: o.engine, force: o.force, topk: o.topk, onProgress: bar.update, signal: interrupt,
    method: o.method, candidates: o.candidates, duals: o.duals,
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
  const [from, to] = pairLayers(a, b);
  const bar = o.json ? undefined : progressBar(process.stderr, 'pair ');
  const { matchPairToFolder } = await import('../match/pair.js');
  const { out, entry, skipped } = await matchPairToFolder(a, b, {
    out: o.out, from, to, force: o.force, metric: o.metric, biasWeight: o.biasWeight, fold: o.fold, device: o.device, engine: o.engine, signal: interrupt,
    method: o.method, candidates: o.candidates, duals: o.duals,
    onProgress: bar?.update,
  });
  bar?.end();
  if (o.json) return console.log(JSON.stringify({ out, skipped, peak_rss_bytes: peakRssBytes(), ...entry }));
  console.log(pairLine(entry, skipped));
  if (!skipped) console.log(`  load ${fmt(entry.timings.load ?? 0, 2)} s, fold ${fmt(entry.timings.features ?? 0, 2)} s; peak memory ${(peakRssBytes() / 2 ** 20).toFixed(0)} MiB`);
  console.log(`results: ${out}/manifest.json, ${entry.perm}, ${entry.costs}`);
}

export const metricOption = () => new Option('--metric <m>', 'feature comparison').choices([...METRICS]).default('enc-dec');
const deviceOption = () => new Option('--device <d>', 'where to compute').choices([...DEVICES]).default('auto' as DeviceChoice);
const methodOption = () => new Option('--method <m>', 'dense: the whole cost matrix; sparse: streamed candidates, priced over all pairs; auto: dense while it fits and is the faster').choices([...METHODS]).default('auto' as MethodChoice);
const candidatesOption = () => new Option('--candidates <k>', 'the sparse method\'s candidates per row and per column').argParser(int(1)).default(DEFAULT_CANDIDATES);
const dualsOption = () => new Option('--duals', 'also write the certificate\'s duals u_{l}_{l+1}.npy, v_{l}_{l+1}.npy (float64): re-verify optimality yourself');
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
    .addOption(methodOption())
    .addOption(candidatesOption())
    .addOption(dualsOption())
    .addOption(engineOption())
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
    .addOption(methodOption())
    .addOption(candidatesOption())
    .addOption(dualsOption())
    .addOption(engineOption())
    .addOption(new Option('--topk <k>', 'also write each feature\'s k lowest-cost candidates (topk_idx/topk_cost_{l}_{l+1}.npy)').argParser(int(1)))
    .option('--force', 'recompute every pair')
    .option('--json', 'print one JSON summary on stdout')
    .action(suiteCommand);


}
