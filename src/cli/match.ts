// The matching commands of the CLI: ls, pair, suite. Each is a thin shell over the library
// (sae/discover.ts, match/pair.ts, match/suite.ts): parse, call, print — a table for people, one JSON object
// on stdout with --json, a progress bar on stderr when it is a terminal.
import { Command, Option } from 'commander';
import { SaeMatchInputError } from '../errors.js';
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


async function discoverOptions(o: { width?: string; l0?: string; layers?: string; site?: string; affine?: boolean; revision?: string }): Promise<DiscoverOptions> {
  const { parseL0, parseLayerSelection } = await import('../sae/discover.js');
  return {
    width: o.width,
    l0: o.l0 === undefined ? 'canonical' : await parseL0(o.l0),
    ...(o.layers === undefined ? {} : parseLayerSelection(o.layers)),
    ...(o.site !== undefined ? { site: o.site } : {}),
    ...(o.affine ? { affine: true } : {}),
    ...(o.revision !== undefined ? { revision: o.revision } : {}),
  };
}

/** The options that choose a suite's SAEs, shared by ls and suite. */
function suiteChoiceOptions(c: Command): Command {
  return c
    .option('--width <w>', 'width, when the suite has several (Gemma Scope 16k, 65k, …; Gemma Scope 2 16k, 262k; Llama Scope 8x, 32x)')
    .option('--l0 <choice>', "'canonical' (L0 closest to 100), small|medium|big (Gemma Scope 2), a number, or a map file (JSON {layer: l0} or 'layer l0' lines)")
    .option('--layers <a-b|list>', 'an inclusive layer range (3-7) or a list (0,2,4 or 0-3,8)')
    .option('--site <s>', 'the site, when the suite has several (Gemma Scope 2 resid_post, mlp_out, transcoder_all, …; Llama Scope R, A, M, TC; a SAELens hook)')
    .option('--affine', 'Gemma Scope 2: the _affine skip transcoders instead of the plain ones')
    .option('--revision <rev>', 'a Hugging Face Hub cache folder: this branch, tag or snapshot hash instead of refs/main');
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
  const sides = p.from_label ? `${p.from_label} → ${p.to_label}` : `layer ${p.from} → ${p.to}`;
  return `${sides}  ${p.n_from}×${p.n_to}  total ${fmt(p.total_cost)}  mean ${fmt(p.mean_cost)}  median ${fmt(p.median_cost)}` +
    `${p.unassigned ? `  unassigned ${p.unassigned}` : ''}  optimal (max dual violation ${p.certificate.max_violation.toExponential(1)}${pricing(p)})  ${steps}`;
}

async function lsCommand(root: string, o: { width?: string; l0?: string; layers?: string; site?: string; affine?: boolean; revision?: string; json?: boolean }) {
  const { discoverSuite } = await import('../sae/discover.js');
  const { describeSae } = await import('../sae/load.js');
  const suite = await discoverSuite(root, await discoverOptions(o));
  // What each chosen SAE is, from its config and file header (no weights read).
  const described = await Promise.all(suite.layers.map((l) => describeSae(l.path).then(
    (d) => ({ architecture: d.architecture, kind: d.kind, dtype: d.meta.dtype, d_sae: d.dSae, hook: d.meta.hook }),
    (e: Error) => ({ error: e.message }))));
  if (o.json) return console.log(JSON.stringify({ ...suite, layers: suite.layers.map((l, i) => ({ ...l, ...described[i] })) }));
  const avail = (x: string | undefined, all: string[] | undefined, what: string) => (x ? `, ${what} ${x}${all && all.length > 1 ? ` (available: ${all.join(', ')})` : ''}` : '');
  if (suite.hub) console.log(`Hub cache ${suite.hub.repoId}, snapshot ${suite.hub.revision} (${suite.hub.rule})${suite.hub.incomplete.length ? ': PARTIAL' : ''}`);
  for (const note of suite.hub?.incomplete ?? []) console.log(`  missing: ${note}`);
  console.log(`${suite.root}: ${suite.layout} layout, ${suite.layers.length} layers${avail(suite.site, suite.sitesAvailable, 'site')}${avail(suite.width, suite.widthsAvailable, 'width')}`);
  if (suite.missingLayers?.length) console.log(`  no SAE for layer${suite.missingLayers.length > 1 ? 's' : ''} ${suite.missingLayers.join(', ')}: those pairs join the layers on either side`);
  suite.layers.forEach((l, i) => {
    const d = described[i]!;
    const l0s = l.l0Labels
      ? `  L0 ${l.l0Labels.map((k, j) => { const t = `${k}${l.l0Available ? `=${l.l0Available[j]}` : ''}`; return k === l.l0Label ? `[${t}]` : t; }).join(' ')} (${l.l0Rule})`
      : l.l0Available ? `  L0 ${l.l0Available.map((k) => (k === l.l0 ? `[${k}]` : String(k))).join(' ')} (${l.l0Rule})` : '';
    const what = 'error' in d ? `  unreadable: ${d.error}` : `  ${d.architecture}${d.kind !== 'sae' ? ` ${d.kind}` : ''}${d.dtype ? ` ${d.dtype}` : ''}${d.d_sae ? ` d_sae ${d.d_sae}` : ''}`;
    const where = [l.site && `site ${l.site}`, l.width && `width ${l.width}`].filter(Boolean).join(' ');
    console.log(`  layer ${String(l.layer).padStart(3)}  ${l.rel}  ${l.format}${where ? `  ${where}` : ''}${what}${l0s}`);
  });
}

