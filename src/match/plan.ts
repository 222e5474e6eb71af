// A job plan: many suites (roots × widths × sites, each with its L0 choice, layers and metric) in one
// JSON file, so that one array job covers all of them. Every shard of `sae-match run` reads the same
// plan, lists every pair of every suite with its estimated cost, and takes its share (shard.ts); each
// suite writes into its own subfolder of the output folder.
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { SaeMatchInputError } from '../errors.js';
import { writeJson } from '../io/write.js';
import { discoverSuite, parseL0, parseLayerSelection, type DiscoverOptions } from '../sae/discover.js';
import { METRICS, type MatchMetric } from '../sae/fold.js';
import { matchSuite, pairId, suitePairCosts, type SuiteOptions, type SuiteResult } from './suite.js';
import { shardItems, type Shard } from './shard.js';

export interface PlanSuite {
  /** The subfolder of the output folder this suite writes into. */
  name: string;
  root: string;
  width?: string;
  site?: string;
  /** As --l0: canonical, small|medium|big, a number, or a map file. */
  l0?: string;
  /** As --layers: a-b. */
  layers?: string;
  affine?: boolean;
  revision?: string;
  metric?: MatchMetric;
  biasWeight?: number;
  fold?: boolean;
}

export interface Plan {
  tool: 'sae-match';
  plan: 1;
  suites: PlanSuite[];
}

export interface PlanRequest {
  roots: string[];
  widths?: string[];
  sites?: string[];
  l0?: string;
  layers?: string;
  affine?: boolean;
  revision?: string;
  metric?: MatchMetric;
}

/** The suites of roots × widths × sites, each checked by discovering it now (a plan that cannot run is refused here). */
export async function makePlan(req: PlanRequest): Promise<Plan> {
  const suites: PlanSuite[] = [];
  const taken = new Set<string>();
  for (const rootArg of req.roots)
    for (const width of req.widths?.length ? req.widths : [undefined])
      for (const site of req.sites?.length ? req.sites : [undefined]) {
        const root = resolve(rootArg);
        const s: PlanSuite = {
          name: '', root, ...(width ? { width } : {}), ...(site ? { site } : {}), ...(req.l0 ? { l0: req.l0 } : {}),
          ...(req.layers ? { layers: req.layers } : {}), ...(req.affine ? { affine: true } : {}),
          ...(req.revision ? { revision: req.revision } : {}), ...(req.metric ? { metric: req.metric } : {}),
        };
        const found = await discoverSuite(root, await suiteDiscovery(s));
        if (found.layers.length < 2) throw new SaeMatchInputError(`${root}${width ? ` width ${width}` : ''}${site ? ` site ${site}` : ''}: fewer than two layers to match`);
        let name = [basename(root), site, width].filter(Boolean).join('-').replace(/[^A-Za-z0-9_.-]/g, '_');
        for (let k = 2; taken.has(name); k++) name = `${[basename(root), site, width].filter(Boolean).join('-')}-${k}`;
        taken.add(name);
        suites.push({ ...s, name });
      }
  return { tool: 'sae-match', plan: 1, suites };
}

export async function writePlan(path: string, plan: Plan): Promise<void> {
  await writeJson(path, plan);
}

export async function readPlan(path: string): Promise<Plan> {
  let v: unknown;
  try {
    v = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new SaeMatchInputError(`${path}: not a readable JSON plan (${(e as Error).message})`, { cause: e });
  }
  const p = v as Plan;
  if (p?.tool !== 'sae-match' || p.plan !== 1 || !Array.isArray(p.suites))
    throw new SaeMatchInputError(`${path}: not a sae-match plan (expected {"tool": "sae-match", "plan": 1, "suites": [...]}; write one with sae-match plan)`);
  const names = new Set<string>();
  p.suites.forEach((s, i) => {
    if (typeof s?.root !== 'string' || typeof s.name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(s.name) || s.name === '.' || s.name === '..')
      throw new SaeMatchInputError(`${path}: suites[${i}] needs a root and a plain folder name`);
    if (names.has(s.name)) throw new SaeMatchInputError(`${path}: two suites are named '${s.name}'`);
    if (s.metric !== undefined && !(METRICS as readonly string[]).includes(s.metric)) throw new SaeMatchInputError(`${path}: suites[${i}].metric '${s.metric}' is not one of ${METRICS.join(', ')}`);
    names.add(s.name);
  });
  return p;
}

async function suiteDiscovery(s: PlanSuite): Promise<DiscoverOptions> {
  return {
    ...(s.width ? { width: s.width } : {}), ...(s.site ? { site: s.site } : {}), l0: s.l0 ? await parseL0(s.l0) : 'canonical',
    ...(s.layers ? parseLayerSelection(s.layers) : {}), ...(s.affine ? { affine: true } : {}), ...(s.revision ? { revision: s.revision } : {}),
  };
}

export interface PlanRunResult {
  suites: Array<{ name: string; out: string; result?: SuiteResult }>;
  assigned: number;
  total: number;
}

/**
 * Runs shard `shard` of the plan (every pair when absent) into `out`/{suite name}/. `common` holds the
 * engine options (device, method, …); a suite's own metric, bias weight and folding win over them.
 */
export async function runPlan(plan: Plan, out: string, shard: Shard | undefined, common: SuiteOptions = {}): Promise<PlanRunResult> {
  const found = await Promise.all(plan.suites.map(async (s) => ({ s, d: await suiteDiscovery(s), suite: await discoverSuite(s.root, await suiteDiscovery(s)) })));
  const items = (await Promise.all(found.map((f) => suitePairCosts(f.suite, f.s.name)))).flat();
  const mine = new Set((shard ? shardItems(items, shard) : items).map((x) => x.id));
  const result: PlanRunResult = { suites: [], assigned: mine.size, total: items.length };
  for (const { s, d } of found) {
    const dir = join(resolve(out), s.name);
    const select = (from: number, to: number) => mine.has(pairId(s.name, from, to));
    if (!items.some((x) => x.id.startsWith(`${s.name}:`) && mine.has(x.id))) {
      result.suites.push({ name: s.name, out: dir });
      continue;
    }
    const r = await matchSuite(s.root, {
      ...common, ...d, out: dir, select,
      ...(s.metric ? { metric: s.metric } : {}), ...(s.biasWeight !== undefined ? { biasWeight: s.biasWeight } : {}), ...(s.fold !== undefined ? { fold: s.fold } : {}),
    });
    result.suites.push({ name: s.name, out: dir, result: r });
  }
  return result;
}
