// Argument parsers shared by the CLI's command files (commander argParser callbacks).
import { InvalidArgumentError } from 'commander';

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
