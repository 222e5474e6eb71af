#!/usr/bin/env node
// One load condition of scripts/bench/contention.mjs: the family's instance (the `bench` default seed)
// solved `repeat` times with phase 4 on two threads and `repeat` times on one, alternating in one
// process, so both see the same load, the same placement of threads on cores and the same drift of
// the machine (run one after the other, a drift of a few seconds had made one look 1.2x the other).
// Prints {two: [s...], one: [s...], helperSteps, stepsTakenOver} as JSON.
// Usage: node scripts/bench/contention-solves.mjs FAMILY N REPEAT
import { join } from 'node:path';
import { root } from './common.mjs';

const [family, n, repeat] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const { makeInstance } = await import(join(root, 'dist', 'tools', 'instances.js'));
const { solveAssignment } = await import(join(root, 'dist', 'index.js'));
const inst = await makeInstance(family, n);
await solveAssignment(inst);  // warm: the matrix's pages and the addon's first call
const two = [], one = [];
let helperSteps = 0, stepsTakenOver = 0;
for (let r = 0; r < repeat; r++) {
  const s2 = await solveAssignment(inst, { engine: { lapThreads: 2 } });
  two.push(s2.seconds);
  helperSteps += s2.stats.helperSteps;
  stepsTakenOver += s2.stats.stepsTakenOver;
  one.push((await solveAssignment(inst, { engine: { lapThreads: 1 } })).seconds);
}
console.log(JSON.stringify({ two, one, helperSteps, stepsTakenOver }));
