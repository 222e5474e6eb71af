#!/usr/bin/env node
// One load condition of scripts/bench/contention.mjs: the family's instance (the `bench` default seed)
// solved `repeat` times as `solveAssignment` runs by default (every core the process may use) and
// `repeat` times on one thread (setThreads(1), as `--threads 1`: the initialisation's passes and phase
// 4 alike), alternating in one process, so both see the same load, the same placement of threads on
// cores and the same drift of the machine (run one after the other, a drift of a few seconds had
// made one look 1.2x the other).
// Prints {two: [s...], one: [s...], helperSteps, stepsTakenOver} as JSON.
// Usage: node scripts/bench/contention-solves.mjs FAMILY N REPEAT
import { join } from 'node:path';
import { root } from './common.mjs';

const [family, n, repeat] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const { makeInstance } = await import(join(root, 'dist', 'tools', 'instances.js'));
const { solveAssignment, setThreads } = await import(join(root, 'dist', 'index.js'));
const inst = await makeInstance(family, n);
await solveAssignment(inst);  // warm: the matrix's pages and the addon's first call
const two = [], one = [];
let helperSteps = 0, stepsTakenOver = 0;
for (let r = 0; r < repeat; r++) {
  setThreads(0);
  const s2 = await solveAssignment(inst);
  two.push(s2.seconds);
  helperSteps += s2.stats.helperSteps;
  stepsTakenOver += s2.stats.stepsTakenOver;
  setThreads(1);
  one.push((await solveAssignment(inst)).seconds);
}
console.log(JSON.stringify({ two, one, helperSteps, stepsTakenOver }));
