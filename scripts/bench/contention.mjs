#!/usr/bin/env node
// The solver under load, in one run: each family quiet, with one busy process per core but one, and
// with every core busy, `--repeat` solves each, and the single-thread solve (setThreads(1), as --threads 1) under the
// same load as the reference a parallel solver must never fall far behind. Prints the median and the
// worst per condition (the collapse this guards against was intermittent, so the worst is the figure
// that matters). The load is one busy process per busy core (scripts/bench/load.mjs: `--load pinned`,
// the default, each on its own CPU; `--load free`, placed by the scheduler). The
// conditions are interleaved, each repetition visiting all of them, so a drift of the machine over
// the run falls on every condition alike (scripts/bench/contention-solves.mjs says more).
// With --pair W, also a whole `sae-match pair` of two synthetic SAE layers of W features (d_model
// --d-model, default 2304: Gemma 2 2B) under the same conditions, --pair-repeat times each, its
// single-thread reference being `--threads 1` (every pass, the GEMM included, on one thread).
// Usage: node scripts/bench/contention.mjs [--families sae,uniform,geometric] [--n 8192] [--repeat 10] [--load pinned|free]
//        [--pair 16384 --pair-repeat 3 --d-model 2304] [--json]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, flag, opt, root } from './common.mjs';
import { allowedCpus, busyLoads, interleaved } from './load.mjs';
const families = opt('families', 'sae,uniform,geometric').split(',').filter(Boolean);
const n = Number(opt('n', 8192));
const repeat = Number(opt('repeat', 10));
const cores = allowedCpus().length;
const placement = opt('load', 'pinned');

// Both solvers (every core the process may use, and one thread: the reference) under every load,
// interleaved in one process (scripts/bench/contention-solves.mjs).
function solvesAll(family) {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'bench', 'contention-solves.mjs'), family, String(n), String(repeat), placement],
    { encoding: 'utf8', timeout: 1_800_000 });
  if (r.status !== 0) throw new Error(`contention-solves ${family}: ${(r.error?.message ?? r.stderr).slice(0, 300)}`);
  return JSON.parse(r.stdout).conditions;
}

/** Median and worst of a run's times, with the times themselves. */
function spread(secs) {
  const sorted = [...secs].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], worst: sorted.at(-1), all: secs };
}

const results = [];
for (const family of families) {
  const row = { family, n, repeat, cores, placement };
  const c = solvesAll(family);
  const two = (x) => ({ ...spread(x.two), helperSteps: x.helperSteps, stepsTakenOver: x.stepsTakenOver });
  [row.quiet, row.quietOneThread] = [two(c.quiet), spread(c.quiet.one)];
  // The same load on the single-thread solve: what the machine itself loses to a busy neighbour
  // (shared caches, memory bandwidth, clock, where the scheduler puts the thread), which no thread
  // policy can win back.
  if (c.oneCoreFree) [row.oneCoreFree, row.oneCoreFreeOneThread] = [two(c.oneCoreFree), spread(c.oneCoreFree.one)];
  [row.allBusy, row.allBusyOneThread] = [two(c.allBusy), spread(c.allBusy.one)];
  results.push(row);
  if (!flag('json')) {
    const f = (x) => `median ${x.median.toFixed(3)} s, worst ${x.worst.toFixed(3)} s`;
    console.log(`${family} n=${n} (${placement} load): quiet ${f(row.quiet)}; quiet 1 thread ${f(row.quietOneThread)}` +
      (row.oneCoreFree ? `; one core free ${f(row.oneCoreFree)} (${(row.oneCoreFree.worst / row.quiet.median).toFixed(2)}x quiet median)` : '') +
      (row.oneCoreFreeOneThread ? `; one core free 1 thread ${f(row.oneCoreFreeOneThread)} (${(row.oneCoreFreeOneThread.worst / row.quietOneThread.median).toFixed(2)}x its quiet median)` : '') +
      `; all busy ${f(row.allBusy)} (${(row.allBusy.worst / row.allBusyOneThread.median).toFixed(2)}x the 1-thread median under load); all busy 1 thread ${f(row.allBusyOneThread)}` +
      ` (its own worst ${(row.allBusyOneThread.worst / row.allBusyOneThread.median).toFixed(2)}x its median)`);
  }
}
const pairWidth = Number(opt('pair', 0));
if (pairWidth > 0) {
  const dModel = Number(opt('d-model', 2304));
  const pairRepeat = Number(opt('pair-repeat', 3));
  const work = mkdtempSync(join(tmpdir(), 'sae-match-contention-pair-'));
  try {
    const suite = join(work, 'suite');
    const s = spawnSync(process.execPath, [cli, 'synth', suite, '--layers', '2', '--width', String(pairWidth), '--d-model', String(dModel), '--l0-variants', '1', '--json'], { encoding: 'utf8' });
    if (s.status !== 0) throw new Error(s.stderr);
    const ls = JSON.parse(spawnSync(process.execPath, [cli, 'ls', suite, '--json'], { encoding: 'utf8' }).stdout);
    const [a, b] = ls.layers.map((l) => join(ls.root, l.rel));
    const pairOnce = (threads) => {
      const args = [cli, ...(threads ? ['--threads', String(threads)] : []), 'pair', a, b, '--out', join(work, 'out'), '--force', '--json'];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 1_800_000 });
      if (r.status !== 0) throw new Error(`pair: ${(r.error?.message ?? r.stderr).slice(0, 300)}`);
      return JSON.parse(r.stdout).seconds;
    };
    // Interleaved as the solves are (its own busy processes: the solves' live in their process).
    const conds = [['quiet', 0, 0], ['quietOneThread', 0, 1], ...(cores > 1 ? [['oneCoreFree', cores - 1, 0]] : []),
      ['allBusy', cores, 0], ['allBusyOneThread', cores, 1]];
    const secs = Object.fromEntries(conds.map(([name]) => [name, []]));
    const loads = busyLoads(cores, placement);
    try {
      await interleaved(loads, conds, pairRepeat, 100, ([name, , threads]) => secs[name].push(pairOnce(threads)));
    } finally {
      loads.stopAll();
    }
    const row = { pair: pairWidth, dModel, repeat: pairRepeat, cores, placement };
    for (const [name] of conds) row[name] = spread(secs[name]);
    results.push(row);
    if (!flag('json')) {
      const f = (x) => `median ${x.median.toFixed(2)} s, worst ${x.worst.toFixed(2)} s`;
      console.log(`pair ${pairWidth} (d_model ${dModel}, ${placement} load): quiet ${f(row.quiet)}; quiet --threads 1 ${f(row.quietOneThread)}` +
        (row.oneCoreFree ? `; one core free ${f(row.oneCoreFree)} (${(row.oneCoreFree.worst / row.quiet.median).toFixed(2)}x quiet median)` : '') +
        `; all busy ${f(row.allBusy)} (${(row.allBusy.worst / row.allBusyOneThread.median).toFixed(2)}x the 1-thread median under load); all busy --threads 1 ${f(row.allBusyOneThread)}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
if (flag('json')) console.log(JSON.stringify({ date: new Date().toISOString(), results }));
