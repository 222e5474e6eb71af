#!/usr/bin/env node
// The load conditions of scripts/bench/contention.mjs, interleaved in one process: the family's
// instance (the `bench` default seed) solved as `solveAssignment` runs by default (every core the
// process may use) and on one thread (setThreads(1), as `--threads 1`: the initialisation's passes and
// phase 4 alike), quiet, with one busy process per core but one, and with every core busy. Each
// repetition visits every condition once (in a rotated order), and within a condition the two
// solvers alternate which goes first. So every figure of a condition is paired with the others taken
// within the same second or two: a drift of the machine over the minute a run takes (this VM's host
// moved a quiet single-thread solve by 1.25x between two runs minutes apart) falls on all conditions
// alike instead of on whichever condition ran during it.
// The busy processes are scripts/bench/load.mjs's ('pinned' one per CPU by default, or 'free'), started
// SETTLE_MS before the first solve of a condition so the scheduler has placed them. The cores are the
// CPUs this process may use (its affinity set), so under `taskset -c 0` every core busy is one busy
// process on CPU 0.
// Prints {conditions: {quiet|oneCoreFree|allBusy: {two: [s...], one: [s...], helperSteps,
// stepsTakenOver}}} as JSON.
// Usage: node scripts/bench/contention-solves.mjs FAMILY N REPEAT [pinned|free]
import { join } from 'node:path';
import { root } from './common.mjs';
import { allowedCpus, busyLoads, interleaved } from './load.mjs';

const SETTLE_MS = 100;
const [family, n, repeat, placement = 'pinned'] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
const { makeInstance } = await import(join(root, 'dist', 'tools', 'instances.js'));
const { solveAssignment, setThreads } = await import(join(root, 'dist', 'index.js'));
const cores = allowedCpus().length;
const inst = await makeInstance(family, n);
await solveAssignment(inst);  // warm: the matrix's pages and the addon's first call

const loads = busyLoads(cores, placement);
const conditions = [['quiet', 0], ...(cores > 1 ? [['oneCoreFree', cores - 1]] : []), ['allBusy', cores]];
const out = Object.fromEntries(conditions.map(([name]) => [name, { two: [], one: [], helperSteps: 0, stepsTakenOver: 0 }]));
try {
  await interleaved(loads, conditions, repeat, SETTLE_MS, async ([name], r) => {
    const o = out[name];
    for (const threads of r % 2 ? [1, 0] : [0, 1]) {
      setThreads(threads);
      const s = await solveAssignment(inst);
      if (threads === 1) o.one.push(s.seconds);
      else {
        o.two.push(s.seconds);
        o.helperSteps += s.stats.helperSteps;
        o.stepsTakenOver += s.stats.stepsTakenOver;
      }
    }
  });
} finally {
  loads.stopAll();
}
console.log(JSON.stringify({ cores, placement, conditions: out }));
