// The CLI's `eval` command: reconstruction scores of a suite's matches on activations (src/analysis/eval.ts),
// printed as one row per pair, or the eval.json object with --json.
import { Command } from 'commander';
import { engineOption } from './args.js';
import { interrupt } from './signals.js';
import { progressBar } from '../progress.js';
import type { EngineOptions } from '../solve/engine.js';
// Command implementations are imported when the command runs, so a `solve` does not load the suite
// matcher, the evaluator and the report (startup time, BENCHMARKS.md).

const f = (x: number | null) => (x === null || !Number.isFinite(x) ? '   —  ' : x.toFixed(4));

async function evalCommand(out: string, o: { acts: string; json?: boolean; engine?: EngineOptions }) {
  const bar = o.json ? { update: () => undefined, end: () => undefined } : progressBar(process.stderr, 'eval ');
  const { evaluateSuite } = await import('../analysis/eval.js');
  const r = await evaluateSuite(out, o.acts, { engine: o.engine, signal: interrupt, onProgress: (done, total, what) => bar.update({ done, total, what }) });
  bar.end();
  if (o.json) return console.log(JSON.stringify(r));
  console.log(`${out}: ${r.pairs.length} pairs on ${r.rows} rows of ${r.acts}`);
  console.log('explained variance of layer t+1   sae_match  (folded / raw units)     own  no_perm   reuse  hyb0.9  match_score  seconds');
  for (const p of r.pairs) {
    const h = p.hybrid.find((x) => x.q === 0.9)?.ev ?? null;
    const units = `(${f(p.ev.sae_match_folded ?? null)} / ${f(p.ev.sae_match_raw ?? null)})`;
    console.log(`  ${`${p.from} → ${p.to}`.padEnd(31)}${f(p.ev.sae_match).padStart(10)}  ${units.padEnd(21)}${f(p.ev.own).padStart(8)}${f(p.ev.no_permutation).padStart(9)}` +
      `${f(p.ev.reuse_previous).padStart(8)}${f(h).padStart(8)}${f(p.matching_score).padStart(13)}${p.seconds.toFixed(2).padStart(9)}`);
  }
  console.log(`results: ${out}/eval.json`);
}

export function registerEvalCommands(program: Command): void {
  program.command('eval')
    .description('explained variance of layer t+1 from layer t\'s codes through the matches (paper §4.2), with baselines')
    .argument('<out>', 'output folder of `sae-match suite`')
    .requiredOption('--acts <dir>', 'folder of layer_{L}.npy activations [N, d_model] (float32, float16, or uint16 bfloat16 bits)')
    .addOption(engineOption())
    .option('--json', 'print eval.json on stdout')
    .action(evalCommand);
}