async function suiteCommand(root: string, o: Record<string, any>) {
  const bar = o.json ? { update: () => undefined, end: () => undefined } : progressBar(process.stderr, 'suite ');
  const { matchSuite } = await import('../match/suite.js');
  const shard = o.shard === undefined ? undefined : (await import('../match/shard.js')).parseShard(o.shard);
  if (shard) process.stderr.write(`sae-match: ${shard.source}\n`);
  const r = await matchSuite(root, {
    ...(await discoverOptions(o)), out: o.out, metric: o.metric, biasWeight: o.biasWeight, fold: o.fold, shard,
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
    ...(shard ? { shard: { index: shard.index, count: shard.count, source: shard.source, assigned: r.assigned } } : {}),
    peak_rss_bytes: peakRssBytes(), layers: r.manifest.layers, pairs: r.manifest.pairs,
  };
  if (o.json) return console.log(JSON.stringify(summary));
  console.log(`${r.computed} pairs matched, ${r.skipped} already done${shard ? ` (shard ${shard.index}/${shard.count}: ${r.assigned.length} of the suite's pairs)` : ''}, in ${r.seconds.toFixed(1)} s on ${r.backend} (${r.backendReason})`);
  console.log(`results: ${summary.out}/manifest.json, perm_{l}_{l+1}.npy, cost_{l}_{l+1}.npy`);
}

/**
 * How `pair` records its two SAEs: layer numbers from their configs or folder names (hook blocks.{L}.…,
 * layer_{L}, layers.{L}, Llama Scope's L{L}) when both have one and they differ, else 0 and 1, or
 * --from/--to. Two SAEs of one layer and two widths (feature splitting across widths) keep that
 * layer on both sides, and their files are named by layer and width (perm_12w16k_12w65k.npy), so
 * several such pairs share an output folder without colliding.
 */
async function pairSides(a: string, b: string, o: Record<string, any>): Promise<{ from: number; to: number; labels?: [string, string] }> {
  const { describeSae } = await import('../sae/load.js');
  const { widthFeatures, widthLabelOf } = await import('../sae/discover.js');
  const { sideLabel } = await import('../match/contract.js');
  const about = async (p: string) => {
    const d = await describeSae(p).catch(() => undefined);
    const width = d?.dSae ?? widthFeatures(d?.meta.width);
    return { layer: d?.meta.layer ?? /layer_(\d+)/.exec(resolve(p))?.[1], width, label: width === undefined ? undefined : widthLabelOf(width) };
  };
  const [A, B] = await Promise.all([about(a), about(b)]);
  const twoWidths = A.width !== undefined && B.width !== undefined && A.width !== B.width;
  const labelled = (l: number) => ({ from: l, to: l, labels: [sideLabel(l, A.label!), sideLabel(l, B.label!)] as [string, string] });
  if (o.from !== undefined || o.to !== undefined) {
    const [from, to] = [o.from ?? 0, o.to ?? (o.from ?? 0) + 1];
    if (from !== to) return { from, to };
    if (twoWidths) return labelled(from);
    throw new SaeMatchInputError(`--from and --to are both ${from}; the pair is recorded as from_to and needs two layer numbers (or two SAEs of different widths)`);
  }
  const [la, lb] = [A.layer, B.layer].map((l) => (l === undefined ? undefined : Number(l)));
  if (la !== undefined && lb !== undefined && la !== lb) return { from: la, to: lb };
  if (la !== undefined && la === lb && twoWidths) return labelled(la);
  return { from: 0, to: 1 };
}

async function pairCommand(a: string, b: string, o: Record<string, any>) {
  const { from, to, labels } = await pairSides(a, b, o);
  const bar = o.json ? undefined : progressBar(process.stderr, 'pair ');
  const { matchPairToFolder } = await import('../match/pair.js');
  const { out, entry, skipped } = await matchPairToFolder(a, b, {
    out: o.out, from, to, labels, force: o.force, metric: o.metric, biasWeight: o.biasWeight, fold: o.fold, device: o.device, engine: o.engine, signal: interrupt,
    method: o.method, candidates: o.candidates, duals: o.duals, topk: o.topk,
    onProgress: bar?.update,
  });
  bar?.end();
  if (o.json) return console.log(JSON.stringify({ out, skipped, peak_rss_bytes: peakRssBytes(), ...entry }));
  console.log(pairLine(entry, skipped));
  if (!skipped) console.log(`  load ${fmt(entry.timings.load ?? 0, 2)} s, fold ${fmt(entry.timings.features ?? 0, 2)} s; peak memory ${(peakRssBytes() / 2 ** 20).toFixed(0)} MiB`);
  console.log(`results: ${out}/manifest.json, ${entry.perm}, ${entry.costs}`);
}

export const shardOption = () => new Option('--shard <K/N|auto|auto/N>', 'only shard K (0 <= K < N) of the pairs, balanced by cost; auto: from the Slurm array (SLURM_ARRAY_TASK_ID …), auto/N: from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)');
export const metricOption = () => new Option('--metric <m>', 'feature comparison').choices([...METRICS]).default('enc-dec');
export const deviceOption = () => new Option('--device <d>', 'where to compute').choices([...DEVICES]).default('auto' as DeviceChoice);
export const methodOption = () => new Option('--method <m>', 'dense: the whole cost matrix; sparse: streamed candidates, priced over all pairs; auto: dense while it fits and is the faster').choices([...METHODS]).default('auto' as MethodChoice);
export const candidatesOption = () => new Option('--candidates <k>', 'the sparse method\'s candidates per column (twice as many per row)').argParser(int(1)).default(DEFAULT_CANDIDATES);
const topkOption = () => new Option('--topk <k>', 'also write each feature\'s k lowest-cost candidates, many-to-one (topk_idx/topk_cost_{l}_{l+1}.npy)').argParser(int(1));
const dualsOption = () => new Option('--duals', 'also write the certificate\'s duals u_{l}_{l+1}.npy, v_{l}_{l+1}.npy (float64): re-verify optimality yourself');
const biasOption = () => new Option('--bias-weight <w>', 'add w·b_enc′ as one more coordinate (0 = off)').argParser(nonNegative).default(0);

export function registerMatchCommands(program: Command): void {
  suiteChoiceOptions(program.command('ls')
    .description('list the SAEs of a suite, what each is (layout, site, width, L0, architecture, dtype) and which one each layer would use')
    .argument('<root>', 'suite root: Gemma Scope, Gemma Scope 2 (repo or site folder), SAELens, sparsify run, Llama Scope, npy folders, or a Hub cache folder models--org--name'))
    .option('--json', 'print JSON')
    .action(lsCommand);

  program.command('pair')
    .description('match the features of two SAEs (paths to params.npz or SAE folders)')
    .argument('<saeA>', 'SAE of layer l (or of a layer\'s one width)')
    .argument('<saeB>', 'SAE of layer l+1 (or of the same layer at another width: perm_{l}w{width}_{l}w{width}.npy)')
    .requiredOption('--out <dir>', 'output folder (manifest.json, perm_{l}_{l+1}.npy, cost_{l}_{l+1}.npy)')
    .addOption(new Option('--from <L>', "layer number of saeA (default: from its config or path, else 0)").argParser(int(0)))
    .addOption(new Option('--to <L>', "layer number of saeB (default: from its config or path, else from + 1)").argParser(int(0)))
    .addOption(metricOption())
    .addOption(biasOption())
    .option('--no-fold', 'compare unfolded parameters (the paper always folds)')
    .addOption(deviceOption())
    .addOption(methodOption())
    .addOption(candidatesOption())
    .addOption(dualsOption())
    .addOption(topkOption())
    .addOption(engineOption())
    .option('--force', 'recompute even if the output folder has this pair with the same settings')
    .option('--json', 'print one JSON summary on stdout')
    .action(pairCommand);

  suiteChoiceOptions(program.command('suite')
    .description('match every adjacent pair of layers of a suite; reruns skip finished pairs')
    .argument('<root>', 'suite root (as for ls)')
    .requiredOption('--out <dir>', 'output folder'))
    .addOption(metricOption())
    .addOption(biasOption())
    .option('--no-fold', 'compare unfolded parameters')
    .addOption(deviceOption())
    .addOption(methodOption())
    .addOption(candidatesOption())
    .addOption(dualsOption())
    .addOption(engineOption())
    .addOption(topkOption())
    .option('--force', 'recompute every pair')
    .addOption(shardOption())
    .option('--json', 'print one JSON summary on stdout')
    .action(suiteCommand);


}
