// The competing load of the contention benchmarks: one busy process (`sh -c 'while :; do :; done'`,
// normal priority) per core, started once, stopped with SIGSTOP while a condition does not need it and
// resumed with SIGCONT.
// Placement 'pinned' (the default) binds busy process i to its own CPU, the last CPU of this
// process's affinity set first, so "one core free" leaves the first CPU free and "every core busy"
// puts one busy process on every CPU: what other jobs in their own cpusets (Slurm, cgroups) do to a
// node. 'free' leaves them to the scheduler, as a browser's threads are on a laptop: then on 2 CPUs
// the scheduler puts the solver's one thread either beside a busy process (half a core) or alone with
// both busy processes on the other CPU (a whole core), and keeps that placement for stretches, so a
// solve's time under 'free' load varies 1.2-1.6x for any solver, one thread included
// (BENCHMARKS.md, "The contention benchmark, conditions interleaved").
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The CPUs this process may run on (Cpus_allowed_list), e.g. [0, 1]. */
export function allowedCpus() {
  const m = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  const cpus = [];
  for (const part of (m?.[1] ?? '0').split(',')) {
    const [a, b = a] = part.split('-').map(Number);
    for (let c = a; c <= b; c++) cpus.push(c);
  }
  return cpus;
}

/**
 * `count` busy processes, all stopped. load(k) runs the first k and stops the rest; stopAll() kills
 * them (also on exit).
 */
export function busyLoads(count, placement = 'pinned') {
  if (placement !== 'pinned' && placement !== 'free') throw new Error(`--load: 'pinned' or 'free', not '${placement}'`);
  if (placement === 'pinned' && spawnSync('taskset', ['--version']).status !== 0) throw new Error('--load pinned needs taskset (util-linux); use --load free');
  const cpus = allowedCpus();
  const loop = ['sh', '-c', 'while :; do :; done'];
  const procs = Array.from({ length: count }, (_, i) => {
    const argv = placement === 'pinned' ? ['taskset', '-c', String(cpus[cpus.length - 1 - (i % cpus.length)]), ...loop] : loop;
    const p = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
    p.kill('SIGSTOP');
    return p;
  });
  const stopAll = () => procs.forEach((p) => p.kill('SIGKILL'));
  process.on('exit', stopAll);
  return { load: (k) => procs.forEach((p, i) => p.kill(i < k ? 'SIGCONT' : 'SIGSTOP')), stopAll };
}

/**
 * Runs `run(condition, r)` for every condition in every repetition r, each repetition visiting the
 * conditions in an order rotated by r, under condition[1] busy processes of `loads`, started
 * settleMs before the run so the scheduler has placed them, and stopped after it. So a drift of the
 * machine over the minutes a benchmark takes falls on all conditions alike.
 */
export async function interleaved(loads, conditions, repeat, settleMs, run) {
  loads.load(0);
  for (let r = 0; r < repeat; r++) {
    for (let c = 0; c < conditions.length; c++) {
      const condition = conditions[(r + c) % conditions.length];
      loads.load(condition[1]);
      await sleep(settleMs);
      await run(condition, r);
      loads.load(0);
    }
  }
}
