// The CLI's `report` command: one self-contained HTML page (src/analysis/report.ts) for a suite output folder.
import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import { engineOption, intAtLeast, ruleOptions, unmatchedRule } from './args.js';
import { progressBar } from '../progress.js';
import { SaeMatchInputError } from '../errors.js';
// Command implementations are imported when the command runs, so a `solve` does not load the suite
// matcher, the evaluator and the report (startup time, BENCHMARKS.md).

const positiveInt = intAtLeast(1);

async function reportCommand(out: string, o: Record<string, any>) {
  const t0 = performance.now();
  const { evaluateSuite, evaluationIsCurrent } = await import('../analysis/eval.js');
  const { writeReport } = await import('../analysis/report.js');
  const file = resolve(o.out ?? o.output ?? join(out, 'report.html'));
  const { isDir } = await import('../io/read.js');
  if (await isDir(file))
    throw new SaeMatchInputError(`${file}: is a folder; --out takes the HTML file to write (e.g. ${join(file, 'report.html')})`);
  // --acts: score the matches first, unless eval.json already covers them on these activations.
  let evaluated = false;
  if (o.acts && !(await evaluationIsCurrent(out, o.acts))) {
    const bar = o.json ? { update: () => undefined, end: () => undefined } : progressBar(process.stderr, 'eval ');
    await evaluateSuite(out, o.acts, { engine: o.engine, onProgress: (done, total, what) => bar.update({ done, total, what }) });
    bar.end();
    evaluated = true;
  }
  const bytes = await writeReport(out, file, { rule: unmatchedRule(o), features: o.features });
  const seconds = (performance.now() - t0) / 1000;
  if (o.json) return console.log(JSON.stringify({ file, bytes, seconds, evaluated }));
  console.log(`${file}: ${(bytes / 2 ** 20).toFixed(2)} MiB, written in ${seconds.toFixed(2)} s (open it in a browser; it needs no network)`);
}

export function registerReportCommands(program: Command): void {
  ruleOptions(program.command('report')
    .description('one self-contained HTML page of plots for a suite output folder (costs, matched fractions, lifetimes, EV, feature flow)')
    .argument('<out>', 'output folder of `sae-match suite` (eval.json from `sae-match eval` is plotted when present)')
    .option('-o, --out <file>', 'HTML file to write (default OUT/report.html)')
    .addOption(new Option('--output <file>', 'the old name of --out').hideHelp())
    .option('--acts <dir>', 'activations (as for `sae-match eval`): run the evaluation first unless eval.json already covers the current matches on them'))
    .addOption(new Option('--features <n>', 'features of the first layer traced in the flow view').argParser(positiveInt).default(20))
    .addOption(engineOption())
    .option('--json', 'print {file, bytes, seconds, evaluated} as JSON')
    .action(reportCommand);
}
