// Argument parsers shared by the CLI's command files (commander argParser callbacks).
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { UnmatchedRule } from '../analysis/analyze.js';
import { parseEngineOptions } from '../solve/engine.js';

/** An integer >= min. */
export const intAtLeast = (min: number) => (v: string): number => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return x;
};

export const finiteNumber = (v: string): number => {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new InvalidArgumentError('expected a number');
  return x;
};

export const nonNegative = (v: string): number => {
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) throw new InvalidArgumentError('expected a number >= 0');
  return x;
};

/** --quantile and --max-cost, the unmatched rule of analyze, trace, compose and report (both may be given). */
export const ruleOptions = (c: Command): Command =>
  c.addOption(new Option('--quantile <q>', "a match above the pair's q-quantile of costs is unmatched (paper App. B)").argParser(finiteNumber))
    .addOption(new Option('--max-cost <c>', 'a match above this cost is unmatched').argParser(finiteNumber));

export const unmatchedRule = (o: { quantile?: number; maxCost?: number }): UnmatchedRule => ({ quantile: o.quantile, maxCost: o.maxCost });

/** --engine key=value,...: how the native engine computes (src/solve/engine.ts), never what it finds. */
export const engineOption = (): Option =>
  new Option('--engine <k=v,...>', 'engine options, e.g. lapThreads=1,costPanelRows=1024 (README: Engine options)').argParser(parseEngineOptions);
