// Phase 4's two threads on a machine that does not give them two free CPUs. The solver never waits for
// its helper to be scheduled (native/core/lap/relax_team.hpp: it takes over the upper half of every
// step the helper has not claimed), and the thread count follows the CPUs the process may use
// (native/core/threads.hpp). Before, both cases spun for minutes. Checked by counters and the answer,
// never by times (the 50 s limit only turns a hang into a failure).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parallelCounters, setThreads } from '../src/binding/addon.js';
import { writeNpy } from '../src/io/npy.js';
import { checkCertificate, solveAssignment } from '../src/solve/lap.js';
import { testInstance } from './instances.js';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'sae-match-contention-'));
const file = join(dir, 'uniform-4096.npy');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Solve = { totalCost: number; certificate: { ok: boolean }; stats: Record<string, number> };

function run(prefix: string[], ...args: string[]) {
  const [cmd, ...rest] = prefix.length ? prefix : [process.execPath];
  const r = spawnSync(cmd!, [...rest, ...(prefix.length ? [process.execPath] : []), cli, ...args], { encoding: 'utf8', timeout: 50_000 });
  expect(r.error, `${cmd} must exist and the command must finish`).toBeUndefined();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}
const solve = (prefix: string[], threads: 1 | 2): Solve => run(prefix, 'solve', file, '--json', '--engine', `lapThreads=${threads}`);

let single: Solve;
beforeAll(async () => {
  const inst = testInstance('uniform', 4096, { seed: 77 });
  await writeNpy(file, { dtype: 'float32', shape: [4096, 4096], data: inst.data as Float32Array });
  single = solve([], 1);
});

describe('phase 4 when the CPUs are not free', () => {
  it('taskset -c 0: one thread is what the process was given, info says why, and the solve is the single-thread one', () => {
    const info = run(['taskset', '-c', '0'], 'info', '--json');
    expect(info.threads).toBe(1);
    expect(info.threadsReason).toMatch(/sched_getaffinity 1 CPU/);
    const pinned = solve(['taskset', '-c', '0'], 2);
    expect(pinned.certificate.ok).toBe(true);
    expect(pinned.totalCost).toBe(single.totalCost);
    expect(pinned.stats.helperSteps! + pinned.stats.stepsTakenOver!).toBe(0);
  }, 120_000);

  it('every core busy with other processes: same optimum, every relaxation split between the helper and the solver taking over', () => {
    const busy: ChildProcess[] = cpus().map(() => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
    try {
      const loaded = solve([], 2);
      expect(loaded.certificate.ok).toBe(true);
      expect(loaded.totalCost).toBe(single.totalCost);
      const s = loaded.stats;
      const hasTeam = (run([], 'info', '--json').threads as number) >= 2;
      expect(s.helperSteps! + s.stepsTakenOver!).toBe(hasTeam ? s.augmentations! + s.dijkstraSteps! : 0);
    } finally {
      for (const b of busy) b.kill('SIGKILL');
    }
  }, 120_000);
});

describe('the fork-join passes when their workers do not get a CPU', () => {
  it('a pass whose workers start late is finished by the caller alone, with the same result', async () => {
    const n = 2048; // 32 blocks of 64 rows: 4 threads x 4 parts each (native/core/parallel.hpp)
    const inst = testInstance('uniform', n, { seed: 5 });
    const cost = { data: inst.data as Float32Array, nRows: n, nCols: n };
    const sol = await solveAssignment(cost);
    setThreads(4); // whatever this machine has
    try {
      const quiet = await checkCertificate(cost, sol);
      // Every worker now sleeps 30 s before it claims a part, as a thread that is never scheduled.
      const before = parallelCounters(30_000_000);
      const late = await checkCertificate(cost, sol);
      const after = parallelCounters(0);
      expect({ ...late, seconds: 0 }).toEqual({ ...quiet, seconds: 0 });
      expect(late.ok).toBe(true);
      expect(after.passes - before.passes).toBe(1);
      expect(after.partsByCaller - before.partsByCaller).toBe(16);
      expect(after.partsByWorkers - before.partsByWorkers).toBe(0);
    } finally {
      parallelCounters(0);
      setThreads(0);
    }
  });

  it('--threads N is what the passes use, and --threads 1 keeps phase 4 on one thread', () => {
    const info = run([], '--threads', '3', 'info', '--json');
    expect(info.threads).toBe(3);
    expect(info.threadsReason).toMatch(/chosen: 3 \(--threads\)/);
    const one = run([], 'solve', file, '--json', '--threads', '1');
    expect(one.certificate.ok).toBe(true);
    expect(one.totalCost).toBe(single.totalCost);
    expect(one.stats.helperSteps + one.stats.stepsTakenOver).toBe(0);
    const r = spawnSync(process.execPath, [cli, 'info', '--threads', '0'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--threads must be a positive integer/);
  }, 60_000);
});
