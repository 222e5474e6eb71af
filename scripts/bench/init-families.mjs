#!/usr/bin/env node
// JV's phases 1-3 three ways on the `bench` families (default seeds), alternating in one process:
// init 'jv' (sequential, solveAssignment's default), 'auto' (the data-parallel rounds within the
// sequential phase's scan budget: the CPU backend's) and 'parallel' with 2048 rounds (no budget: the
// GPU's reference). Median of --reps each; every total is checked against JV's.
// Usage: node scripts/bench/init-families.mjs [--n 8192] [--families sae,uniform,int,geometric] [--reps 3]
import { join } from 'node:path';
import { opt, root } from './common.mjs';

const n = Number(opt('n', '8192'));
const reps = Number(opt('reps', '3'));
const { makeInstance } = await import(join(root, 'dist', 'tools', 'instances.js'));
const { solveAssignment } = await import(join(root, 'dist', 'index.js'));
for (const family of opt('families', 'sae,uniform,int,geometric').split(',')) {
  const inst = await makeInstance(family, n);
  await solveAssignment(inst, { init: 'jv' });  // warm: the matrix's pages and the addon's first call
  const t = { jv: [], auto: [], parallel: [] };
  let stats;
  for (let r = 0; r < reps; r++) {
    const jv = await solveAssignment(inst, { init: 'jv' });
    const auto = await solveAssignment(inst, { init: 'auto' });
    const par = await solveAssignment(inst, { init: 'parallel', parallelRounds: 2048 });
    for (const x of [auto, par])
      if (Math.abs(x.totalCost - jv.totalCost) > 1e-9 * Math.max(1, Math.abs(jv.totalCost)) * n) throw new Error(`${family}: totals differ`);
    t.jv.push(jv.seconds), t.auto.push(auto.seconds), t.parallel.push(par.seconds);
    stats = auto.stats;
  }
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)].toFixed(3);
  console.log(`${family} ${n}: jv ${med(t.jv)} s, auto ${med(t.auto)} s, parallel ${med(t.parallel)} s; auto: ${stats.parallelRounds} rounds, ${stats.arrRowScans} scans, ${stats.freeAfterArr} rows left to phase 4`);
}
