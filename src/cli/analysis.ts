// The CLI's analysis commands over a suite's output folder: analyze (unmatched counts per pair and
// lifetimes), trace (one feature's path through the layers), compose (a long-range permutation).
import type { Command } from 'commander';
import { intAtLeast, ruleOptions, unmatchedRule } from './args.js';
import { resolve } from 'node:path';
// Command implementations are imported when the command runs, so a `solve` does not load the suite
// matcher, the evaluator and the report (startup time, BENCHMARKS.md).

const int = intAtLeast(0);
const rule = unmatchedRule;
const fmt = (x: number) => (Number.isFinite(x) ? x.toPrecision(5) : String(x));

async function analyzeCommand(out: string, o: Record<string, any>) {
  const { readSuiteOutput } = await import('../match/folder.js');
  const { lifetimes, pairSummaries, recordAnalysis } = await import('../analysis/analyze.js');
  const s = await readSuiteOutput(out);
  const pairs = pairSummaries(s, rule(o));
  const life = lifetimes(s, rule(o));
  if (o.write) await recordAnalysis(s, rule(o));
  if (o.json) {
    const histograms = life.histograms;
    return console.log(JSON.stringify({ out: s.out, rule: rule(o), pairs, lifetimes: { histograms, middle: life.middle } }));
  }
  console.log(`${s.out}: ${pairs.length} pairs, metric ${s.manifest.metric}`);
  for (const p of pairs)
    console.log(`  ${p.from} → ${p.to}: ${p.matched}/${p.n_from} matched, ${p.unmatched} unmatched (${p.unassigned} unassigned)${Number.isFinite(p.threshold) ? `, cost threshold ${fmt(p.threshold)}` : ''}`);
  console.log('lifetime (layers a feature persists going forward), mean per starting layer:');
  console.log('  ' + life.histograms.map((h) => `${h.layer}: ${h.mean.toFixed(2)}`).join('  '));
  if (life.middle) console.log(`middle layers ${life.middle.layers[0]}–${life.middle.layers.at(-1)}: mean lifetime ${life.middle.meanLifetime.toFixed(2)}, median ${life.middle.medianLifetime} layers`);
}

async function traceCommand(out: string, o: Record<string, any>) {
  const { readSuiteOutput } = await import('../match/folder.js');
  const { traceFeature } = await import('../analysis/analyze.js');
  const steps = traceFeature(await readSuiteOutput(out), o.layer, o.feature, rule(o));
  if (o.json) return console.log(JSON.stringify(steps));
  for (const s of steps)
    console.log(`layer ${String(s.layer).padStart(3)}  feature ${String(s.feature).padStart(7)}` +
      (s.cost === null ? (s.matched ? '' : '  (end of the suite)') : `  cost to next ${fmt(s.cost)}${s.matched ? '' : '  UNMATCHED: the trajectory ends here'}`));
}

async function composeCommand(out: string, o: Record<string, any>) {
  const { readSuiteOutput } = await import('../match/folder.js');
  const { composeMatches } = await import('../analysis/analyze.js');
  const { writeNpy } = await import('../io/npy.js');
  const perm = composeMatches(await readSuiteOutput(out), o.from, o.to, rule(o));
  await writeNpy(resolve(o.out), { dtype: 'int32', shape: [perm.length], data: perm });
  const kept = perm.reduce((a, j) => a + (j >= 0 ? 1 : 0), 0);
  if (o.json) return console.log(JSON.stringify({ out: resolve(o.out), from: o.from, to: o.to, n: perm.length, reached: kept, unmatched: perm.length - kept }));
  console.log(`${o.out}: int32 [${perm.length}], feature i of layer ${o.from} -> perm[i] of layer ${o.to}; ${kept} reach layer ${o.to}, ${perm.length - kept} are -1 (unmatched on the way)`);
}

export function registerAnalysisCommands(program: Command): void {
  ruleOptions(program.command('analyze')
    .description('unmatched features per pair and feature lifetimes of a suite output folder')
    .argument('<out>', 'output folder of `sae-match suite`'))
    .option('--no-write', 'do not record the counts in manifest.json (key "analysis")')
    .option('--json', 'print JSON')
    .action(analyzeCommand);
  ruleOptions(program.command('trace')
    .description("a feature's path through the layers, with each step's match cost")
    .argument('<out>', 'output folder of `sae-match suite`')
    .requiredOption('--layer <L>', 'layer', int)
    .requiredOption('--feature <F>', 'feature index', int))
    .option('--json', 'print JSON')
    .action(traceCommand);
  ruleOptions(program.command('compose')
    .description('long-range matches P(A→C) = P(B→C)∘P(A→B), -1 where a step is unmatched')
    .argument('<out>', 'output folder of `sae-match suite`')
    .requiredOption('--from <A>', 'first layer', int)
    .requiredOption('--to <C>', 'last layer', int)
    .requiredOption('--out <file.npy>', 'int32 [n] result'))
    .option('--json', 'print {out, from, to, n, reached, unmatched} as JSON')
    .action(composeCommand);
}
